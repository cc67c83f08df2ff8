"""A session's report input: `wizard.session.Session` and its `ApplyOutcome`s as a ReportInput.

The report (wizard.report) reads only plain data; this adapter is the one place that knows
the session's shapes, so the report never reaches back into the session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wizard.errors import UsageError, WizardError
from wizard.report import CheckActions, ReportInput
from wizard.session import ApplyOutcome, Preview, Session


def _diff_summary(text: str) -> str:
    """'path: +a -b' per file of a unified diff (the preview text), or '' when there is none."""
    counts: dict[str, list[int]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            current = line[4:].strip()
            current = current[1:] if current.startswith("b/") else current  # difflib's b/PATH
            counts.setdefault(current, [0, 0])
        elif line.startswith("--- "):
            continue
        elif current is not None and line.startswith("+"):
            counts[current][0] += 1
        elif current is not None and line.startswith("-"):
            counts[current][1] += 1
    return "; ".join(f"{path}: +{a} -{d}" for path, (a, d) in counts.items())


def from_session(
    session: Session,
    outcome: ApplyOutcome | Sequence[ApplyOutcome] | None = None,
    *,
    notes: Mapping[str, str] | None = None,
    previews: Mapping[str, Preview] | None = None,
    operator: str = "",
    started: str = "",
    finished: str = "",
) -> ReportInput:
    """Adapt a `wizard.session.Session` and its `ApplyOutcome`s to a report.

    `outcome` may be None (audit only), one outcome, or a sequence of them in the order they
    ran (the wizard applies the normal phase and the final phase separately): steps add up,
    the latest choice and error win. The before and after states, the exclude list and the
    events come from the session's final state (`Session.final`), one truth for all of them.
    `previews` (check id -> the `session.Preview` shown before applying) give the diff
    summaries.
    """
    try:
        final = session.final()
    except WizardError as exc:
        raise UsageError(str(exc)) from None
    if outcome is None:
        outcomes: list[ApplyOutcome] = []
    elif isinstance(outcome, ApplyOutcome):
        outcomes = [outcome]
    else:
        outcomes = list(outcome)
    choices: dict[str, str] = {}
    done: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    failed: dict[str, tuple[str | None, bool]] = {}
    for out in outcomes:
        for c in out.checks:
            choices[c.check_id] = c.option_id
            done.setdefault(c.check_id, []).extend(c.actions_done)
            extra.setdefault(c.check_id, []).extend(c.notes)
            failed[c.check_id] = (c.error, c.rolled_back)
    actions: dict[str, CheckActions] = {}
    for check_id in choices:
        pv = (previews or {}).get(check_id)
        diff = _diff_summary(pv.text) if pv is not None and done[check_id] else ""
        error, rolled_back = failed[check_id]
        actions[check_id] = CheckActions(
            commands=tuple(done[check_id]),
            diff_summary=diff,
            error=error,
            rolled_back=rolled_back,
            notes=tuple(extra[check_id]),
        )
    return ReportInput(
        before=final.before,
        after=final.after,
        choices=choices,
        notes=dict(notes or {}),
        actions=actions,
        operator=operator,
        started=started or final.before.started,
        finished=finished,
        session_id=session.id,
        exclude_list=final.exclude_list,
        events=final.events,
        warnings=tuple(w for out in outcomes for w in out.warnings),
        errors=tuple(e for out in outcomes for e in out.errors),
    )
