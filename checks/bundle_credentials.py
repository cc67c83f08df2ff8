"""bundle-credentials: no credential may be baked into the image.

AWS keys, X.509 pk-/cert- files, private keys and tokens are reported with at most their
first four characters, never more. The probe finds them by file name and by content (see the
`histories and credentials` walk in wizard/probe.sh). A secret inside a system file (under
/etc, /usr, /boot or cloud-init's /var/lib/cloud: /etc/environment, a unit, user-data) is never
deleted nor moved — the system needs the file — and is left for a manual edit, said per file.
"""

from __future__ import annotations

import posixpath

from checks._plans import option
from checks.base import Unchanged, catalog, unless_complete
from checks.registry import CheckMeta
from wizard.actions import Action, DeleteFile, MoveFile, Phase, PlanContext, PlanRefused
from wizard.facts import CredentialFile, Facts
from wizard.model import Evidence, Finding, Status
from wizard.secrets import mask

ID = "bundle-credentials"
META = CheckMeta(
    id=ID,
    order=90,
    phase="final",
    final_order=3,
    needs=("credentials", "incomplete", "live"),
    actions=(DeleteFile, MoveFile),
    launch_trace=True,
)

FILE_KINDS = {
    "aws-credentials": "AWS credentials file",
    "aws-config": "AWS CLI config file",
    "x509-private-key": "X.509 private key (pk-*.pem)",
    "x509-certificate": "X.509 certificate (cert-*.pem)",
    "ssh-private-key": "SSH private key",
    "private-key": "private key",
    "private-key-file": "private key file",
    "docker-auth": "Docker registry login (config.json)",
    "password-file": "password file",
    "mysql-config": "MySQL client config (.my.cnf)",
    "npm-config": "npm config (.npmrc)",
    "pypi-config": "PyPI config (.pypirc)",
    "kube-config": "Kubernetes config",
    "system-environment": "system environment (/etc/environment)",
    "systemd-unit": "systemd unit",
    "cloud-init-user-data": "cloud-init user-data",
    "secret-in-file": "file with a secret in it",
    "kerberos-keytab": "Kerberos keytab (the host's keys)",
    "ipa-host-key": "FreeIPA host key database",
    "network-profile": "NetworkManager connection profile",
}
HIT_KINDS = {
    "aws-access-key-id": "AWS access key id",
    "aws-secret-access-key": "AWS secret access key",
    "aws-session-token": "AWS session token",
    "private-key": "private key block",
    "certificate": "certificate block",
    "github-token": "GitHub token",
    "gitlab-token": "GitLab token",
    "slack-token": "Slack token",
    "url-password": "password in a URL",
    "kube-client-key": "Kubernetes client key",
    "npm-token": "npm token",
    "docker-auth": "Docker registry login",
    "netrc-password": "netrc password",
    "pgpass-password": "PostgreSQL password",
    "environment-file": "EnvironmentFile= that names a secret file",
    "unit-environment": "Environment= secret",
    "cloud-init-password": "cloud-init password",
    "secret-value": "password or secret value",
    "token": "token",
    "network-secret": "network secret (Wi-Fi key, VPN or 802.1X password)",
}
# Where a file belongs to the system: its secret is edited out by hand, the file stays.
_SYSTEM_DIRS = ("/etc/", "/usr/", "/boot/", "/var/lib/cloud/")
# Files that are a secret of this one host, not settings with a secret in them: shredded
# wherever they are (/etc/krb5.keytab too). Every launch of the image would be that host.
HOST_SECRETS = frozenset({"kerberos-keytab", "ipa-host-key"})


def is_system_file(path: str, kind: str = "") -> bool:
    """A file the system needs for its secret to be edited out by hand (never deleted)."""
    return kind not in HOST_SECRETS and path.startswith(_SYSTEM_DIRS)


def _label(kind: str, names: dict[str, str]) -> str:
    return names.get(kind, kind.replace("-", " "))


def _evidence(cred: CredentialFile) -> list[Evidence]:
    owner = cred.file.owner or f"uid {cred.file.uid}"
    manual = (
        "; a system file: edit the secret out by hand (the wizard does not delete it)"
        if is_system_file(cred.file.path, cred.kind)
        else ""
    )
    out = [
        Evidence(
            cred.file.path,
            0,
            f"{_label(cred.kind, FILE_KINDS)}, owner {owner}, mode {cred.file.mode:04o}{manual}",
        )
    ]
    for hit in cred.hits:
        # mask() keeps at most four characters even if the probe ever sent more.
        shown = mask(hit.prefix[:4])
        out.append(
            Evidence(hit.path or cred.file.path, hit.line, f"{_label(hit.kind, HIT_KINDS)} {shown}")
        )
    return out


def check(facts: Facts) -> Finding:
    return unless_complete(_verdict(facts), facts, "credential", "secrets")


def _verdict(facts: Facts) -> Finding:
    entry = catalog()[ID]
    if not facts.credentials:
        return entry.finding(Status.PASS, "no credential file or secret found")
    evidence = [e for c in facts.credentials for e in _evidence(c)]
    kinds = sorted({_label(c.kind, FILE_KINDS) for c in facts.credentials})
    system = sum(1 for c in facts.credentials if is_system_file(c.file.path, c.kind))
    by_hand = f" ({system} in system files: edit by hand)" if system else ""
    return entry.finding(
        Status.FAIL,
        f"{len(facts.credentials)} credential file(s) would ship in the image: "
        f"{', '.join(kinds)}{by_hand}",
        evidence,
    )


def unchanged(facts: Facts, option_id: str) -> Unchanged | None:
    """Why a plan is empty while credentials were found: all of them are in system files."""
    if facts.credentials and all(is_system_file(c.file.path, c.kind) for c in facts.credentials):
        paths = ", ".join(c.file.path for c in facts.credentials[:3])
        return Unchanged(
            f"every secret found is inside a system file ({paths}): the wizard never deletes "
            "or moves those; edit each named line by hand, then audit again"
        )
    return None


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """delete: shred every credential file (final phase; never journaled, so no undo).
    A file under /etc, /usr, /boot or /var/lib/cloud is never planned (see is_system_file).
    move-outside-bundle: move them under the context's move_dir (undo moves them back); live
    targets only, and the step itself refuses a move_dir on the file system mounted at `/`.
    Each action carries the file as probed: the step refuses a file that is not that one."""
    ctx = ctx or PlanContext()
    chosen = option(ID, option_id)
    movable = [c for c in facts.credentials if not is_system_file(c.file.path, c.kind)]
    if chosen == "move-outside-bundle" and not facts.live and movable:
        raise PlanRefused(
            "move-outside-bundle needs a running instance with another file system (the "
            "instance store): every place in an image is part of the image — use delete"
        )
    actions: list[Action] = []
    for cred in facts.credentials:
        path = cred.file.path
        if is_system_file(path, cred.kind):
            continue  # the system needs the file: the evidence says to edit it by hand
        if chosen == "delete":
            actions.append(
                DeleteFile(
                    check_id=ID,
                    path=path,
                    shred=True,
                    phase=Phase.FINAL,
                    reversible=False,
                    expect=cred.file,
                )
            )
        else:
            # Keep the original path under the destination so that two files named
            # `credentials` cannot collide and the operator can see where each came from.
            dest = posixpath.join(ctx.move_dir, path.lstrip("/"))
            actions.append(
                MoveFile(
                    check_id=ID, path=path, destination=dest, phase=Phase.FINAL, expect=cred.file
                )
            )
    return tuple(actions)
