"""One apply session: the single facade the TUI and the headless CLI use to audit, preview,
apply (journaled, verified, in phases) and undo fixes on one target.

Final-phase semantics, plainly: once host keys or authorized_keys are removed, NEW SSH logins
to the instance fail until an instance launched from the image boots (and makes new host keys /
receives its launch key). The connection the wizard already has stays usable, so it finishes
and re-probes over it. Other open shells on the instance rewrite their history when they exit,
so the wizard warns about them; the history shred is the very last command it sends, with
history writing off in that same command, so nothing of ours writes history afterwards. When
the wizard runs on the instance itself (`local`), the operator's own shell still holds its
history: run `unset HISTFILE; history -c` in it, or close it with `kill -9 $$`.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import checks
from checks import registry
from checks.base import catalog
from wizard.actions import (
    Action,
    ExportExcludeList,
    Phase,
    PlanContext,
    PlanRefused,
    SetSshd,
    WriteFile,
)
from wizard.apply import Applier, CheckResult, backend_for, resolve_sshd
from wizard.config import Config
from wizard.engine import audit
from wizard.errors import ApplyError, UsageError, WizardError
from wizard.journal import Journal, new_session_id
from wizard.model import Finding, SessionEvent, Status
from wizard.results import AuditResult
from wizard.secrets import scrub
from wizard.sessions import TargetBusy
from wizard.targets.base import Target
from wizard.undo import Confirm, UndoRefused, undo_journal

log = logging.getLogger(__name__)

EXCLUDE_FILE = "exclude-list.txt"

FINAL_WARNING = (
    "final phase: host keys, authorized_keys and credentials are removed now — NEW SSH logins "
    "to this instance fail from here until an instance launched from the image boots; this "
    "connection stays open to finish"
)


@dataclass(frozen=True)
class Preview:
    """What choosing `option_id` for `check_id` would do, exactly, before anything changes."""

    check_id: str
    option_id: str
    actions: tuple[Action, ...]
    text: str  # unified diffs of files and the commands, as they would run
    refusal: str | None  # why this choice is refused here (None: allowed)
    irreversible: bool  # at least one action cannot be undone: needs explicit confirmation
    phase: Phase  # the latest phase among the actions (NORMAL when there are none)
    # When nothing is planned (and nothing refused): why, in words that never claim more than
    # is known — already compliant, the state is unknown, kept on purpose, or the check's reason.
    unchanged: str = ""


@dataclass(frozen=True)
class FinalState:
    """The one truth a report and the finale screen read: the first audit, the latest result
    (every finding of it judged on the same final facts), the exclude list derived from those
    facts, and the session's events in order."""

    before: AuditResult
    after: AuditResult | None  # None: audited only, nothing probed since
    exclude_list: tuple[str, ...]
    events: tuple[SessionEvent, ...]


@dataclass(frozen=True)
class CheckOutcome:
    """One check after apply: its status before and after, what was done, what went wrong."""

    check_id: str
    option_id: str
    before: Status | None
    after: Status | None
    actions_done: tuple[str, ...]
    error: str | None = None
    rolled_back: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyOutcome:
    """Everything `Session.apply` did; `ok` when no check had an error."""

    session_id: str
    checks: tuple[CheckOutcome, ...]
    actions_done: tuple[str, ...]
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    final_done: bool  # the FINAL phase ran (new logins now fail until the image boots)
    last_done: bool  # the history shred ran as the last command
    exclude_list: tuple[str, ...]
    exclude_file: str | None  # on the operator's machine, beside the journal
    journal_dir: str | None  # None when nothing needed journaling
    after: AuditResult | None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class UndoOutcome:
    session_id: str
    restored: tuple[str, ...]
    errors: tuple[str, ...]
    irreversible: tuple[str, ...]  # steps of the session that undo cannot bring back

    @property
    def ok(self) -> bool:
        return not self.errors


def _diff(path: str, old: bytes | None, new: bytes) -> str:
    a = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    b = new.decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(
        a, b, fromfile="/dev/null" if old is None else f"a{path}", tofile=f"b{path}"
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text or f"(no change to {path})\n"


class Session:
    """Audit, preview, apply and undo on one target. Not thread-safe: one caller at a time."""

    def __init__(
        self, target: Target, config: Config | None = None, session_id: str | None = None
    ) -> None:
        self.target = target
        self.config = config or Config()
        self.id = session_id or new_session_id()
        self.before: AuditResult | None = None
        self.after: AuditResult | None = None
        self._journal: Journal | None = None
        self._events: list[SessionEvent] = []

    # -- reading ----------------------------------------------------------------------
    def audit(self) -> AuditResult:
        """Probe and run every check; the first call sets `before`, later ones `after`."""
        result = audit(self.target, self.config)
        if self.before is None:
            self.before = result
        else:
            self.after = result
        return result

    @property
    def latest(self) -> AuditResult:
        result = self.after or self.before or self.audit()
        return result

    def context(self) -> PlanContext:
        return PlanContext(
            imds_endpoint=self.config.probe.imds_endpoint,
            login_user=str(getattr(self.target, "login_user", "") or ""),
            sudo_uses_password=bool(getattr(self.target, "sudo_uses_password", False)),
            launch_key_user=self.config.launch_key_user,
        )

    def select(self, check_ids: list[str], on: bool = True) -> AuditResult:
        """Turn optional guidelines that are off by default on (or off again) for this
        session, and judge the latest facts with that choice (nothing is probed)."""
        kept = [c for c in self.config.selected if c not in check_ids]
        selected = tuple(kept + list(check_ids)) if on else tuple(kept)
        return self.use_config(dataclasses.replace(self.config, selected=selected))

    def use_config(self, config: Config) -> AuditResult:
        """Take the operator's new settings (publisher, launch-key user...) and judge the
        latest facts again with them: nothing is probed, the target is not touched. The
        latest result is replaced (these settings are not the target's state)."""
        self.config = config
        latest = self.latest
        facts = dataclasses.replace(
            latest.facts, identity=dict(config.identity), selected=config.selected
        )
        result = dataclasses.replace(
            latest,
            facts=facts,
            findings=tuple(checks.run_checks(facts, [f.id for f in latest.findings])),
        )
        if self.after is not None:
            self.after = result
        else:
            self.before = result
        return result

    @property
    def events(self) -> tuple[SessionEvent, ...]:
        """What this session did, in order (applied, undone), for the report."""
        return tuple(self._events)

    def _event(self, kind: str, summary: str) -> None:
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        self._events.append(SessionEvent(now, kind, self.id, summary))

    def final(self) -> FinalState:
        """The session's final, consistent state; raises when the target was never audited.
        Reads only what the session holds: it never probes."""
        if self.before is None:
            raise WizardError("nothing to report yet: the target has not been audited")
        latest = self.after or self.before
        return FinalState(
            before=self.before,
            after=self.after,
            exclude_list=tuple(registry.exclude_list(latest.facts)),
            events=self.events,
        )

    def exclude_list(self) -> list[str]:
        """Paths for `ec2-bundle-vol --exclude` (comma-joined), from the final state."""
        if self.before is None:
            self.audit()
        return list(self.final().exclude_list)

    # -- planning ---------------------------------------------------------------------
    def _refusal(self, check_id: str, option_id: str, actions: tuple[Action, ...]) -> str | None:
        """The lock-out rules of the check (its optional `refusal`) for this session's login,
        on top of what the check's own plan refuses."""
        hook = registry.get(check_id).refusal
        return hook(self.latest.facts, option_id, actions, self.context()) if hook else None

    def preview(self, check_id: str, option_id: str) -> Preview:
        """The exact changes of one choice (diffs and commands) and whether it is refused."""
        if not registry.is_check(check_id):
            raise UsageError(f"unknown check id {check_id!r}")
        facts = self.latest.facts
        refusal: str | None = None
        try:
            actions = registry.get(check_id).plan(facts, option_id, self.context())
        except PlanRefused as exc:
            actions, refusal = (), str(exc)
        refusal = refusal or self._refusal(check_id, option_id, actions)
        unchanged = "" if actions or refusal else self._unchanged(check_id, option_id)
        if refusal is not None:
            text = refusal + "\n"
        else:
            text = self._render(actions) or f"({unchanged})\n"
        # The diff may quote a secret (a token in an sshd_config comment): the TUI, the dry-run
        # and the report's diff summaries all show this text, so it is masked here, once.
        text = scrub(text)
        return Preview(
            check_id=check_id,
            option_id=option_id,
            actions=actions,
            text=text,
            refusal=refusal,
            irreversible=any(not a.reversible for a in actions),
            phase=max((a.phase for a in actions), default=Phase.NORMAL),
            unchanged=unchanged,
        )

    def _unchanged(self, check_id: str, option_id: str) -> str:
        """Why an empty plan changes nothing: the check's own reason first, else its status.
        "Already compliant" only when the check passes."""
        latest = self.latest
        reason = checks.unchanged(check_id, latest.facts, option_id)
        if reason is not None and reason.unknown:
            return f"nothing to change — the state is unknown: {reason.reason}"
        if reason is not None:
            return f"nothing to change: this option changes nothing here because {reason.reason}"
        finding = next((f for f in latest.findings if f.id == check_id), None)
        if finding is None:
            return "nothing to change — the state is unknown: this check did not run"
        if finding.status in (Status.ERROR, Status.SKIP):
            return f"nothing to change — the state is unknown: {finding.summary}"
        if finding.status is Status.PASS:
            return "nothing to change: already compliant"
        word = {Status.FAIL: "a failure", Status.WARN: "a warning"}.get(
            finding.status, "informational"
        )
        return (
            f"nothing to change: keeps the current setting on purpose — still {word}: "
            f"{finding.summary}"
        )

    def _render(self, actions: tuple[Action, ...]) -> str:
        facts = self.latest.facts
        out: list[str] = []
        sshd = [s for s in actions if isinstance(s, SetSshd)]
        if sshd:
            texts = resolve_sshd(
                dict(facts.sshd_files), facts.sshd_main, facts.sshd_version or None, sshd
            )
            for path in sorted(texts):
                if texts[path] != facts.sshd_files.get(path):
                    old = facts.sshd_files.get(path)
                    out.append(
                        _diff(
                            path,
                            None if old is None else old.encode("utf-8", "surrogateescape"),
                            texts[path].encode("utf-8", "surrogateescape"),
                        )
                    )
            if facts.live:
                out.append("then: sshd -t; reload sshd; prove a NEW SSH login (else roll back)\n")
        writes = [a for a in actions if isinstance(a, WriteFile)]
        current = {}
        if writes:
            paths = [w.path for w in writes]
            try:
                current = backend_for(self.target).read(paths, paths)
            except WizardError as exc:
                out.append(f"(could not read the current files: {exc})\n")
        for a in actions:
            if isinstance(a, SetSshd):
                continue
            if isinstance(a, WriteFile):
                st = current.get(a.path)
                old = st.content if st is not None and st.kind == "file" else None
                out.append(f"# {a.describe()}\n" + _diff(a.path, old, a.content))
            elif isinstance(a, ExportExcludeList):
                out.append(f"# {a.describe()}\n" + "".join(f"{e}\n" for e in a.entries))
            else:
                out.append(f"# {a.describe()}\n")
        return "".join(out)

    # -- applying ---------------------------------------------------------------------
    def _journal_for(self) -> Journal:
        if self._journal is None:
            options = getattr(self.target, "options", None)
            meta = {
                "target": self.target.uri,
                "kind": self.target.kind,
                "root": self.target.root,
                "login_user": self.context().login_user,
                "identity": getattr(options, "identity", None),
                "known_hosts": getattr(options, "known_hosts", None),
            }
            self._journal = Journal.create(self.id, meta)
        return self._journal

    def other_sessions(self) -> list[str]:
        """Other interactive logins on a live target (their shells write history on exit)."""
        if not self.target.live:
            return []
        script = (
            b"who 2>/dev/null | sed 's/^/who: /'\n"
            b"for d in /proc/[0-9]*; do\n"
            b"  c=$(tr '\\000' ' ' < \"$d/cmdline\" 2>/dev/null) || continue\n"
            b'  case $c in "sshd: "*@pts*|"sshd-session: "*@pts*) echo "process: $c";; esac\n'
            b"done\n"
        )
        try:
            result = self.target.run_script(script)
        except WizardError:
            return []
        return [ln for ln in result.stdout.decode("utf-8", "replace").splitlines() if ln.strip()]

    def apply(
        self,
        choices: Mapping[str, str],
        *,
        confirm_irreversible: bool = False,
        progress: Callable[[str], None] | None = None,
        include_final: bool = True,
    ) -> ApplyOutcome:
        """Apply the choices in order: NORMAL actions check by check (sshd ones proven by a
        new login), then a re-probe to verify them, then — only if all that went well and
        `include_final` — the FINAL phase, then the history shred as the LAST command.
        Irreversible steps run only with `confirm_irreversible`. Re-probes at the end."""
        say = progress or (lambda _msg: None)
        # Before = the latest state: a second apply (the TUI applies one check at a time)
        # must start from what the first one left, its sshd drop-in included.
        before = self.after or self.before or self.audit()
        unknown = [c for c in choices if not registry.is_check(c)]
        if unknown:
            raise UsageError(f"unknown check id {unknown[0]!r}")
        # Choosing an option of an optional guideline that is off by default turns it on:
        # the re-probe then judges it (it would otherwise stay "not selected").
        chosen = [c for c in registry.off_by_default() if c in choices]
        if any(c not in self.config.selected for c in chosen):
            self.select(chosen)
        errors: list[str] = []
        warnings: list[str] = []
        results: dict[str, CheckResult] = {}
        planned: dict[str, tuple[Action, ...]] = {}
        for check_id in registry.ids():
            if check_id not in choices:
                continue
            pv = self.preview(check_id, choices[check_id])
            if pv.refusal is not None:
                results[check_id] = CheckResult(check_id, error=pv.refusal)
                continue
            if pv.irreversible and not confirm_irreversible:
                results[check_id] = CheckResult(
                    check_id,
                    error="not applied: it cannot be undone and was not confirmed "
                    "(--yes, or confirm in the wizard)",
                )
                continue
            planned[check_id] = pv.actions
        journal = self._journal_for()
        facts = before.facts
        applier = Applier(
            self.target,
            journal,
            sshd_main=facts.sshd_main,
            sshd_version=facts.sshd_version or None,
            sshd_files=facts.sshd_files,
            new_login=getattr(self.target, "try_new_login", None),
            progress=say,
        )

        def run_phase(phase: Phase) -> None:
            for check_id, actions in planned.items():
                mine = [
                    a for a in actions if a.phase == phase and not isinstance(a, ExportExcludeList)
                ]
                if not mine or (results.get(check_id) and results[check_id].error):
                    continue
                res = applier.apply(check_id, mine)
                prior = results.get(check_id)
                if prior is not None:
                    prior.done += res.done
                    prior.notes += res.notes
                    prior.left = res.left or prior.left
                    prior.error, prior.rolled_back = res.error, res.rolled_back
                else:
                    results[check_id] = res

        say("normal phase")
        run_phase(Phase.NORMAL)
        later = [a for acts in planned.values() for a in acts if a.phase > Phase.NORMAL]
        final_done = last_done = False
        if later and include_final:
            failed = [c for c, r in results.items() if r.error]
            verify = self._safe_audit(errors)
            still = [
                f.id
                for f in (verify.findings if verify else ())
                if f.id in planned
                and f.status is Status.FAIL
                and not any(a.phase > Phase.NORMAL for a in planned[f.id])
            ]
            if verify is None:
                errors.append("final phase not started: the target could not be probed again")
            elif failed or still:
                errors.append(
                    "final phase not started: "
                    + ", ".join(failed + still)
                    + " must be fixed and verified first (host keys, authorized_keys, "
                    "credentials and histories are left as they are)"
                )
            else:
                others = self.other_sessions()
                if others:
                    warnings.append(
                        "other sessions are open on the instance — their shells write history "
                        "when they exit, after the shred: close them first ("
                        + "; ".join(others[:5])
                        + ")"
                    )
                warnings.append(FINAL_WARNING)
                say(FINAL_WARNING)
                run_phase(Phase.FINAL)
                final_done = True
                if not any(r.error for r in results.values()):
                    self._safe_audit(errors)  # the verification probe of the final state
                    if any(a.phase == Phase.LAST for acts in planned.values() for a in acts):
                        say("last command: shredding histories with history writing off")
                        run_phase(Phase.LAST)
                        last_done = True
        elif later:
            warnings.append("final phase skipped (include_final is off)")
        if not final_done:
            self._safe_audit(errors)
        after = self._after_last(results) if last_done else self.after
        self.after = after
        exclude = self.final().exclude_list
        exclude_file: str | None = None
        exporter = next(
            (
                c
                for c, acts in planned.items()
                if any(isinstance(a, ExportExcludeList) for a in acts)
            ),
            None,
        )
        if exporter is not None:
            exclude_file = str(journal.write_text(EXCLUDE_FILE, "\n".join(exclude) + "\n"))
            results.setdefault(exporter, CheckResult(exporter)).done.append(
                f"wrote the exclude list ({len(exclude)} paths) to {exclude_file}"
            )
        outcomes = self._outcomes(choices, before, after, results)
        errors += [f"{o.check_id}: {o.error}" for o in outcomes if o.error]
        done = tuple(f"{o.check_id}: {d}" for o in outcomes for d in o.actions_done)
        self._event("applied", _applied_summary(outcomes, done, errors, final_done, last_done))
        return ApplyOutcome(
            session_id=self.id,
            checks=outcomes,
            actions_done=done,
            errors=tuple(errors),
            warnings=tuple(warnings),
            final_done=final_done,
            last_done=last_done,
            exclude_list=tuple(exclude),
            exclude_file=exclude_file,
            journal_dir=str(journal.dir),
            after=after,
        )

    def _safe_audit(self, errors: list[str]) -> AuditResult | None:
        """Probe again; a lost connection is reported, not raised (the journal is complete)."""
        self.after = None
        try:
            return self.audit()
        except WizardError as exc:
            errors.append(
                f"could not probe the target again — {exc}; undo with `ami-wizard undo {self.id}`"
            )
            return None

    def _after_last(self, results: Mapping[str, CheckResult]) -> AuditResult | None:
        """After the shred nothing more is sent: the histories still there are what the shred
        itself reported. Every check is judged again on those final facts (checks are pure),
        so findings derived from the histories — the bundle exclude list above all — say the
        same as the history check: one truth per report."""
        probe = self.after
        if probe is None:
            return None
        last = registry.last_command()  # its result lists the histories the shred left
        left = set(results[last].left) if last is not None and last in results else set()
        facts = dataclasses.replace(
            probe.facts, histories=tuple(h for h in probe.facts.histories if h.path in left)
        )
        findings = tuple(checks.run_checks(facts, [f.id for f in probe.findings]))
        return dataclasses.replace(probe, facts=facts, findings=findings)

    def _outcomes(
        self,
        choices: Mapping[str, str],
        before: AuditResult,
        after: AuditResult | None,
        results: Mapping[str, CheckResult],
    ) -> tuple[CheckOutcome, ...]:
        b: dict[str, Finding] = {f.id: f for f in before.findings}
        a: dict[str, Finding] = {f.id: f for f in after.findings} if after else {}
        out = []
        for check_id in registry.ids():
            if check_id not in choices:
                continue
            r = results.get(check_id, CheckResult(check_id))
            fb, fa = b.get(check_id), a.get(check_id)
            out.append(
                CheckOutcome(
                    check_id=check_id,
                    option_id=choices[check_id],
                    before=fb.status if fb else None,
                    after=fa.status if fa else None,
                    actions_done=tuple(r.done),
                    error=r.error,
                    rolled_back=r.rolled_back,
                    notes=tuple(r.notes),
                )
            )
        return tuple(out)

    def undo(self, *, force: bool = False, confirm: Confirm | None = None) -> UndoOutcome:
        outcome = undo_session(self.id, self.target, force=force, confirm=confirm)
        summary = f"{len(outcome.restored)} change(s) restored"
        if outcome.irreversible:
            summary += f", {len(outcome.irreversible)} step(s) could not be undone"
        if outcome.errors:
            summary += f", {len(outcome.errors)} error(s): " + "; ".join(outcome.errors[:3])
        self._event("undone", summary)
        return outcome


def _applied_summary(
    outcomes: tuple[CheckOutcome, ...],
    done: tuple[str, ...],
    errors: list[str],
    final_done: bool,
    last_done: bool,
) -> str:
    """One line for the report's event list: what an apply did, in numbers."""
    text = f"{len(done)} step(s) on {len(outcomes)} check(s)"
    if last_done:
        text += "; final phase ran, the history shred ran last"
    elif final_done:
        text += "; final phase ran"
    if errors:
        text += f"; {len(errors)} error(s)"
    return text


def recommended_choices(result: AuditResult) -> dict[str, str]:
    """The recommended option of every check that has one (per finding: a check may change it)."""
    entries = catalog()
    out: dict[str, str] = {}
    for f in result.findings:
        if f.id in entries and f.recommended:
            out[f.id] = f.recommended
    return out


def undo_session(
    session_id: str, target: Target, *, force: bool = False, confirm: Confirm | None = None
) -> UndoOutcome:
    """Restore every reversible change of a session on `target` (the same machine it ran on)."""
    journal = Journal.open(session_id)
    meta = journal.meta
    same = meta.get("kind") == target.kind and meta.get("target") == target.uri
    if target.kind in ("demo", "image"):
        same = same and meta.get("root") == target.root
    if not same:
        raise UsageError(
            f"session {session_id} was applied to {meta.get('target')} "
            f"({meta.get('root') or meta.get('kind')}), not to this target"
        )
    try:
        result = undo_journal(journal, target, force=force, confirm=confirm)
    except (UndoRefused, TargetBusy):
        raise  # one line that says why nothing was done
    except WizardError as exc:
        raise ApplyError(f"undo of {session_id} stopped — {exc}") from exc
    return UndoOutcome(
        session_id=session_id,
        restored=tuple(result.restored),
        errors=tuple(result.errors),
        irreversible=tuple(result.irreversible),
    )
