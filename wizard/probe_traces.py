"""The probe's system-traces records turned into `Trace` facts: which file is which kind of
builder trace (a log, a lease, a cache entry...), which ones a running process holds open, and
how each search ended (a search cut short is never a pass).

Records (wizard/probe.sh, section "system traces"): `tracestart NAME RESOLVED` per tree
searched, `traceskip NAME WHY` per tree left out, `traces trees|names` with find's
"LETTER metadata", path pairs and "rc=STATUS", `tracefiles` with metadata, path pairs, and
`traceopen UID "dev:ino ..."` on a live target, `tracepin METADATA PATH =TEXT` per network
file with a line pinned to the builder (HWADDR=, UUID=, HOSTNAME=...).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wizard.facts import FileInfo, SearchNote, Trace

SEARCH = "traces"
# Rotated logs: syslog.1, syslog.2.gz, messages-20240101, dpkg.log.old, auth.log.3.zst
_ROTATED = re.compile(
    r"(\.\d+(\.(gz|xz|bz2|zst|lz4))?|\.(gz|xz|bz2|zst|lz4)|\.old|-\d{8}(\.\w+)?)$"
)
_LOGIN_RECORDS = frozenset({"wtmp", "btmp", "lastlog", "faillog", "utmp"})
# cloud-init-state owns these (cloud-init clean --logs removes them).
_CLOUD_INIT_LOGS = frozenset({"/var/log/cloud-init.log", "/var/log/cloud-init-output.log"})
_TREES = {
    "/tmp": "tmp",
    "/var/tmp": "tmp",
    "/var/crash": "crash-dump",
    "/var/lib/systemd/coredump": "crash-dump",
    "/var/spool/abrt": "crash-dump",
    "/var/cache/apt": "package-cache",
    "/var/cache/dnf": "package-cache",
    "/var/cache/yum": "package-cache",
    "/var/cache/zypp": "package-cache",
    "/var/cache/apk": "package-cache",
    "/var/lib/amazon/ssm": "ssm-state",
    "/var/mail": "mail-spool",
    "/var/spool/mail": "mail-spool",
    "/var/lib/dhcp": "dhcp-lease",
    "/var/lib/dhclient": "dhcp-lease",
    "/var/lib/dhcpcd": "dhcp-lease",
    "/var/lib/systemd/netif/leases": "dhcp-lease",
    "/var/lib/dhcpd": "dhcp-lease",
    "/var/account": "log",  # process accounting (pacct)
    "/var/lib/sss/db": "service-state",
    "/var/lib/puppet": "service-state",
    "/var/lib/dovecot": "service-state",
    "/var/lib/samba": "service-state",
    "/etc/pki/consumer": "subscription",
    "/etc/pki/entitlement": "subscription",
    "/var/spool/at": "at-job",
    "/var/spool/atjobs": "at-job",
    "/var/spool/atspool": "at-job",
    "/var/cache/gdm": "desktop-cache",
    "/var/cache/fontconfig": "desktop-cache",
    "/var/cache/man": "desktop-cache",
    "/var/lib/fprint": "fingerprint",
    "/etc/ipa": "ipa-enrolment",
    "/var/lib/ipa-client": "ipa-enrolment",
    "/etc/NetworkManager/system-connections": "network-profile",
}
_SINGLE = {
    "/etc/passwd-": "account-backup",
    "/etc/group-": "account-backup",
    "/etc/shadow-": "shadow-backup",
    "/etc/gshadow-": "shadow-backup",
    "/etc/udev/rules.d/70-persistent-net.rules": "udev-net-rules",
    "/var/lib/systemd/random-seed": "random-seed",
    "/var/lib/random-seed": "random-seed",
    "/var/lib/urandom/random-seed": "random-seed",
    "/core": "core-dump",
    "/etc/subuid-": "account-backup",
    "/etc/subgid-": "account-backup",
    "/root/anaconda-ks.cfg": "installer-file",
    "/root/original-ks.cfg": "installer-file",
    "/root/initial-setup-ks.cfg": "installer-file",
    "/root/anaconda-post.log": "installer-file",
    "/root/install.log": "installer-file",
    "/root/install.log.syslog": "installer-file",
    "/var/lib/logrotate.status": "log-state",
    "/var/lib/logrotate/status": "log-state",
    "/var/lib/rsyslog/imjournal.state": "log-state",
    "/var/lib/yum/uuid": "host-id",
    "/etc/sysconfig/hw-uuid": "host-id",
    "/etc/smolt/uuid": "host-id",
    "/etc/smolt/hw-uuid": "host-id",
    "/etc/blkid/blkid.tab": "blkid-cache",
    "/etc/blkid/blkid.tab.old": "blkid-cache",
    "/etc/blkid.tab": "blkid-cache",
    "/etc/blkid.tab.old": "blkid-cache",
    "/etc/krb5.keytab": "kerberos-keytab",
    "/etc/lvm/devices/system.devices": "lvm-devices",
    "/etc/sysconfig/rhn/systemid": "subscription",
    "/etc/sysconfig/rhn/osad-auth.conf": "subscription",
    "/etc/.updated": "update-stamp",
    "/var/.updated": "update-stamp",
    "/etc/hostname": "hostname",
    "/etc/aliases.db": "aliases-db",
    "/etc/pki/ca-trust/source/anchors/ipa-ca.crt": "ipa-enrolment",
    "/usr/local/share/ca-certificates/ipa-ca.crt": "ipa-enrolment",
    "/etc/pki/ca-trust/source/ipa.p11-kit": "ipa-enrolment",
}
_SWAP = re.compile(r"^\..*\.sw[a-p]$")
_CORE = re.compile(r"^core(\.\d+)?$")


def is_shadow_copy(path: str) -> bool:
    """A copy of shadow or gshadow (`shadow-`, `shadow.bak`, `gshadow~`): password hashes."""
    return posixpath.basename(path).startswith(("shadow", "gshadow"))


def log_category(rel: str) -> str | None:
    """The category of a file under /var/log, `rel` being its path below /var/log."""
    name = posixpath.basename(rel)
    if rel.startswith("/journal/"):
        return "journal"
    if rel.startswith("/dump/"):
        return "crash-dump"
    if name in _LOGIN_RECORDS:
        return "login-record"
    if _ROTATED.search(name):
        return "rotated-log"
    return "audit-log" if rel.startswith("/audit/") else "log"


def tree_category(tree: str, rel: str) -> str | None:
    """The category of the file at `rel` below the searched tree `tree`, None if no trace."""
    if tree == "/var/log":
        if tree + rel in _CLOUD_INIT_LOGS:
            return None
        return log_category(rel)
    if tree == "/var/lib/NetworkManager":
        return "dhcp-lease" if "lease" in posixpath.basename(rel) else None
    if tree == "/var/spool/cron":  # Debian: crontabs/USER, atjobs/, atspool/; RHEL: USER
        return "at-job" if rel.startswith(("/atjobs/", "/atspool/")) else "user-crontab"
    if tree == "/var/lib/rpm":  # the Berkeley DB environment, not the package database
        return "rpm-db-env" if posixpath.basename(rel).startswith("__db.") else None
    return _TREES.get(tree)


def name_category(path: str) -> str | None:
    """The category of a file the names walk found (homes, /root, /etc)."""
    name = posixpath.basename(path)
    parent = posixpath.basename(posixpath.dirname(path))
    if name in ("known_hosts", "known_hosts.old"):
        return "ssh-known-hosts" if parent == ".ssh" else None
    if is_shadow_copy(path):
        return "shadow-backup"
    if _SWAP.match(name):
        return "editor-swap"
    if name.endswith(("~", ".bak")):
        return "editor-backup"
    if _CORE.match(name):
        return "core-dump"
    return None


def _core_mode(info: FileInfo) -> bool:
    """The kernel writes core dumps readable by their owner only (mode 0600); a file merely
    named `core` (a Python package's `core`, a schema) is readable by others."""
    return info.mode & 0o077 == 0


@dataclass(frozen=True)
class TraceFacts:
    traces: tuple[Trace, ...]
    skipped: tuple[str, ...]
    notes: tuple[SearchNote, ...]


FileInfoFn = Callable[[str, str], FileInfo]  # (metadata, path) -> FileInfo


def _walk(fields: list[str], max_files: int, timeout: str) -> tuple[list[tuple[str, str]], str]:
    """find's (metadata, path) pairs without the letter, and why the walk stopped ("")."""
    status: str | None = None
    if fields and fields[-1].startswith("rc="):
        status = fields.pop()[3:]
    pairs = [(m.partition(" ")[2], p) for m, p in zip(fields[0::2], fields[1::2], strict=False)]
    if max_files and len(pairs) > max_files:
        return pairs[:max_files], f"stopped after {max_files} files (probe.max_files)"
    if status == "124":
        return pairs, f"stopped after {timeout} s (probe.timeout)"
    if status is None:
        return pairs, "was cut short (its output ended early)"
    return pairs, ""


def parse_traces(
    recs: Sequence[list[str]],
    file_info: FileInfoFn,
    *,
    live: bool,
    max_files: int,
    timeout: str,
) -> TraceFacts:
    """Trace facts from the probe's trace records (see the module docstring)."""
    starts: list[tuple[str, str]] = []  # (resolved path as printed, tree name)
    skipped: list[str] = []
    found: list[tuple[str, FileInfo]] = []
    texts: dict[str, str] = {}  # path -> text, for the files the fix edits
    notes: list[SearchNote] = []
    opened: set[str] | None = None
    seen: set[str] = set()

    def add(category: str | None, info: FileInfo) -> None:
        if category is not None and info.path not in seen:
            seen.add(info.path)
            found.append((category, info))

    for rec in recs:
        kind, args = rec[0], rec[1:]
        if kind == "tracestart" and len(args) == 2:
            starts.append((args[1].rstrip("/"), args[0]))
        elif kind == "traceskip" and len(args) == 2:
            skipped.append(f"{args[0]}: {args[1]}")
        elif kind == "traceopen" and len(args) == 2:
            # Only root sees every process's descriptors: otherwise "open" is unknown.
            opened = set(args[1].split()) if args[0] == "0" else None
        elif kind == "tracefiles":
            for meta, path in zip(args[0::2], args[1::2], strict=False):
                info = file_info(meta, path)
                add(_SINGLE.get(info.path), info)
        elif kind == "tracepin" and len(args) == 3:
            info = file_info(args[0], args[1])
            texts[info.path] = args[2][1:] if args[2].startswith("=") else args[2]
            add("pinned-network-id", info)
        elif kind == "traces" and args:
            pairs, reason = _walk(list(args[1:]), max_files, timeout)
            if reason:
                notes.append(SearchNote(SEARCH, f"({args[0]}) {reason}"))
            # Longest start first: a tree inside another one is its own.
            ordered = sorted(starts, key=lambda s: len(s[0]), reverse=True)
            for meta, path in pairs:
                info = file_info(meta, path)
                if args[0] == "names":
                    cat = name_category(info.path)
                    if cat != "core-dump" or _core_mode(info):
                        add(cat, info)
                    continue
                for resolved, tree in ordered:
                    if path.startswith(resolved + "/"):
                        rel = path[len(resolved) :]
                        cat = tree_category(tree, rel)
                        if cat is not None and is_shadow_copy(rel):
                            cat = "shadow-backup"
                        add(cat, info)
                        break
    traces = tuple(
        Trace(
            category=cat,
            file=info,
            held_open=bool(live and opened and f"{info.dev}:{info.ino}" in opened),
            text=texts.get(info.path, ""),
        )
        for cat, info in sorted(found, key=lambda x: x[1].path)
    )
    if live and opened is None and found:
        notes.append(
            SearchNote(SEARCH, "could not tell which files running processes hold open (not root)")
        )
    return TraceFacts(traces, tuple(skipped), tuple(notes))
