"""The probe's secret scan (the `secrets` record of probe.sh's one walk) turned into
CredentialFile facts.

The scan's lines are escaped printable ASCII, tab-separated:
- `path line kind prefix`: one secret, with only its first four characters;
- `M path N`: a file with a hit is the Nth of its batch; after the batch's hits, `S N metadata`
  gives that file's "size mode uid gid mtime dev ino";
- `limit N` (the scan stopped after N files) or `rc STATUS` (find's exit status at its end).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from wizard.facts import CredentialFile, FileInfo, SearchNote, SecretHit
from wizard.probe_records import lines, unescape

# A file's kind by its path, first match wins (paths relative to the target's root).
_CREDENTIAL_KINDS = (
    (re.compile(r"(^|/)pk-[^/]*\.pem$"), "x509-private-key"),
    (re.compile(r"(^|/)cert-[^/]*\.pem$"), "x509-certificate"),
    (re.compile(r"/\.aws/credentials$"), "aws-credentials"),
    (re.compile(r"/\.aws/config$"), "aws-config"),
    (re.compile(r"(^|/)id_[^/]*$"), "ssh-private-key"),
    (re.compile(r"/\.docker/config\.json$"), "docker-auth"),
    (re.compile(r"(^|/)\.(netrc|git-credentials|pgpass|s3cfg|boto)$"), "password-file"),
    (re.compile(r"(^|/)\.my\.cnf$"), "mysql-config"),
    (re.compile(r"(^|/)\.npmrc$"), "npm-config"),
    (re.compile(r"(^|/)\.pypirc$"), "pypi-config"),
    (re.compile(r"/\.kube/config$"), "kube-config"),
    (re.compile(r"\.keytab$"), "kerberos-keytab"),
    (re.compile(r"/ipa/nssdb/(key\d\.db|pwdfile\.txt)$"), "ipa-host-key"),
    (re.compile(r"^/etc/NetworkManager/system-connections/"), "network-profile"),
    (re.compile(r"\.(ppk|p12|pfx|key)$"), "private-key-file"),
    (re.compile(r"^/etc/environment$"), "system-environment"),
    (re.compile(r"^/etc/systemd/system/"), "systemd-unit"),
    (re.compile(r"^/var/lib/cloud/.*/user-data[^/]*$"), "cloud-init-user-data"),
)
# Files listed by name alone that are not credentials unless a secret is found inside.
NEEDS_HIT = frozenset({"aws-config", "private-key-file"})
# Hits that alone do not make a file a credential (a certificate is public).
_HARMLESS = frozenset({"certificate"})
# The searches of the probe's one walk of the homes (a limit there makes all of them partial).
WALK_SEARCHES = ("history", "credential", "secrets")
# The host's own SSH keys are the ssh-host-keys guideline's business, not a leaked credential.
_HOST_KEY = re.compile(r"^/etc/ssh/ssh_host_[^/]*_key$")


def credential_kind(path: str) -> str:
    for pattern, kind in _CREDENTIAL_KINDS:
        if pattern.search(path):
            return kind
    return "secret-in-file"


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


@dataclass
class Scan:
    """What the scan said: hits by raw path, each hit file's metadata, how it ended."""

    hits: list[SecretHit] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    notes: list[SearchNote] = field(default_factory=list)


def read_scan(text: str, timeout: str) -> Scan:
    scan = Scan()
    ended = False
    batch: dict[str, str] = {}  # index in the current batch -> path
    for line in lines(text):
        parts = line.split("\t")
        if len(parts) == 4:
            scan.hits.append(
                SecretHit(unescape(parts[0]), _int(parts[1]), parts[2], unescape(parts[3])[:4])
            )
        elif len(parts) == 3 and parts[0] == "M":
            batch[parts[2]] = unescape(parts[1])
        elif len(parts) == 3 and parts[0] == "S" and parts[1] in batch:
            scan.meta[batch[parts[1]]] = parts[2]
        elif len(parts) == 2 and parts[0] == "limit":
            # The walk read no further: what it lists may be partial as well.
            reason = f"stopped after {parts[1]} files (probe.max_files)"
            scan.notes += [SearchNote(s, reason) for s in WALK_SEARCHES]
            ended = True
        elif len(parts) == 2 and parts[0] == "rc":
            ended = True
            if parts[1] == "124":
                scan.notes.append(
                    SearchNote("secrets", f"stopped after {timeout} s (probe.timeout)")
                )
    if not ended:
        scan.notes.append(SearchNote("secrets", "was cut short (its output ended early)"))
    return scan


def credentials(
    scan: Scan | None,
    named: Iterable[FileInfo],
    info: Callable[[str, str], FileInfo],
    rel: Callable[[str], str],
) -> tuple[CredentialFile, ...]:
    """Credential files: those listed by name (`named`), and every file with a secret in it.
    `info(meta, raw_path)` makes a FileInfo, `rel(raw_path)` the path inside the target."""
    hits: dict[str, list[SecretHit]] = {}
    metas: dict[str, FileInfo] = {}
    if scan is not None:
        for raw, meta in scan.meta.items():
            metas[rel(raw)] = info(meta, raw)
        for hit in scan.hits:
            path = rel(hit.path)
            found = hits.setdefault(path, [])
            one = SecretHit(path, hit.line, hit.kind, hit.prefix)
            if one not in found:  # nested starting points may read a file twice
                found.append(one)
    creds: dict[str, CredentialFile] = {}
    for file in named:
        kind = credential_kind(file.path)
        found = hits.get(file.path, [])
        if kind in NEEDS_HIT and all(h.kind in _HARMLESS for h in found):
            continue
        if kind == "ssh-private-key" and file.path.endswith(".pub"):
            continue
        creds[file.path] = CredentialFile(file, kind, tuple(found))
    for path, path_hits in hits.items():
        if path in creds or path.endswith(".pub") or _HOST_KEY.match(path):
            continue
        if all(h.kind in _HARMLESS for h in path_hits):
            continue
        kind = credential_kind(path)
        if kind == "secret-in-file" and any(h.kind == "private-key" for h in path_hits):
            kind = "private-key"
        creds[path] = CredentialFile(metas.get(path, FileInfo(path=path)), kind, tuple(path_hits))
    return tuple(creds[k] for k in sorted(creds))
