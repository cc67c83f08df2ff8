"""The wizard's link to the engine: every blocking call the screens need, in one place.

Only the screens' worker threads call into this module (screens never do I/O themselves).
It opens the target and, through `wizard.session.Session`, audits, previews, applies,
verifies and undoes fixes, exports the report and writes the files the operator saves.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.aws import BOTO3_MISSING
from wizard.config import Config
from wizard.engine import open_target
from wizard.errors import TargetError, UsageError, WizardError
from wizard.fsutil import write_atomic
from wizard.results import AuditResult
from wizard.session import ApplyOutcome, FinalState, Preview, Session, UndoOutcome
from wizard.targets.base import ConnectOptions, Target

if TYPE_CHECKING:
    from checks.runbook import RunbookView
    from wizard.fleet import Outcome as FleetOutcome
    from wizard.inventory import FleetTarget
    from wizard.progress import ProgressFn
    from wizard.report import AccountInput, ReportInput
    from wizard.report_testboot import TestBootInput
    from wizard.ssh_keys import PassphraseCallback

log = logging.getLogger(__name__)


# How to test-boot what a live target becomes: it cannot be booted from here while it runs.
TEST_BOOT_HOW = (
    "A running machine cannot be test-booted from here. After the final phase: stop the "
    "instance; detach its root volume (or create a volume from a snapshot of it) and attach "
    "it to another Linux machine with systemd-nspawn; mount it, e.g. `sudo mount /dev/nvme1n1p1 "
    "/mnt/image`; then run `sudo ami-wizard test-boot image:/mnt/image` there. It boots two "
    "throw-away copies and never writes the volume; unmount it and attach it back before "
    "creating the image."
)


@dataclass(frozen=True)
class TestBootOffer:
    """What the finale can offer: boot `spec` (an image: target), or say `how` by hand."""

    __test__ = False  # not a pytest test class

    spec: str = ""  # image:/path to boot; "" when this target cannot be booted from here
    how: str = ""  # for a live target: how to test-boot its volume


@dataclass
class Driver:
    """One wizard run against one target: connection, audits, and (later) the fix session."""

    spec: str
    options: ConnectOptions = field(default_factory=ConnectOptions)
    config: Config = field(default_factory=Config)
    target: Target | None = None
    session: Session | None = None
    before: AuditResult | None = None  # the first audit: what the target was like
    result: AuditResult | None = None  # the latest audit
    practice_root: str | None = None  # a practice image made by the caller (kept on close)
    finished: bool = False  # the last command ran: nothing more may be sent to the target
    # For the report (write_reports below reads these): every ApplyOutcome in order,
    # and the preview shown for each check before it was applied.
    outcomes: list[ApplyOutcome] = field(default_factory=list)
    previews: dict[str, Preview] = field(default_factory=dict)
    # The operator's note per check id (typed on the guideline screen; the report keeps it).
    notes: dict[str, str] = field(default_factory=dict)
    # The AWS account chapter: the latest account audit (or why it failed), the runbook's
    # live data, and the runbook steps the operator ticked (step id -> done).
    account: AuditResult | None = None
    account_error: str = ""
    runbook_views: list[RunbookView] = field(default_factory=list)
    runbook_ticked: dict[str, bool] = field(default_factory=dict)
    # The latest test-boot of the image in this session (the report's test_boot section).
    test_boot_run: TestBootInput | None = None

    @property
    def is_practice(self) -> bool:
        return self.spec == "demo"

    def connect(self) -> Target:
        """Open the target (raises UnknownHostKeyError for a host the operator must vet)."""
        self.close()
        if self.is_practice and self.practice_root:
            from wizard.targets.image import ImageTarget

            self.target = ImageTarget(self.practice_root, kind="demo", uri="demo")
        else:
            self.target = open_target(self.spec, self.options)
        self.session = Session(self.target, self.config)
        return self.target

    def _session(self) -> Session:
        if self.session is None:
            raise WizardError("not connected")
        self._check_not_finished()
        return self.session

    def audit(self) -> AuditResult:
        """Probe the target once and run every check; the first result is kept as `before`."""
        result = self._session().audit()
        if self.before is None:
            self.before = result
        self.result = result
        return result

    def _check_not_finished(self) -> None:
        if self.finished:
            raise WizardError(
                "the last command has run: nothing more is sent to this target (that would "
                "write new traces); stop the instance and create the image"
            )

    def set_note(self, check_id: str, text: str) -> None:
        """The operator's note on a guideline, for the report; spaces folded, empty removes it."""
        note = " ".join(text.split())
        if note:
            self.notes[check_id] = note
        else:
            self.notes.pop(check_id, None)

    def input_values(self, check_id: str) -> dict[str, str]:
        """The operator's current value of each input of a check (config), "" when unset."""
        from checks import registry

        return {i.key: self.config.value(i.key) for i in registry.inputs(check_id)}

    def input_suggestions(self, check_id: str) -> dict[str, tuple[str, ...]]:
        """Good values for each input of a check, from the latest facts (first = default)."""
        from checks import registry

        facts = self.result.facts if self.result is not None else None
        if facts is None:
            return {}
        return {i.key: i.suggestions(facts) for i in registry.inputs(check_id)}

    def save_inputs(self, check_id: str, values: Mapping[str, str]) -> AuditResult:
        """Validate the operator's values for a check's inputs, write them to the config file
        (atomically) and judge the latest facts again with them. A bad value is a UsageError
        naming it, and nothing is written."""
        from checks import registry
        from wizard.config import save_values

        if self.result is None or self.session is None:
            raise WizardError("not connected yet: wait for the probe")
        clean = {k: " ".join(v.split()) for k, v in values.items()}
        problems = registry.input_problems(check_id, self.result.facts, clean)
        if problems:
            raise UsageError("; ".join(problems.values()))
        save_values(clean)
        # The session's config: it holds what this session turned on, too.
        self.config = self.session.config.with_values(clean)
        self.result = self.session.use_config(self.config)
        if self.session.after is None:
            self.before = self.result
        return self.result

    def select_optional(self, check_id: str, on: bool) -> AuditResult:
        """Turn an optional, off-by-default guideline on or off for this session and judge
        the latest facts again (nothing is probed, nothing written)."""
        from checks import registry

        if check_id not in registry.off_by_default():
            raise UsageError(f"{check_id} is not an optional guideline that is off by default")
        if self.session is None or self.result is None:
            raise WizardError("not connected yet: wait for the probe")
        self.result = self.session.select([check_id], on)
        self.config = self.session.config
        if self.session.after is None:
            self.before = self.result
        return self.result

    def remember_secrets(self) -> list[str]:
        """Store the passphrases / sudo password that worked in the keyring; returns names."""
        remember = getattr(self.target, "remember_secrets", None)
        return list(remember()) if callable(remember) else []

    def preview(self, check_id: str, option_id: str) -> Preview:
        """The session's exact preview of one choice (kept for the report's diff summaries)."""
        preview = self._session().preview(check_id, option_id)
        self.previews[check_id] = preview
        return preview

    def apply(
        self,
        choices: Mapping[str, str],
        *,
        final: bool = False,
        confirm_irreversible: bool = False,
        progress: Callable[..., None] | None = None,
    ) -> tuple[ApplyOutcome, AuditResult]:
        """Apply the choices, then probe again: the fresh result is the verification."""
        from wizard.sessions import store_report_input, target_lock

        session = self._session()
        with target_lock(session.target):  # another ami-wizard changing it: TargetBusy, one line
            outcome = session.apply(
                dict(choices),
                confirm_irreversible=confirm_irreversible,
                progress=progress,
                include_final=final,
            )
        self.outcomes.append(outcome)
        if outcome.journal_dir:  # `ami-wizard report SESSION_ID` can write this report again
            store_report_input(outcome.session_id, self.report_input())
        if outcome.last_done:
            self.finished = True
        # The session probed again itself (and after the last command it must not probe):
        # its result is the verification.
        result = outcome.after or session.latest
        self.result = result
        return outcome, result

    def undo(self) -> tuple[UndoOutcome, AuditResult]:
        outcome = self._session().undo()
        return outcome, self.audit()

    def other_sessions(self) -> list[str]:
        """Other interactive logins on a live target (their shells write history on exit)."""
        if self.session is None or self.finished:
            return []
        return list(self.session.other_sessions())

    @property
    def final(self) -> FinalState | None:
        """The session's final state (what the report says), or None before the first audit.
        Reads only what the session holds: safe after the last command."""
        if self.session is None or self.session.before is None:
            return None
        return self.session.final()

    def exclude_list(self) -> list[str]:
        """The exclude list of the final state: the same list the report and the exclude file
        carry (the finale re-reads it after the final phase)."""
        final = self.final
        return list(final.exclude_list) if final is not None else []

    def test_boot_offer(self) -> TestBootOffer:
        """Whether this target can be test-booted from here (an image or the practice image:
        a directory we can overlay), else how to do it by hand. Looks at nothing remote."""
        target = self.target
        if target is None:
            return TestBootOffer(how="not connected")
        if target.live:
            return TestBootOffer(how=TEST_BOOT_HOW)
        return TestBootOffer(spec=f"image:{target.root}")

    def test_boot(self, progress: ProgressFn | None = None) -> TestBootInput:
        """Boot throw-away launches of the image (wizard/testboot.py) and keep the outcome for
        the report. When this machine or the image cannot boot it, nothing is booted and the
        outcome says what is therefore not proven. The image itself is never written."""
        from wizard.report import utc_now
        from wizard.report_testboot import TestBootInput
        from wizard.testboot import Options, cannot_boot, from_result, test_boot
        from wizard.testboot_nspawn import BootError

        offer = self.test_boot_offer()
        if not offer.spec:
            raise UsageError(offer.how)
        why = cannot_boot(Path(offer.spec.removeprefix("image:")))
        if why:
            run = TestBootInput(offer.spec, utc_now(), not_proven=why)
        else:
            try:
                run = from_result(
                    test_boot(offer.spec, Options(config=self.config, progress=progress))
                )
            except BootError as exc:
                why = f"a launch did not boot ({exc}): nothing about the launches is proven"
                run = TestBootInput(offer.spec, utc_now(), not_proven=why)
        self.test_boot_run = run
        return run

    def report_input(self) -> ReportInput:
        """Everything the checklist report says, from the session's final state."""
        from wizard.report import ReportInput
        from wizard.session_report import from_session

        if self.session is not None and self.session.before is not None:
            inp = from_session(
                self.session, self.outcomes, notes=self.notes, previews=self.previews
            )
        elif self.before is not None:
            inp = ReportInput(before=self.before, notes=dict(self.notes))
        else:
            raise UsageError("nothing to report yet: the target has not been audited")
        return dataclasses.replace(inp, account=self.account_input(), test_boot=self.test_boot_run)

    def export_report(self, folder: str, sign_key: str | None, sign_agent: bool) -> list[str]:
        """Write the checklist report (JSON, Markdown, HTML), each signed when a key is given."""
        if self.result is None:
            raise WizardError("nothing to report yet: the target has not been audited")
        out = Path(os.path.expanduser(folder))
        if not out.is_dir():
            raise UsageError(f"{out} is not a directory")
        return write_reports(self, out, sign_key=sign_key, sign_agent=sign_agent)

    # --- the AWS account chapter (read-only; never needs the target) -------------------

    @staticmethod
    def aws_missing() -> str | None:
        """How to enable the account chapter when boto3 is not installed, else None."""
        try:
            import boto3  # noqa: F401 - only asking whether the optional extra is there
        except ImportError:
            return BOTO3_MISSING
        return None

    def audit_account(
        self,
        profile: str | None,
        region: str | None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> AuditResult:
        """Read the account (standard credential chain) and run every account check;
        `region`: one, a comma-separated list, or None (every enabled region)."""
        from wizard.engine import audit_account

        try:
            result = audit_account(f"aws:{profile or ''}", region, progress)
        except WizardError as exc:
            self.account_error = str(exc)
            raise
        except Exception as exc:  # botocore's own errors (no credentials, endpoint down...)
            self.account_error = _aws_reason(exc)
            raise TargetError(self.account_error) from exc
        self.account, self.account_error = result, ""
        return result

    def runbook(self, profile: str | None, region: str | None) -> list[RunbookView]:
        """The runbook's steps with live data (root keys, credential report, recent events)."""
        from checks.runbook import runbook
        from wizard.aws import gather_runbook, make_session, parse_regions

        try:
            facts = gather_runbook(make_session(profile, region), regions=parse_regions(region))
        except WizardError:
            raise
        except Exception as exc:
            raise TargetError(_aws_reason(exc)) from exc
        self.runbook_views = runbook(facts)
        return self.runbook_views

    def tick_runbook(self, step_id: str, done: bool) -> None:
        """Record that the operator did (or undid) one runbook step; the report keeps it."""
        from checks.runbook import runbook_steps

        if step_id not in {s.id for s in runbook_steps()}:
            raise UsageError(f"no runbook step {step_id!r}")
        self.runbook_ticked[step_id] = done

    def account_input(self) -> AccountInput | None:
        """The report's account section, or None when the chapter was never used."""
        from checks.runbook import runbook_steps
        from wizard.report import AccountInput, RunbookTick

        if self.account is None and not self.account_error and not self.runbook_ticked:
            return None
        ticks = tuple(
            RunbookTick(s.number, s.id, s.title, self.runbook_ticked.get(s.id, False))
            for s in runbook_steps()
        )
        return AccountInput(result=self.account, error=self.account_error, runbook=ticks)

    def close(self) -> None:
        """Close the connection; a practice image (a temp dir of ours) is removed."""
        target, self.target = self.target, None
        if target is None:
            return
        target.close()
        if self.is_practice and not self.practice_root:
            shutil.rmtree(target.root, ignore_errors=True)


def write_reports(
    driver: Driver,
    out: str | os.PathLike[str],
    sign_key: str | None = None,
    sign_agent: bool = False,
    passphrase_cb: PassphraseCallback | None = None,
) -> list[str]:
    """The wizard's export: all three formats as `ami-wizard-report.*`, from
    `Driver.report_input()` (the session's final state, the outcomes, notes and previews).
    With a key (or the agent) every file is signed into FILE.sig.
    """
    from wizard.report import build_report
    from wizard.report_files import write_report

    return write_report(
        build_report(driver.report_input()),
        Path(out) / "ami-wizard-report",
        sign_key=sign_key,
        sign_agent=sign_agent,
        passphrase_cb=passphrase_cb,
    )


def _aws_reason(exc: BaseException) -> str:
    from wizard.aws import reason

    return f"cannot read the AWS account: {reason(exc)}"


def write_text(path: str, text: str, mode: int = 0o644) -> None:
    """Write a file the operator asked for (the exclude list) atomically; errors are one line."""
    target = Path(os.path.expanduser(path))
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {target}: {target.parent} is not a directory")
    try:
        write_atomic(target, text, mode)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None


def ssh_aliases(ssh_config: str | None = None) -> list[str]:
    """Concrete Host names from ~/.ssh/config (patterns with * or ? are not targets)."""
    from wizard.targets.ssh import load_ssh_config

    try:
        config = load_ssh_config(ssh_config)
    except (OSError, WizardError) as exc:
        log.debug("ssh config unreadable: %s", exc)
        return []
    names = config.get_hostnames() if config is not None else set()
    return sorted(n for n in names if n and not any(c in n for c in "*?!"))


def audit_inventory(
    path: str, options: ConnectOptions, config: Config | None = None
) -> list[FleetOutcome[AuditResult]]:
    """The overview's fleet table: every target of an inventory (ours, Ansible's or a
    target list) audited as `ami-wizard audit --inventory` does it. Blocking: workers only."""
    from wizard import fleet, fleet_jobs
    from wizard.inventory import read_inventory, read_target_list, unique_names

    members = unique_names(
        read_target_list(path) if path.endswith(".txt") else read_inventory(path)
    )
    cfg = config or Config()
    timeout = fleet.DEFAULT_TARGET_TIMEOUT_S

    def job(member: FleetTarget, handle: fleet.Handle) -> AuditResult:
        return fleet_jobs.audit_member(member, handle, options, cfg, None, timeout)

    return fleet.run_fleet(members, job, fleet.default_jobs(), timeout)
