"""sshd-hardening: extra sshd settings a hardening baseline asks for (optional, off by default).

Judged: the algorithm lists (Ciphers, MACs, KexAlgorithms) against a current baseline of
the kind dev-sec's ssh-baseline checks, MaxAuthTries, LoginGraceTime and X11Forwarding — from
`sshd -T` on a live target, else from the files and the release's defaults. The fix sets
them through the shared sshd machinery (SetSshd: validated with `sshd -t`, reloaded, proven
by a new login, undoable) and only ever names algorithms this OpenSSH supports (`ssh -Q` on
a live target, else the release each one appeared in), so it cannot write a list sshd
rejects. Off by default: old clients that lack these algorithms can no longer connect.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks import _sshd
from checks._plans import option
from checks.base import catalog
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext, PlanRefused, SetSshd
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status
from wizard.sshd_config import SshdConfig, parse_version

ID = "sshd-hardening"
META = CheckMeta(
    id=ID,
    order=32,
    needs=(*_sshd.NEEDS, "ssh_algorithms"),
    actions=(SetSshd,),
    off_by_default=True,
)

# The baseline, strongest first, with the OpenSSH release that brought each algorithm
# (for image targets, where `ssh -Q` is not run). AEAD and CTR ciphers; encrypt-then-MAC and
# SHA-2 MACs; post-quantum hybrid, X25519 and large finite-field groups for key exchange.
BASELINE: dict[str, tuple[tuple[str, tuple[int, int]], ...]] = {
    "ciphers": (
        ("chacha20-poly1305@openssh.com", (6, 5)),
        ("aes256-gcm@openssh.com", (6, 2)),
        ("aes128-gcm@openssh.com", (6, 2)),
        ("aes256-ctr", (5, 2)),
        ("aes192-ctr", (5, 2)),
        ("aes128-ctr", (5, 2)),
    ),
    "macs": (
        ("hmac-sha2-512-etm@openssh.com", (6, 2)),
        ("hmac-sha2-256-etm@openssh.com", (6, 2)),
        ("umac-128-etm@openssh.com", (6, 2)),
        ("hmac-sha2-512", (5, 9)),
        ("hmac-sha2-256", (5, 9)),
    ),
    "kexalgorithms": (
        ("mlkem768x25519-sha256", (9, 9)),
        ("sntrup761x25519-sha512", (9, 9)),
        ("sntrup761x25519-sha512@openssh.com", (8, 5)),
        ("curve25519-sha256", (7, 4)),
        ("curve25519-sha256@libssh.org", (6, 5)),
        ("diffie-hellman-group18-sha512", (7, 3)),
        ("diffie-hellman-group16-sha512", (7, 3)),
        ("diffie-hellman-group-exchange-sha256", (5, 2)),
    ),
}
# keyword -> (how it is written, the `ssh -Q` kind that lists what is supported)
ALGORITHMS = {
    "ciphers": ("Ciphers", "cipher"),
    "macs": ("MACs", "mac"),
    "kexalgorithms": ("KexAlgorithms", "kex"),
}
# Since OpenSSH 7.0 the default cipher list is AEAD and CTR only; the default MAC and key
# exchange lists still offer SHA-1 MACs, 64-bit UMAC and NIST-curve or group14 exchange.
DEFAULT_CIPHERS_OK_SINCE = (7, 0)
MAX_AUTH_TRIES = 3
LOGIN_GRACE_TIME = 30  # seconds, what the fix sets; up to 60 passes
LOGIN_GRACE_MAX = 60


@dataclass(frozen=True)
class Item:
    """One judged setting: is it at the baseline, what it is, and what the fix writes."""

    keyword: str  # as written in sshd_config
    ok: bool
    summary: str
    fix: str  # the value the fix sets ("" when nothing to change)
    evidence: tuple[Evidence, ...]


def supported(facts: Facts, keyword: str) -> list[str]:
    """The baseline algorithms this OpenSSH supports, strongest first: `ssh -Q` when the
    probe ran it (live), else by the release each appeared in (unknown: none newer than 7.4)."""
    kind = ALGORITHMS[keyword][1]
    listed = facts.ssh_algorithms.get(kind)
    names = [name for name, _ in BASELINE[keyword]]
    if listed:
        return [n for n in names if n in listed]
    v = parse_version(facts.sshd_version or "7.4")
    return [n for n, since in BASELINE[keyword] if v.at_least(*since)]


def _algorithms(facts: Facts, config: SshdConfig, keyword: str) -> Item:
    spelled, _ = ALGORITHMS[keyword]
    eff = _sshd.effective(facts, config, keyword)
    fix = ",".join(supported(facts, keyword))
    allowed = {n for n, _ in BASELINE[keyword]}
    lines = facts.sshd_t.get(keyword) if facts.live and facts.sshd_t else None
    if lines:
        current = lines[0].split(",")
        source = "sshd -T"
    elif eff.setting.source is not None:
        current = [a for arg in eff.setting.source.args for a in arg.split(",") if a]
        source = eff.setting.where()
    else:
        v = parse_version(facts.sshd_version or None)
        ok = keyword == "ciphers" and v.at_least(*DEFAULT_CIPHERS_OK_SINCE)
        why = (
            "the default has only AEAD and CTR ciphers"
            if ok
            else "the default list still offers algorithms outside the baseline"
        )
        summary = f"{spelled} not set: {why}"
        ev = Evidence(config.main, 0, f"{spelled} not set ({eff.origin(facts)})")
        return Item(spelled, ok, summary, "" if ok else fix, (ev,))
    if any(a[:1] in "+-^" for a in current):
        summary = f"{spelled} changes the default list ({' '.join(current)}): not a fixed list"
        return Item(spelled, False, summary, fix, eff.evidence)
    extra = [a for a in current if a not in allowed]
    if not extra:
        return Item(spelled, True, f"{spelled}: {len(current)} baseline algorithms", "", ())
    summary = f"{spelled} offers {', '.join(extra)} ({source})"
    return Item(spelled, False, summary, fix, eff.evidence)


def _number(facts: Facts, config: SshdConfig, keyword: str) -> tuple[int, _sshd.Effective]:
    eff = _sshd.effective(facts, config, keyword)
    return (int(eff.value) if eff.value.isdigit() else -1), eff


def _items(facts: Facts, config: SshdConfig) -> list[Item]:
    items = [_algorithms(facts, config, k) for k in ALGORITHMS]
    tries, eff = _number(facts, config, "maxauthtries")
    ok = 0 < tries <= MAX_AUTH_TRIES
    items.append(
        Item(
            "MaxAuthTries",
            ok,
            f"MaxAuthTries is {eff.value} ({eff.origin(facts)})",
            "" if ok else str(MAX_AUTH_TRIES),
            () if ok else eff.evidence,
        )
    )
    grace, eff = _number(facts, config, "logingracetime")
    ok = 0 < grace <= LOGIN_GRACE_MAX
    items.append(
        Item(
            "LoginGraceTime",
            ok,
            f"LoginGraceTime is {eff.value}s ({eff.origin(facts)})",
            "" if ok else str(LOGIN_GRACE_TIME),
            () if ok else eff.evidence,
        )
    )
    x11 = _sshd.judge(facts, config, _sshd.Rule("x11forwarding", frozenset({"yes"})))
    where = f", and yes in {x11.where_reopened()}" if x11.reopens else ""
    items.append(
        Item(
            "X11Forwarding",
            not x11.unsafe,
            f"X11Forwarding is {x11.eff.value}{where} ({x11.eff.origin(facts)})",
            "no" if x11.unsafe else "",
            x11.evidence if x11.unsafe else (),
        )
    )
    return items


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    config = _sshd.load(facts)
    if config is None:
        return entry.finding(Status.SKIP, _sshd.NO_SSHD)
    items = _items(facts, config)
    bad = [i for i in items if not i.ok]
    evidence = [e for i in bad for e in i.evidence]
    if not bad:
        return entry.finding(Status.PASS, "; ".join(i.summary for i in items))
    return entry.finding(Status.WARN, "; ".join(i.summary for i in bad), evidence)


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """apply-baseline: set each setting that is not at the baseline; the algorithm lists
    hold only what this OpenSSH supports. Empty when every setting already is, or for keep."""
    if option(ID, option_id) == "keep":
        return ()
    config = _sshd.load(facts)
    if config is None:
        raise PlanRefused(_sshd.NO_SSHD)
    actions: list[Action] = []
    for item in _items(facts, config):
        if item.ok:
            continue
        if not item.fix:
            raise PlanRefused(
                f"{item.keyword}: none of the baseline algorithms is supported by this "
                "OpenSSH: update openssh-server first"
            )
        clear = ("yes",) if item.keyword == "X11Forwarding" else ()
        actions.append(
            SetSshd(check_id=ID, keyword=item.keyword, args=(item.fix,), clear_in_match=clear)
        )
    return tuple(actions)


unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)
