"""The ami-wizard Textual app: a thin shell that opens a target and pushes the screens.

`make_app(...)` is the one way to build it, used by `ami-wizard`, `ami-wizard demo` and every
test. Blocking work (connect, probe) runs in thread workers that post typed messages; every
call that touches the target goes through one `TargetGate`, so no two ever interleave.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive, var
from textual.worker import Worker, WorkerState, get_current_worker

from screens.account import AccountCheckScreen
from screens.commands import WizardCommands
from screens.connect import ConnectScreen
from screens.finale import FinaleScreen
from screens.guideline import GuidelineScreen
from screens.host import WizardHost
from screens.host_key_dialog import HostKeyDialog
from screens.input_dialog import InputDialog
from screens.messages import (
    AccountAudited,
    AccountUnavailable,
    Audited,
    Connected,
    EngineFailed,
    HostKeyUnknown,
    RunbookLoaded,
    Saved,
    Undone,
)
from screens.overview import OverviewScreen
from screens.quit_dialog import QuitDialog
from screens.runbook import RunbookScreen
from screens.secret_dialog import SecretAnswer, SecretDialog
from screens.target_gate import TargetGate
from screens.typed_confirm_dialog import TypedConfirmDialog
from screens.workers import failing_as
from wizard.config import AwsConfig, Config, load_config, remember_recent
from wizard.driver import Driver
from wizard.errors import WizardError
from wizard.i18n import LANGUAGE_NAMES, _, set_language
from wizard.results import AuditResult
from wizard.targets.base import ConnectOptions, UnknownHostKeyError


class WizardApp(App[None]):
    """Holds the Driver (target + session) and the latest audit; screens do the showing."""

    CSS_PATH = "app.tcss"
    TITLE = "ami-wizard"
    COMMANDS: ClassVar = App.COMMANDS | {WizardCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", _("Quit"), id="quit", priority=True),
        Binding("f2", "toggle_learn", _("Learn"), id="learn"),
    ]

    learn: reactive[bool] = reactive(False)
    # The latest audit and the account chapter's one line: screens watch them (self.watch),
    # so every open screen shows a new result the moment it is set.
    result: var[AuditResult | None] = var(None, always_update=True)
    account_line: var[str] = var("", always_update=True)

    def __init__(
        self,
        target_spec: str | None,
        *,
        options: ConnectOptions | None = None,
        config: Config | None = None,
        learn: bool | None = None,
        practice_root: str | None = None,
        save_recent: bool = True,
    ) -> None:
        super().__init__()
        self.target_spec = target_spec
        self.connect_options = options or ConnectOptions()
        self.wizard_config = config
        self.practice_root = practice_root
        self.save_recent = save_recent
        self.driver: Driver | None = None
        # The operator's choices by check id; final-phase ones wait for the finale.
        self.choices: dict[str, str] = {}
        self.final_choices: dict[str, str] = {}
        self.verified: dict[str, str] = {}  # check id -> "fail → pass" after an apply
        self.gate = TargetGate()
        # Something changed the target since the report was last exported (or it never was).
        self.report_stale = False
        self._remember_secrets = False
        # The AWS account chapter: which profile/region to read (None until chosen, from the
        # config's aws: section or the dialog) and one line saying where the chapter stands.
        self.aws: AwsConfig | None = None
        self.account_missing_extra = False
        self.set_reactive(WizardApp.learn, target_spec == "demo" if learn is None else learn)

    # --- start-up ---------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.target_spec:
            self.open_target(self.target_spec)
        else:
            self.push_screen(ConnectScreen())

    def open_target(self, spec: str) -> None:
        """Start on `spec`: show the overview at once, connect and probe in a worker."""
        if self.driver is not None:
            self.close_target()
        options = replace(
            self.connect_options,
            passphrase_prompt=self.prompt_secret,
            sudo_password_prompt=self.prompt_secret,
        )
        self.driver = Driver(
            spec, options, self.wizard_config or Config(), practice_root=self.practice_root
        )
        self.result = None
        self.report_stale = False
        self.choices.clear()
        self.final_choices.clear()
        self.verified.clear()
        self.push_screen(OverviewScreen(spec))
        self.connect_and_audit()
        self.start_account_chapter()

    def close_target(self) -> None:
        """Close the connection (and remove a practice image we made). Safe to call twice."""
        driver, self.driver = self.driver, None
        if driver is not None:
            driver.close()

    def run_on_target(self, doing: str, call: Callable[[], None]) -> bool:
        """Start `call` (it touches the target) in a thread worker, or refuse with a
        notification when another such call is running: one at a time, never interleaved."""
        if not self.gate.claim(doing):
            self.notify_busy()
            return False

        def run() -> None:
            try:
                call()
            finally:
                self.gate.release()

        # An app worker: it is not cancelled (before it could release) when a screen closes.
        self.run_worker(run, name=doing, group="target", thread=True, exit_on_error=False)
        return True

    def notify_busy(self) -> None:
        self.notify(
            f"busy: {self.gate.doing or 'talking to the target'} … try again when it is done",
            severity="warning",
        )

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect_and_audit(self) -> None:
        driver = self.driver
        if driver is None:
            return
        with self.gate.waiting("connecting and probing") as got:
            if got:
                self._connect_and_audit(driver)

    @failing_as("connect")
    def _connect_and_audit(self, driver: Driver) -> None:
        try:
            if self.wizard_config is None:
                driver.config = load_config()
            target = driver.connect()
            self.post_message(Connected(target.uri, target.kind))
            result = driver.audit()
            if self._remember_secrets:
                driver.remember_secrets()
        except UnknownHostKeyError as exc:  # a question for the operator, not a failure
            self.post_message(HostKeyUnknown(exc.host, exc.key_type, exc.fingerprint))
            return
        if self.save_recent and not driver.is_practice:
            remember_recent(driver.spec)
        self.post_message(Audited(result, "audit"))

    @failing_as("re-probe")
    def reprobe(self) -> None:
        """Probe again (one round trip) and refresh every badge."""
        driver = self.driver
        if driver is None or driver.target is None:
            return
        self.post_message(Audited(driver.audit(), "re-probe"))

    # --- the AWS account chapter (read-only; independent of the target) ---------------

    @work(thread=True, exclusive=True, group="account", exit_on_error=False)
    def start_account_chapter(self) -> None:
        """Say how to enable the chapter without boto3; read the account at start only when
        the config file has an `aws:` section (otherwise the operator asks for it)."""
        driver = self.driver
        if driver is None:
            return
        hint = driver.aws_missing()
        if hint:
            self.post_message(AccountUnavailable(hint, missing_extra=True))
            return
        try:
            config = self.wizard_config or load_config()
        except WizardError as exc:
            self.post_message(AccountUnavailable(str(exc)))
            return
        if config.aws.configured:
            self.aws = config.aws
            self._read_account(driver, config.aws)

    @work(thread=True, exclusive=True, group="account", exit_on_error=False)
    def read_account(self, aws: AwsConfig) -> None:
        driver = self.driver
        if driver is not None:
            self._read_account(driver, aws)

    def _read_account(self, driver: Driver, aws: AwsConfig) -> None:
        hint = driver.aws_missing()
        if hint:
            self.post_message(AccountUnavailable(hint, missing_extra=True))
            return
        try:
            result = driver.audit_account(aws.profile, aws.region, self._account_progress)
        except WizardError as exc:
            self.post_message(AccountUnavailable(str(exc)))
            return
        self.post_message(AccountAudited(result))

    def _account_progress(self, what: str, done: int, total: int) -> None:
        """Called from the gatherer's threads while the regions are read."""
        line = f"reading the AWS account: {done} of {total} read ({what})…"
        self.call_from_thread(setattr, self, "account_line", line)

    @work(thread=True, exclusive=True, group="runbook", exit_on_error=False)
    def load_runbook(self, aws: AwsConfig) -> None:
        driver = self.driver
        if driver is None:
            return
        from checks.runbook import runbook

        hint = driver.aws_missing()
        if hint:
            self.post_message(RunbookLoaded(runbook(None), hint))
            return
        try:
            views = driver.runbook(aws.profile, aws.region)
        except WizardError as exc:
            self.post_message(RunbookLoaded(runbook(None), str(exc)))
            return
        self.post_message(RunbookLoaded(views))

    @on(AccountAudited)
    def _account_audited(self, message: AccountAudited) -> None:
        account = message.result.target.account or {}
        counts = message.result.summary.counts
        unread = f", {counts['error']} could not be read" if counts.get("error") else ""
        self.account_missing_extra = False
        self.account_line = (
            f"account {account.get('account_id', '?')} in "
            f"{_regions(account.get('regions') or account.get('region', '?'))}: "
            f"{counts.get('fail', 0)} fail, {counts.get('warn', 0)} warn{unread}"
        )

    @on(AccountUnavailable)
    def _account_unavailable(self, message: AccountUnavailable) -> None:
        self.account_missing_extra = message.missing_extra
        self.account_line = message.message
        if not message.missing_extra:
            self.notify(message.message, title=_("AWS account not read"), severity="error")

    @on(RunbookLoaded)
    def _runbook_loaded(self, message: RunbookLoaded) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, RunbookScreen):
                screen.show_runbook(message.views, message.error)

    def prompt_secret(self, label: str) -> str | None:
        """Ask for a passphrase or sudo password from a worker thread; None if declined."""
        answer: Future[SecretAnswer | None] = Future()
        self.call_from_thread(self.push_screen, SecretDialog(label), answer.set_result)
        worker = get_current_worker()
        while True:
            try:
                got = answer.result(timeout=0.2)
            except FutureTimeout:
                if worker.is_cancelled:
                    return None
                continue
            break
        if got is None:
            return None
        if got.remember:
            self._remember_secrets = True
        return got.value

    # --- results ----------------------------------------------------------------------

    @on(Connected)
    def _connected(self, message: Connected) -> None:
        self.sub_title = "practice instance" if message.kind == "demo" else message.uri

    @on(Audited)
    def _audited(self, message: Audited) -> None:
        self.result = message.result  # every screen watching it shows it
        if message.reason == "re-probe":
            self.notify(_("probed again: badges are up to date"), timeout=3)
        elif message.reason == "verify":
            self.report_stale = True  # an apply, undo or the final phase changed the target

    @on(HostKeyUnknown)
    def _host_key_unknown(self, message: HostKeyUnknown) -> None:
        def decided(accept: bool | None) -> None:
            if accept and self.driver is not None:
                self.driver.options = replace(self.driver.options, accept_new_host_key=True)
                self.connect_and_audit()
            else:
                self._back_to_connect("host key not accepted: not connected")

        self.push_screen(
            HostKeyDialog(message.host, message.key_type, message.fingerprint), decided
        )

    @on(EngineFailed)
    def _engine_failed(self, message: EngineFailed) -> None:
        if message.action == "connect":
            self._back_to_connect(message.message)
        else:
            self.notify(message.message, title=f"{message.action} failed", severity="error")

    def _back_to_connect(self, why: str) -> None:
        spec = self.driver.spec if self.driver else ""
        self.close_target()
        self.notify(why, title=_("not connected"), severity="error", timeout=10)
        while isinstance(self.screen, OverviewScreen) or self.screen.is_modal:
            self.pop_screen()
        if not isinstance(self.screen, ConnectScreen):
            self.push_screen(ConnectScreen(prefill=spec))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A WizardError became EngineFailed in the worker (screens/workers.py); anything else
        # is a bug, shown as one line instead of a traceback (with --debug the log has it).
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.log.error(f"worker {event.worker.name} failed: {error!r}")
            self.notify(
                f"{type(error).__name__}: {error}", title=_("unexpected error"), severity="error"
            )

    # --- actions ----------------------------------------------------------------------

    def _connected_or_warn(self) -> bool:
        if self.driver is None or self.result is None:
            self.notify(_("not connected yet: wait for the probe"), severity="warning")
            return False
        return True

    def _to_overview(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, OverviewScreen):
            self.pop_screen()

    def action_overview(self) -> None:
        self._to_overview()

    def action_open_guideline(self, check_id: str) -> None:
        if not self._connected_or_warn():
            return
        self._to_overview()
        self.push_screen(GuidelineScreen(check_id))

    def action_finale(self) -> None:
        if not self._connected_or_warn():
            return
        self._to_overview()
        self.push_screen(FinaleScreen())

    def action_open_account_check(self, check_id: str) -> None:
        if self.driver is None:
            return
        self._to_overview()
        self.push_screen(AccountCheckScreen(check_id))

    def action_runbook(self) -> None:
        if self.driver is None:
            return
        self._to_overview()
        self.push_screen(RunbookScreen())

    def action_read_account(self) -> None:
        """Read the account again with the chosen profile/region; ask for them the first time."""
        if self.driver is None:
            return
        if self.account_missing_extra:
            self.notify(self.account_line, title=_("account chapter off"), severity="warning")
            return
        if self.aws is None:
            self.action_choose_account()
            return
        self.account_line = "reading the AWS account…"
        self.read_account(self.aws)

    def action_choose_account(self) -> None:
        """Ask which AWS profile and region to read (standard credential chain)."""
        if self.account_missing_extra:
            self.notify(self.account_line, title=_("account chapter off"), severity="warning")
            return
        current = self.aws or AwsConfig()

        def chosen(answer: str | None) -> None:
            if answer is None:
                return
            words = answer.split()
            profile = words[0] if words and words[0] != "-" else None
            region = words[1] if len(words) > 1 else None
            self.aws = AwsConfig(profile=profile, region=region, configured=True)
            self.action_read_account()
            if isinstance(self.screen, RunbookScreen):
                self.load_runbook(self.aws)

        self.push_screen(
            InputDialog(
                "Read the AWS account",
                "AWS profile, then optionally a space and the region or regions, comma-"
                "separated ('-' for the default profile; no region: every enabled one). "
                "Credentials come from the standard AWS chain; the wizard only reads. "
                "To skip this question, add `aws: {profile: NAME, region: REGION}` to the "
                "config file.",
                " ".join(x for x in (current.profile or "-", current.region or "") if x),
            ),
            chosen,
        )

    def action_open_inventory(self) -> None:
        """Audit every target of an inventory and show the fleet table (screens.fleet)."""
        from screens.fleet import FleetScreen

        def chosen(path: str | None) -> None:
            if path and path.strip():
                self.push_screen(FleetScreen(path.strip(), self.connect_options))

        self.push_screen(
            InputDialog(
                "Open an inventory",
                "An ami-wizard inventory (schema ami-wizard/inventory/v1), an Ansible "
                "inventory, or a .txt file with one target a line.",
            ),
            chosen,
        )

    def action_load_runbook(self) -> None:
        """Read the runbook's live data; the first time, ask which account to read."""
        if self.driver is None:
            return
        if self.aws is None and not self.account_missing_extra:
            self.action_choose_account()
            return
        self.load_runbook(self.aws or AwsConfig())

    def action_reprobe(self) -> None:
        if self._connected_or_warn():
            self.run_on_target("probing again", self.reprobe)

    def action_connect_other(self) -> None:
        self._back_to_connect("disconnected")

    def action_undo(self) -> None:
        if not self._connected_or_warn():
            return
        if self.gate.busy:
            self.notify_busy()
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.run_on_target("undoing the session", self.undo_session)

        self.push_screen(
            TypedConfirmDialog(
                "Undo this session",
                "Every reversible change of this session is restored byte for byte, then the "
                "target is probed again. Irreversible steps (deleted keys, shredded history) "
                "stay done.",
                "undo",
            ),
            confirmed,
        )

    @failing_as("undo")
    def undo_session(self) -> None:
        driver = self.driver
        if driver is None:
            return
        outcome, result = driver.undo()
        self.choices.clear()
        self.verified.clear()
        self.post_message(Undone(outcome, result))

    @on(Undone)
    def _undone(self, message: Undone) -> None:
        if message.result is not None:
            self.post_message(Audited(message.result, "verify"))
        self.notify(_("the session's reversible changes were restored"), title=_("undo"))

    def action_export(self) -> None:
        if not self._connected_or_warn():
            return

        def chosen(answer: str | None) -> None:
            if answer:
                folder, _sep, key = answer.partition(" ")
                self.export_report(folder, key.strip() or None)

        self.push_screen(
            InputDialog(
                "Export the report",
                "Folder to write the report to, then optionally a space and the SSH private "
                "key to sign it with (or 'agent' for a key in ssh-agent):",
                ".",
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    @failing_as("export")
    def export_report(self, folder: str, key: str | None) -> None:
        driver = self.driver
        if driver is None:
            return
        # Not a call to the target, but it reads what an apply running now is changing:
        # the report waits for it and then says what it did.
        with self.gate.waiting("writing the report") as got:
            if not got:
                return
            paths = driver.export_report(
                folder, None if key in (None, "agent") else key, sign_agent=key == "agent"
            )
        self.post_message(Saved("report", paths))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        if message.what == "report":
            self.report_stale = False
        self.notify("\n".join(message.paths), title=f"{message.what} written", timeout=8)

    def action_set_language(self, lang: str) -> None:
        """The palette's "Language: ...": the whole UI in `lang` now (not saved in the config)."""
        set_language(lang)
        for screen in self.screen_stack:
            screen.refresh(recompose=True)
        if self.driver is not None and self.result is not None:
            self.action_reprobe()  # the findings' summaries are written by the checks
        self.notify(_("Language: {name}").format(name=LANGUAGE_NAMES[lang]), timeout=3)

    def action_toggle_learn(self) -> None:
        self.learn = not self.learn
        self.notify("learn mode on: fuller explanations" if self.learn else "learn mode off")

    async def action_quit(self) -> None:
        """ctrl+q, the palette's Quit: ask first when queued final steps or an unexported
        report would be left behind (a second ctrl+q while asking quits)."""
        question = unfinished_business(self)
        if question is None or isinstance(self.screen, QuitDialog):
            self.exit()
            return

        def decided(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit()

        self.push_screen(QuitDialog("Quit the wizard?", question, "Quit"), decided)

    def on_unmount(self) -> None:
        self.close_target()


def unfinished_business(app: WizardApp) -> str | None:
    """What quitting now would leave undone, as the question to ask; None when nothing."""
    driver = app.driver
    queued = 0 if driver is None or driver.finished else len(app.final_choices)
    stale = driver is not None and app.report_stale
    if not queued and not stale:
        return None
    parts = []
    if queued:
        parts.append(f"{queued} final step{'s are' if queued > 1 else ' is'} queued")
    if stale:
        parts.append("the report is not exported")
    return " and ".join(parts) + " — quit anyway?"


def make_app(
    target_spec: str | None,
    *,
    options: ConnectOptions | None = None,
    config: Config | None = None,
    learn: bool | None = None,
    practice_root: str | None = None,
    save_recent: bool = True,
) -> WizardApp:
    """Build the wizard. `target_spec` None opens the Connect screen; "demo" the practice
    instance (a fresh temp image, or `practice_root` when given: that dir is then kept)."""
    return WizardApp(
        target_spec,
        options=options,
        config=config,
        learn=learn,
        practice_root=practice_root,
        save_recent=save_recent,
    )


# The screens reach the app only through this protocol; mypy checks that the app keeps it.
_HOST: type[WizardHost] = WizardApp


def _regions(names: str) -> str:
    """The regions an account line names: up to three, then how many more."""
    parts = [p for p in names.split(",") if p]
    if len(parts) <= 3:
        return ", ".join(parts)
    return f"{', '.join(parts[:3])} and {len(parts) - 3} more regions"
