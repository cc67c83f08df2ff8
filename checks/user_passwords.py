"""user-passwords: no account other than root may keep a usable or empty password.

Each offending account is listed by name; the hash never leaves the target.
"""

from __future__ import annotations

from checks._plans import option, password_actions
from checks.base import catalog
from checks.registry import CheckMeta
from checks.root_password import scheme_name
from wizard.actions import Action, DeleteFile, DisablePassword, LockPassword, PlanContext
from wizard.facts import Account, Facts, PasswordState
from wizard.i18n import _
from wizard.model import Evidence, Finding, Severity, Status

ID = "user-passwords"
META = CheckMeta(
    id=ID, order=50, needs=("accounts",), actions=(LockPassword, DisablePassword, DeleteFile)
)


def _detail(account: Account) -> str:
    if account.password is PasswordState.EMPTY:
        what = "EMPTY password (no password needed)"
    else:
        what = f"usable {scheme_name(account.password_scheme)} password"
    # A nologin shell does not make a password harmless: sshd still authenticates it, and
    # port forwarding (ssh -N) works without a shell.
    shell = "" if account.can_login_shell else f", shell {account.shell or '(none)'}"
    return f"{account.name} (uid {account.uid}): {what}{shell}"


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    others = [a for a in facts.accounts if a.uid != 0]
    if not others:
        return entry.finding(Status.PASS, _("no account other than root"))
    bad = [a for a in others if a.password in (PasswordState.USABLE, PasswordState.EMPTY)]
    evidence = [Evidence("/etc/shadow", 0, _detail(a)) for a in bad]
    if bad:
        empty = [a.name for a in bad if a.password is PasswordState.EMPTY]
        names = ", ".join(a.name for a in bad)
        if empty:
            return entry.finding(
                Status.FAIL,
                f"{len(bad)} account(s) can log in with a password, "
                f"{len(empty)} with an EMPTY one: {names}",
                evidence,
                severity=Severity.CRITICAL,
            )
        return entry.finding(
            Status.FAIL, f"{len(bad)} account(s) have a usable password: {names}", evidence
        )
    if all(a.password is PasswordState.UNKNOWN for a in others):
        return entry.finding(Status.ERROR, _("could not read /etc/shadow (not root?)"))
    return entry.finding(
        Status.PASS, f"none of the {len(others)} other accounts has a usable or empty password"
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Lock (or disable) every non-root account that has a usable or empty password, and
    remove the account files' backup copies."""
    chosen = option(ID, option_id)
    return tuple(password_actions(ID, [a for a in facts.accounts if a.uid != 0], chosen))


def refusal(
    facts: Facts, option_id: str, actions: tuple[Action, ...], ctx: PlanContext
) -> str | None:
    """The session's lock-out rule: never lock the password the session's sudo asks for."""
    user = ctx.login_user
    if user and user != "root" and ctx.sudo_uses_password:
        locked = {getattr(a, "user", "") for a in actions}
        if user in locked:
            return (
                f"refused: locking {user}'s password would break the sudo this session "
                "uses (it asks for that password) — lock it from another account"
            )
    return None
