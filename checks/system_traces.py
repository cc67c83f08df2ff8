"""system-traces: what the build left behind on the system — logs, temp files, DHCP leases,
crash dumps, package caches, account-file backups — each reported with its count and size.

The categories follow virt-sysprep's default operations and Image Builder's cleanup script.
What other guidelines own is theirs: cloud-init's state and logs (cloud-init-state), shell
histories (shell-history), authorized_keys (authorized-keys), host keys, machine-id.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict

from checks._plans import option
from checks.base import catalog, unless_complete
from checks.registry import CheckMeta
from wizard.actions import Action, ClearTrace, Phase, PlanContext, WriteFile, ZeroFreeSpace
from wizard.facts import Facts, Trace
from wizard.model import Evidence, Finding, Status

ID = "system-traces"
META = CheckMeta(
    id=ID,
    order=108,
    phase="final",
    final_order=4,
    needs=(
        "traces",
        "traces_skipped",
        "incomplete",
        "credentials",
        "histories",
        "authorized_keys",
        "live",
    ),
    actions=(ClearTrace, WriteFile, ZeroFreeSpace),
)

LABELS = {
    "log": "log file",
    "audit-log": "audit log",
    "login-record": "login record (wtmp, btmp, lastlog)",
    "rotated-log": "rotated log",
    "journal": "systemd journal file",
    "tmp": "file in /tmp or /var/tmp",
    "dhcp-lease": "DHCP lease",
    "udev-net-rules": "udev persistent-net rules",
    "account-backup": "passwd-/group- backup",
    "shadow-backup": "shadow-/gshadow- backup (password hashes)",
    "crash-dump": "crash dump",
    "core-dump": "core file",
    "package-cache": "package cache file",
    "random-seed": "random seed",
    "ssm-state": "SSM agent state",
    "mail-spool": "mail spool",
    "editor-swap": "editor swap file",
    "editor-backup": "editor backup file",
    "ssh-known-hosts": "ssh known_hosts",
    "installer-file": "installer file (kickstart, install log)",
    "log-state": "log rotation or forwarding state",
    "host-id": "per-machine id (yum, smolt)",
    "blkid-cache": "blkid cache",
    "kerberos-keytab": "Kerberos host keytab",
    "lvm-devices": "LVM system.devices",
    "subscription": "RHN / subscription-manager identity",
    "rpm-db-env": "rpm database environment (__db.*)",
    "update-stamp": "systemd update stamp (.updated)",
    "service-state": "service data (sssd, puppet, samba, dovecot)",
    "user-crontab": "user crontab",
    "at-job": "pending at job",
    "desktop-cache": "desktop cache (GDM, fontconfig, man)",
    "fingerprint": "enrolled fingerprint (fprint)",
    "ipa-enrolment": "FreeIPA enrolment file",
    "network-profile": "NetworkManager connection profile",
    "pinned-network-id": "network file pinned to the builder (HWADDR=, UUID=, HOSTNAME=)",
    "hostname": "/etc/hostname (the builder's host name)",
    "aliases-db": "/etc/aliases.db (built on this machine)",
}
# Truncated (kept, emptied) by the truncate option; an empty one is no trace.
LOGS = frozenset({"log", "audit-log", "login-record"})
# Never copied to the journal, whatever their size, and why (undo says it).
NOT_JOURNALED = {
    "journal": "binary journal files, not worth restoring",
    "crash-dump": "a memory image may hold secrets",
    "core-dump": "a memory image may hold secrets",
    "package-cache": "the package manager downloads it again",
    "ssm-state": "the agent's registration with this instance",
    "shadow-backup": "it holds password hashes, never copied off the target",
    "random-seed": "a random seed must never be used twice",
    "installer-file": "a kickstart file may hold a password hash",
    "kerberos-keytab": "it holds the host's Kerberos keys",
    "subscription": "it holds this machine's entitlement keys",
    "service-state": "service data may hold cached credentials",
    "desktop-cache": "a cache its program builds again",
    "fingerprint": "a person's fingerprint data, never copied off the target",
    "ipa-enrolment": "enrolment data may hold the host's keys",
    "network-profile": "a network profile may hold Wi-Fi or VPN secrets",
}
# Reported as a warning and removed only by `remove`: they cannot be undone (shadow backups)
# or are a service's own data that a builder may have meant to ship (service-state).
# Crontabs, at jobs, network profiles, FreeIPA enrolment and aliases.db are the same: often meant
# to ship (a renewal job, the only network setting of an image without cloud-init), so each is
# listed (a crontab with its owner) for the operator to decide.
REMOVE_ONLY = frozenset(
    {
        "shadow-backup",
        "service-state",
        "user-crontab",
        "at-job",
        "network-profile",
        "ipa-enrolment",
        "aliases-db",
    }
)
# Emptied, never removed: the file is expected to exist (an empty /etc/hostname makes systemd
# and cloud-init pick the launch's name).
EMPTIED = frozenset({"hostname"})
# Kept on a running instance whatever the option: NetworkManager may be using the profile, and
# without it the instance can lose its network at the next reload or boot.
LIVE_KEPT = frozenset({"network-profile"})
# Edited, never removed: only the lines that pin the builder go (see pinned_lines).
PINNED_KEYS = ("HWADDR", "MACADDR", "UUID", "HOSTNAME", "DHCP_HOSTNAME")
# One row per file (with its owner) for these, not a count: the operator decides per file.
PER_FILE = frozenset({"user-crontab", "at-job", "network-profile", "pinned-network-id"})
JOURNAL_FILE_MAX = 64 * 1024  # a file larger than this is not journaled (a 2 GB log is not)
JOURNAL_TOTAL_MAX = 4 * 1024 * 1024  # nor anything past this much in one plan
EXAMPLES = 5  # files shown per category


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def counts(trace: Trace) -> bool:
    """Is this a trace to report as shipping? An empty log is none; a file a running process
    holds open belongs to the running system (a log held open counts while it holds data)."""
    if trace.category in LOGS or trace.category in EMPTIED or trace.category == "journal":
        return trace.file.size > 0
    return not trace.held_open


def owned_elsewhere(facts: Facts) -> frozenset[str]:
    """Files other guidelines report and fix: a credential file left in /tmp is
    bundle-credentials', a history shell-history's, an authorized_keys authorized-keys'."""
    return frozenset(
        [c.file.path for c in facts.credentials]
        + [h.path for h in facts.histories]
        + [a.file.path for a in facts.authorized_keys]
    )


def mine(facts: Facts) -> list[Trace]:
    """The traces this guideline reports and fixes."""
    others = owned_elsewhere(facts)
    return [t for t in facts.traces if t.file.path not in others]


def check(facts: Facts) -> Finding:
    return unless_complete(_verdict(facts), facts, "traces")


def pinned_lines(text: str) -> list[str]:
    """The lines of an ifcfg file (or /etc/sysconfig/network) that pin the builder."""
    return [
        line
        for line in text.split("\n")
        if line.strip().partition("=")[0] in PINNED_KEYS and "=" in line
    ]


def _file_detail(t: Trace, live: bool) -> str:
    owner = t.file.owner or f"uid {t.file.uid}"
    name = posixpath.basename(t.file.path)
    if t.category == "user-crontab":
        return f"crontab of {name} (file owner {owner}): kept unless you choose `remove`"
    if t.category == "pinned-network-id":
        keys = sorted({line.strip().partition("=")[0] for line in pinned_lines(t.text)})
        return f"{', '.join(k + '=' for k in keys)}: these lines are removed, the file stays"
    if t.category == "network-profile" and live:
        return (
            f"owner {owner}: NetworkManager may be using it on this running instance, so it "
            "is never removed here; remove it in the stopped image (image: target) if "
            "cloud-init writes the network at first boot"
        )
    return f"{_size(t.file.size)}, owner {owner}"


def _category_evidence(category: str, items: list[Trace], live: bool) -> list[Evidence]:
    if category in PER_FILE:
        head = Evidence(items[0].file.path, 0, f"{LABELS[category]}: {len(items)}")
        rows = [Evidence(t.file.path, 0, _file_detail(t, live)) for t in items[: EXAMPLES * 2]]
        return [head, *rows]
    total = sum(t.file.size for t in items)
    out = [Evidence(items[0].file.path, 0, f"{LABELS[category]}: {len(items)}, {_size(total)}")]
    for t in items[1 : EXAMPLES + 1]:
        owner = t.file.owner or f"uid {t.file.uid}"
        out.append(Evidence(t.file.path, 0, f"{_size(t.file.size)}, owner {owner}"))
    if len(items) > EXAMPLES + 1:
        more = len(items) - EXAMPLES - 1
        out.append(Evidence(posixpath.dirname(items[-1].file.path), 0, f"... and {more} more"))
    return out


def _verdict(facts: Facts) -> Finding:
    entry = catalog()[ID]
    by_cat: dict[str, list[Trace]] = defaultdict(list)
    open_kept: list[Trace] = []
    for t in mine(facts):
        if counts(t):
            by_cat[t.category].append(t)
        elif t.held_open:
            open_kept.append(t)
    evidence: list[Evidence] = []
    for category in LABELS:
        if by_cat.get(category):
            evidence += _category_evidence(category, by_cat[category], facts.live)
    evidence += [
        Evidence(t.file.path, 0, "held open by a running process: left alone")
        for t in open_kept[:EXAMPLES]
    ]
    evidence += [
        Evidence(s.partition(":")[0], 0, "not searched: " + s) for s in facts.traces_skipped
    ]
    failing = {
        c: items
        for c, items in by_cat.items()
        if c not in REMOVE_ONLY
        and not all(t.held_open for t in items)
        and not (c == "pinned-network-id" and not any(pinned_lines(t.text) for t in items))
    }
    total = sum(t.file.size for items in by_cat.values() for t in items)
    kept = (
        f"; {len(open_kept)} file(s) held open by running processes left alone" if open_kept else ""
    )
    if failing:
        what = ", ".join(f"{len(v)} {LABELS[c]}" for c, v in sorted(failing.items()))
        return entry.finding(
            Status.FAIL,
            f"{sum(len(v) for v in by_cat.values())} builder trace(s), {_size(total)}, would "
            f"ship in the image: {what}{kept}",
            evidence,
        )
    if by_cat:
        what = ", ".join(f"{len(v)} {LABELS[c]}" for c, v in sorted(by_cat.items()))
        return entry.finding(
            Status.WARN,
            f"left on purpose or being written by a running service: {what}{kept} "
            "(shadow backups, service data, crontabs, at jobs, network profiles, FreeIPA "
            "enrolment and aliases.db go only with the `remove` option; a live log refills "
            "until its service stops)",
            evidence,
        )
    return entry.finding(Status.PASS, f"no builder traces found{kept}", evidence)


# Places and names whose content may be key material or password hashes: never copied to
# the journal, whatever their category (a `ssh_host_rsa_key~`, /etc/ssl/private/x.pem.bak).
_SECRET_DIRS = ("/etc/ssl/private/", "/etc/pki/tls/private/", "/etc/ssh/")
_SECRET_NAME = re.compile(r"(^|/)(g?shadow|opasswd|id_[^/]*)|_key|\.(pem|key|p12|pfx|ppk|keytab)")


def _secret_like(path: str) -> bool:
    return (
        path.startswith(_SECRET_DIRS)
        or ("/.ssh/" in path and "known_hosts" not in path)
        or bool(_SECRET_NAME.search(path))
    )


def _journaled(trace: Trace, budget: list[int]) -> tuple[bool, str]:
    """Whether the file's content goes to the journal (undoable), else why not."""
    why = NOT_JOURNALED.get(trace.category)
    if why:
        return False, why
    if _secret_like(trace.file.path):
        return False, "it may hold a key or password hashes, never copied off the target"
    if trace.file.size > JOURNAL_FILE_MAX:
        return False, f"larger than {_size(JOURNAL_FILE_MAX)}, not journaled"
    if trace.file.size > budget[0]:
        return False, f"past the {_size(JOURNAL_TOTAL_MAX)} journaled per session"
    budget[0] -= trace.file.size
    return True, ""


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """truncate: empty the logs (kept, so services keep their handles), remove the rest but
    the shadow backups. remove: remove everything, shadow backups included (a log a process
    holds open is truncated instead). A file held open that is no log is never touched.
    Small files are journaled (undo writes them back); the rest says why it cannot be."""
    chosen = option(ID, option_id)
    if chosen == "keep":
        return ()
    budget = [JOURNAL_TOTAL_MAX]
    actions: list[Action] = []
    for t in mine(facts):
        is_log = t.category in LOGS
        if not counts(t) or (t.category in REMOVE_ONLY and chosen == "truncate"):
            continue
        if t.held_open and not is_log:
            continue  # journald's active file, someone's open temp file: the running system's
        if t.category in LIVE_KEPT and facts.live:
            continue  # the evidence says why: the running network may depend on it
        if t.category == "pinned-network-id":
            actions += _unpin(t)
            continue
        reversible, why = _journaled(t, budget)
        actions.append(
            ClearTrace(
                check_id=ID,
                path=t.file.path,
                truncate=t.category in EMPTIED
                or (is_log and (chosen == "truncate" or t.held_open)),
                expect=t.file,
                any_size=is_log,
                phase=Phase.FINAL,
                reversible=reversible,
                why_not=why,
            )
        )
    if chosen == "remove-and-zero-free-space":
        actions.append(ZeroFreeSpace(check_id=ID, phase=Phase.FINAL))
    return tuple(actions)


def _unpin(t: Trace) -> list[Action]:
    """The network file without its pinned lines, written in place (journaled: undo restores
    it). A file whose text the probe could not read is left alone."""
    pinned = set(pinned_lines(t.text))
    if not pinned or len(t.text.encode("utf-8", "surrogateescape")) != t.file.size:
        return []  # nothing to drop, or the text read is not the whole file (NULs, max_size)
    kept = "\n".join(line for line in t.text.split("\n") if line not in pinned)
    return [
        WriteFile(
            check_id=ID,
            path=t.file.path,
            content=kept.encode("utf-8", "surrogateescape"),
            based_on=t.text.encode("utf-8", "surrogateescape"),
            phase=Phase.FINAL,
        )
    ]
