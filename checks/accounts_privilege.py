"""accounts-privilege: no hidden root, no passwordless sudo beyond the cloud default user, no
login account without a home, no world-writable system file, no pending security update.

These are the basics a recipient's own audit (Lynis and the like) looks at first.
"""

from __future__ import annotations

from checks._cloudinit import cloud_config
from checks._plans import option
from checks._sudoers import Rule, override, passwordless
from checks.base import Unchanged, catalog, search_gaps
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext, PlanRefused, RemoveWorldWrite, WriteSudoers
from wizard.facts import Facts, FileInfo
from wizard.model import Evidence, Finding, Status

ID = "accounts-privilege"
META = CheckMeta(
    id=ID,
    order=55,
    needs=(
        "accounts",
        "sudoers",
        "cloud_init",
        "world_writable",
        "missing_homes",
        "pending_security",
        "package_manager",
        "incomplete",
        "live",
    ),
    actions=(RemoveWorldWrite, WriteSudoers),
)
SUDOERS_D = "/etc/sudoers.d"
# sudo reads a directory's files in lexical order and skips names with a "." or ending "~":
# the first of these that sorts after every other one is where the drop-in goes.
_DROP_IN_NAMES = ("zz-ami-wizard", "~~-ami-wizard")
DROP_IN_HEADER = (
    "# Written by ami-wizard (accounts-privilege): each line below restates a rule found\n"
    "# elsewhere with the password asked again. sudo uses the last rule that matches, and\n"
    "# this file is read last. Remove a line (visudo -f) to give that rule back.\n"
)
# The cloud images' default users, in the order the launch-key guideline prefers them.
USUAL_DEFAULT_USERS = ("ec2-user", "admin", "ubuntu", "debian")
_RANK = {Status.FAIL: 3, Status.WARN: 2, Status.INFO: 1, Status.PASS: 0}


def default_user(facts: Facts) -> str:
    """cloud-init's `system_info.default_user.name`, else the first usual one that exists."""
    system = cloud_config(facts).values.get("system_info")
    user = system.get("default_user") if isinstance(system, dict) else None
    name = user.get("name") if isinstance(user, dict) else None
    if isinstance(name, str) and name:
        return name
    return next((n for n in USUAL_DEFAULT_USERS if facts.account(n) is not None), "")


def extra_roots(facts: Facts) -> list[str]:
    return [a.name for a in facts.accounts if a.uid == 0 and a.name != "root"]


def sudo_rules(facts: Facts) -> list[Rule]:
    """Passwordless sudo for anyone but root and the cloud default user."""
    allowed = {"root", default_user(facts)} - {""}
    return [r for r in passwordless(facts.sudoers) if set(r.principals) - allowed]


def homeless(facts: Facts) -> list[str]:
    return sorted(set(facts.missing_homes))


def world_writable(facts: Facts) -> list[FileInfo]:
    return list(facts.world_writable)


def _parts(facts: Facts) -> list[tuple[Status, str, list[Evidence]]]:
    parts: list[tuple[Status, str, list[Evidence]]] = []
    roots = extra_roots(facts)
    if roots:
        parts.append(
            (
                Status.FAIL,
                f"{len(roots)} account(s) besides root have UID 0",
                [
                    Evidence("/etc/passwd", 0, f"{n} has UID 0: it is root under another name")
                    for n in roots
                ],
            )
        )
    rules = sudo_rules(facts)
    if rules:
        status = Status.FAIL if any(r.all_commands for r in rules) else Status.WARN
        evidence = [
            Evidence(
                r.path,
                r.line,
                f"no password asked for {', '.join(r.principals)}"
                + (" (all commands)" if r.all_commands else "")
                + f": {r.text[:120]}",
            )
            for r in rules
        ]
        parts.append(
            (status, f"{len(rules)} passwordless sudo rule(s) beyond the default user", evidence)
        )
    nohome = homeless(facts)
    if nohome:
        by_name = {a.name: a for a in facts.accounts}
        parts.append(
            (
                Status.WARN,
                f"{len(nohome)} account(s) with a login shell have no home directory",
                [
                    Evidence(
                        "/etc/passwd",
                        0,
                        f"{n}: shell {by_name[n].shell if n in by_name else '?'}, home "
                        f"{(by_name[n].home if n in by_name else '') or '(none)'} does not exist",
                    )
                    for n in nohome
                ],
            )
        )
    writable = world_writable(facts)
    if writable:
        parts.append(
            (
                Status.FAIL,
                f"{len(writable)} world-writable file(s) or directories in system paths",
                [
                    Evidence(f.path, 0, f"mode {f.mode:o}, owner {f.owner or f.uid}")
                    for f in writable[:50]
                ],
            )
        )
    gap = search_gaps(facts, "world-writable")
    if gap:
        parts.append((Status.WARN, gap, [Evidence("probe", 0, gap)]))
    if facts.pending_security:
        manager = facts.package_manager or "package manager"
        parts.append(
            (
                Status.WARN,
                f"{facts.pending_security} pending security update(s)",
                [Evidence(manager, 0, f"{facts.pending_security} security update(s) not applied")],
            )
        )
    return parts


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    parts = _parts(facts)
    if not parts:
        known = "" if facts.pending_security is not None else "; security updates not known here"
        return entry.finding(
            Status.PASS,
            "no extra UID 0 account, no passwordless sudo beyond the default user, every login "
            f"account has a home, no world-writable system file{known}",
        )
    status = max((s for s, _, _ in parts), key=lambda s: _RANK[s])
    evidence = [e for _, _, ev in parts for e in ev]
    return entry.finding(status, "; ".join(text for _, text, _ in parts), evidence)


def _drop_in_path(facts: Facts) -> str:
    prefix = SUDOERS_D + "/"
    names = [
        p[len(prefix) :]
        for p in facts.sudoers
        if p.startswith(prefix) and not p.endswith("-ami-wizard")
    ]
    for name in _DROP_IN_NAMES:
        if all(other < name for other in names):
            return prefix + name
    raise PlanRefused(f"a file in {SUDOERS_D} sorts after every name the wizard would use")


def sudo_fixes(facts: Facts, login_user: str) -> tuple[str, list[Rule]]:
    """The drop-in's path and the rules it can safely restate with a password: only rules
    for plain user names, never root, the cloud default user or the account the operator is
    logged in as (so that sudo is never taken from whoever runs the wizard), and only where
    the drop-in is really read after the rule (checked by reading the result back)."""
    keep = {"root", "ALL", default_user(facts), login_user} - {""}
    candidates = [
        r
        for r in sudo_rules(facts)
        if not set(r.principals) & keep and all(p[:1] not in "%+#&" and p for p in r.principals)
    ]
    if not candidates:
        return "", []
    path = _drop_in_path(facts)
    old = facts.sudoers.get(path, DROP_IN_HEADER)
    text = old + "".join(override(r.text) + "\n" for r in candidates)
    left = {(r.path, r.line) for r in passwordless({**facts.sudoers, path: text})}
    return path, [r for r in candidates if (r.path, r.line) not in left]


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """`chmod o-w` on each world-writable file, re-checked on the target (the file probed,
    no symlink) in the same step; journaled (undo gives the bit back). With `fix-all`, also
    one sudoers drop-in that asks for the password again on the rules `sudo_fixes` allows,
    written only if visudo accepts it. Accounts are never changed automatically."""
    chosen = option(ID, option_id)
    actions: list[Action] = [
        RemoveWorldWrite(check_id=ID, path=f.path, expect=f) for f in world_writable(facts)
    ]
    if chosen == "fix-all":
        path, rules = sudo_fixes(facts, ctx.login_user if ctx else "")
        if rules:
            if not facts.live:
                raise PlanRefused(
                    "sudoers in an image cannot be checked with visudo: apply `remove-world-write`"
                    " here and change sudo rules by hand"
                )
            old = facts.sudoers.get(path, DROP_IN_HEADER)
            text = old + "".join(override(r.text) + "\n" for r in rules)
            actions.append(WriteSudoers(check_id=ID, path=path, content=text.encode()))
    return tuple(actions)


def unchanged(facts: Facts, option_id: str) -> Unchanged | None:
    """What the fix leaves to the operator, said instead of "already compliant"."""
    manual = []
    if extra_roots(facts):
        manual.append("extra UID 0 accounts")
    if sudo_rules(facts) and option_id == "fix-all":  # the plan is empty: none could be fixed
        manual.append("passwordless sudo rules (yours, a group's, or read after the drop-in)")
    elif sudo_rules(facts):
        manual.append("passwordless sudo rules (the fix-all option restates those it may)")
    if homeless(facts):
        manual.append("login accounts without a home")
    if facts.pending_security:
        manual.append("pending security updates (ami-tools: update)")
    if manual and not facts.world_writable:
        return Unchanged("fixed by hand only: " + ", ".join(manual))
    return None
