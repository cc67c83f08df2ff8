"""root-ssh-login: sshd must not accept a password (or any method) for root with `yes`.

The effective PermitRootLogin is judged, not a file line: Includes, first-value-wins, the
version-dependent default and Match blocks that can match root all count. One sshd template
(`checks._sshd.Guideline`) does the judging and the fix; this module is its data.
"""

from __future__ import annotations

from checks import _sshd
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext, SetSshd
from wizard.facts import Facts

ID = "root-ssh-login"
META = CheckMeta(id=ID, order=10, needs=("accounts", *_sshd.NEEDS), actions=(SetSshd,))

GUIDELINE = _sshd.Guideline(
    ID,
    rules=(_sshd.Rule("permitrootlogin", frozenset({"yes"}), root_only=True),),
    unsafe="{summary}: root may log in with a password",
    reopened="{summary}, but {where} sets it to yes: root may log in with a password there",
    allowed=frozenset({"prohibit-password", "forced-commands-only", "no"}),
)
check = GUIDELINE.check
plan = GUIDELINE.plan  # the chosen option is the value PermitRootLogin gets
unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)


def refusal(
    facts: Facts, option_id: str, actions: tuple[Action, ...], ctx: PlanContext
) -> str | None:
    """The session's lock-out rule: never close root logins under a root login."""
    locks_root = option_id in ("no", "forced-commands-only")
    if ctx.login_user == "root" and actions and locks_root:
        return (
            f"refused: PermitRootLogin {option_id} would lock out this root login, the "
            "only way in proven to work — log in as a sudo user and run it from there"
        )
    return None
