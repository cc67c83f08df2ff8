"""root-password: root's /etc/shadow entry must not allow a password login.

Reads only the password *state* the probe derived (locked, usable, empty...), never a hash.
"""

from __future__ import annotations

from checks import _plans
from checks.base import catalog
from checks.registry import CheckMeta
from wizard.actions import Action, LockPassword, PlanContext, Symlink, WriteFile
from wizard.facts import Facts, PasswordState
from wizard.model import Evidence, Finding, Severity, Status

ID = "root-password"
META = CheckMeta(
    id=ID, order=40, needs=("accounts", "units"), actions=(LockPassword, WriteFile, Symlink)
)

# crypt(3) scheme ids, so the evidence can say what kind of hash is there without showing it.
SCHEMES = {
    "1": "MD5-crypt",
    "2a": "bcrypt",
    "2b": "bcrypt",
    "2y": "bcrypt",
    "5": "SHA-256-crypt",
    "6": "SHA-512-crypt",
    "7": "scrypt",
    "y": "yescrypt",
    "gy": "gost-yescrypt",
}


def scheme_name(scheme: str) -> str:
    """A readable name for a crypt scheme id ("6" -> "SHA-512-crypt")."""
    if not scheme:
        return "traditional DES-crypt or unknown scheme"
    return SCHEMES.get(scheme, f"${scheme}$ scheme")


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    root = facts.account("root")
    if root is None:
        return entry.finding(Status.ERROR, "no root account in /etc/passwd: the probe saw none")
    where = Evidence("/etc/shadow", 0, f"root: password {root.password}")
    match root.password:
        case PasswordState.LOCKED:
            return entry.finding(Status.PASS, "root's password is locked", [where])
        case PasswordState.USABLE:
            detail = f"root: a usable {scheme_name(root.password_scheme)} password hash is set"
            return entry.finding(
                Status.FAIL,
                "root has a usable password: everyone launching the image would share it",
                [Evidence("/etc/shadow", 0, detail)],
            )
        case PasswordState.EMPTY:
            return entry.finding(
                Status.FAIL,
                "root has an EMPTY password: anyone at a console or su prompt becomes root",
                [Evidence("/etc/shadow", 0, "root: the password field is empty")],
                severity=Severity.CRITICAL,
            )
        case PasswordState.NO_ENTRY:
            return entry.finding(
                Status.WARN,
                "root has no line in /etc/shadow: its state depends on /etc/passwd alone",
                [Evidence("/etc/shadow", 0, "root: no entry")],
            )
        case _:
            return entry.finding(Status.ERROR, "could not read /etc/shadow (not root?)")


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Lock root's password; optionally also install a first-boot unit that randomises it."""
    chosen = _plans.option(ID, option_id)
    root = facts.account("root")
    actions: list[Action] = []
    if root is not None and root.password in (PasswordState.USABLE, PasswordState.EMPTY):
        actions.append(
            LockPassword(check_id=ID, user="root", was_empty=root.password is PasswordState.EMPTY)
        )
    if chosen == "lock-and-randomise-at-first-boot" and not _plans.unit_installed(
        facts, _plans.ROOT_PASSWORD_UNIT
    ):
        actions += _plans.unit_actions(ID, _plans.ROOT_PASSWORD_UNIT, _plans.ROOT_PASSWORD_TEXT)
    return tuple(actions)
