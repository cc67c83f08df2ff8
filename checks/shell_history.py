"""shell-history: no shell or REPL history of any user may ship in the image.

Histories keep whatever was typed: passwords on command lines, keys exported into the shell.
"""

from __future__ import annotations

from checks._plans import option
from checks.base import catalog, unless_complete
from checks.registry import CheckMeta
from wizard.actions import Action, Phase, PlanContext, ShredHistories
from wizard.facts import Facts, FileInfo
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status

ID = "shell-history"
META = CheckMeta(
    id=ID,
    order=100,
    phase="final",
    final_order=5,
    last_command=True,
    needs=("histories", "incomplete"),
    actions=(ShredHistories,),
    launch_trace=True,
)


def _detail(info: FileInfo) -> str:
    owner = info.owner or f"uid {info.uid}"
    return f"owner {owner}, {info.size} bytes"


def check(facts: Facts) -> Finding:
    return unless_complete(_verdict(facts), facts, "history")


def _verdict(facts: Facts) -> Finding:
    entry = catalog()[ID]
    if not facts.histories:
        return entry.finding(Status.PASS, _("no shell or REPL history file found"))
    evidence = [Evidence(h.path, 0, _detail(h)) for h in facts.histories]
    owners = sorted({h.owner or f"uid {h.uid}" for h in facts.histories})
    return entry.finding(
        Status.FAIL,
        f"{len(facts.histories)} history file(s) would ship in the image "
        f"(owners: {', '.join(owners)})",
        evidence,
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Shred every history file as the very last command. Planned even when none was found:
    the operator's own shell may write one before the end."""
    option(ID, option_id)
    return (
        ShredHistories(
            check_id=ID,
            files=tuple(h.path for h in facts.histories),
            expect=facts.histories,
            phase=Phase.LAST,
            reversible=False,
        ),
    )
