"""Finale: the final phase in order (host keys, authorized_keys, credentials, then the
history shred as the very last command), the bundle exclude list, a test-boot of the image
(where the target is one we can boot: see Driver.test_boot_offer), and the report export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Header, Label, ProgressBar, Static

from checks import registry
from checks.base import catalog
from screens.badges import badge
from screens.base import WizardScreen, letter
from screens.guideline import preview_text
from screens.input_dialog import InputDialog
from screens.messages import (
    Applied,
    ApplyProgress,
    Audited,
    EngineFailed,
    Saved,
    TestBooted,
    TestBootProgress,
)
from screens.typed_confirm_dialog import TypedConfirmDialog
from screens.workers import failing_as
from wizard.i18n import _
from wizard.progress import ProgressEvent
from wizard.report_testboot import TestBootInput, side_by_side
from wizard.results import AuditResult
from wizard.session import Preview

if TYPE_CHECKING:
    pass


WARNING = (
    "From here on, new SSH logins to this machine fail until the image boots again: its "
    "host keys and authorized_keys are gone. Close every other session first — a shell "
    "writes its history when it exits, and would undo the shred."
)


TEST_BOOT_OFFER = (
    "Boot two throw-away copies of the image under systemd-nspawn, the way EC2 would launch "
    "it, and check each launch: first-boot units, sshd and the launch key, fresh host keys, "
    "machine-id and root password, and a reboot. The image itself is never written. Needs "
    "root and systemd-nspawn here, and systemd in the image."
)


def boot_outcome_text(run: TestBootInput) -> Text:
    """A test-boot's outcome: what is not proven, or the launches side by side and each
    finding (the image's, per launch, then compared)."""
    text = Text()
    if not run.booted:
        text.append("Not proven. ", style="bold yellow")
        text.append(run.not_proven)
        text.append("\nThe audit above still judged the image's files.", style="italic")
        return text
    rows = side_by_side(run.launches)
    if rows:
        text.append("Side by side\n", style="bold")
        width = max(len(label) for label, _value in rows)
        for label, values in rows:
            text.append(f"  {label:<{width}}  " + "  |  ".join(values) + "\n")
    for finding in run.findings:
        text.append_text(badge(finding.status))
        text.append(f" {finding.id}: ", style="bold")
        text.append(f"{finding.summary}\n")
    return text


# The guidelines whose advice is for the AMI's registration (catalog group), not the target.
REGISTRATION_GROUP = "identity"


def registration_text(result: AuditResult) -> Text:
    """What to do when registering and sharing the AMI: each identity guideline's finding
    with its evidence (the register-image options, the IMDSv2 setting, the product code)."""
    findings = {f.id: f for f in result.findings}
    text = Text()
    for check_id in registry.by_group(REGISTRATION_GROUP):
        finding = findings.get(check_id)
        if finding is None or finding.status.value == "skip":
            continue
        text.append_text(badge(finding.status))
        text.append(f" {catalog()[check_id].title}\n", style="bold")
        text.append(f"  {finding.summary}\n")
        for ev in finding.evidence:
            where = f"{ev.path}:{ev.line}" if ev.line else ev.path
            text.append(f"  {where} ", style="bold")
            text.append(f"{ev.detail}\n")
    return text


@dataclass
class FinaleLoaded(Message):
    last_preview: Preview | None
    others: list[str]


class FinaleScreen(WizardScreen):
    CSS_PATH = "finale.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _("Back"), id="finale-back"),
        letter("y", "copy_excludes", "Copy excludes", id="copy-excludes"),
        letter("s", "save_excludes", "Save excludes", id="save-excludes"),
        letter("x", "run_last", "Run last command", id="run-last"),
        letter("t", "test_boot", "Test-boot", id="test-boot"),
        letter("e", "app.export", "Export report", id="finale-export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.excludes: list[str] = []
        self.last_preview: Preview | None = None
        self.done = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="finale"):
            yield Label(_("Final phase, in order"), classes="section")
            yield Static(id="phase")
            yield Static(Text(WARNING), id="warning")
            yield Label(_("Bundle exclude list (ec2-bundle-vol --exclude)"), classes="section")
            yield Static(id="excludes")
            with Horizontal(classes="row"):
                yield Button(_("Copy"), id="copy")
                yield Button(_("Save…"), id="save")
            yield Label(_("The last command"), classes="section")
            yield Static(Text("Working it out…"), id="last")
            yield Static(id="final-result")
            yield ProgressBar(total=None, show_eta=False, id="final-progress")
            yield Label(_("Registering and sharing the image"), classes="section")
            yield Static(id="registration")
            yield Label(_("Test-boot the image"), classes="section")
            yield Static(id="testboot")
            yield ProgressBar(total=None, show_eta=False, id="testboot-progress")
            with Horizontal(classes="row"):
                yield Button(_("Test-boot…"), id="test-boot-run")
        with Horizontal(id="finale-actions"):
            yield Button(_("Run final phase…"), id="run", variant="error", disabled=True)
            yield Button(_("Export report…"), id="export", variant="primary")
            yield Button(_("Back"), id="back")
            yield Button(_("Quit"), id="quit")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#testboot-progress").display = False
        self.query_one("#final-progress").display = False
        self.watch(self.app, "result", self._result_changed)
        self.show_test_boot_offer()
        self.load()

    def _result_changed(self, result: AuditResult | None) -> None:
        if result is not None:
            self.show_result(result)

    def choice(self, check_id: str) -> str | None:
        return self.wizard.final_choices.get(check_id) or catalog()[check_id].recommended

    def show_result(self, result: AuditResult) -> None:
        findings = {f.id: f for f in result.findings}
        text = Text()
        for n, check_id in enumerate(registry.final_ids(), 1):
            entry = catalog()[check_id]
            finding = findings.get(check_id)
            text.append(f"{n}. ")
            text.append_text(badge(finding.status if finding else None))
            text.append(f" {entry.title}")
            text.append(f"  → {self.choice(check_id)}", style="bold")
            if check_id == registry.last_command():
                text.append("  (the very last command)", style="italic")
            text.append("\n")
        self.query_one("#phase", Static).update(text)
        self.query_one("#registration", Static).update(registration_text(result))
        self.show_excludes()

    def show_excludes(self) -> None:
        """The exclude list of the latest probe — after the final phase, the final one — read
        from the driver every time, never a copy kept from when the screen opened."""
        driver = self.wizard.driver
        if driver is None or driver.result is None:
            return  # not probed yet (the session would have to probe to answer)
        self.excludes = driver.exclude_list()
        self.query_one("#excludes", Static).update(Text("\n".join(self.excludes) or "(none)"))

    @work(thread=True, exclusive=True, group="finale", exit_on_error=False)
    @failing_as("finale")
    def load(self) -> None:
        driver = self.wizard.driver
        if driver is None:
            return
        with self.wizard.gate.waiting("reading the finale") as got:
            if not got:
                return
            last_check = registry.last_command()
            last = self.choice(last_check) if last_check else None
            done = driver.finished
            preview = driver.preview(last_check, last) if last_check and last and not done else None
            others = driver.other_sessions()
        self.post_message(FinaleLoaded(preview, others))

    @on(FinaleLoaded)
    def _loaded(self, message: FinaleLoaded) -> None:
        self.last_preview = message.last_preview
        self.show_excludes()
        last = self.query_one("#last", Static)
        run = self.query_one("#run", Button)
        if message.others:
            warning = Text(WARNING + "\n\nOpen now:\n")
            warning.append("\n".join(f"  {o}" for o in message.others), style="bold")
            self.query_one("#warning", Static).update(warning)
        if self.wizard.driver is not None and self.wizard.driver.finished:
            last.update(Text("The last command has run."))
            run.disabled = True
        elif message.last_preview is None:
            last.update(
                Text("No shell or REPL history was found: the last command has nothing to shred.")
            )
            run.disabled = True
        else:
            last.update(preview_text(message.last_preview))
            run.disabled = self.done

    @on(Button.Pressed, "#copy")
    def action_copy_excludes(self) -> None:
        self.app.copy_to_clipboard(",".join(self.excludes))
        self.notify(f"{len(self.excludes)} paths copied (comma-separated, as --exclude takes them)")

    @on(Button.Pressed, "#save")
    def action_save_excludes(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.save_excludes(path)

        self.app.push_screen(
            InputDialog(
                "Save the exclude list", "One path per line, to this file:", "excludes.txt"
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    @failing_as("save")
    def save_excludes(self, path: str) -> None:
        from wizard.driver import write_text

        write_text(path, "\n".join(self.excludes) + "\n")
        self.post_message(Saved("exclude list", [path]))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        self.notify(f"{message.what} saved: {', '.join(message.paths)}")

    @on(Button.Pressed, "#run")
    def action_run_last(self) -> None:
        if self.last_preview is None or self.done:
            self.notify(_("nothing to run"), severity="warning")
            return
        word = "shred"
        body = (
            WARNING
            + "\n\nIt runs, in order: "
            + ", ".join(f"{c} ({self.choice(c)})" for c in registry.final_ids())
        )

        def confirmed(ok: bool | None) -> None:
            if ok and self.wizard.run_on_target("running the final phase", self.run_final):
                self.query_one("#run", Button).disabled = True
                self.query_one("#final-result", Static).update(Text("Running the final phase…"))
                self.query_one("#final-progress", ProgressBar).update(total=None, progress=0)
                self.query_one("#final-progress").display = True

        if self.wizard.gate.busy:
            self.wizard.notify_busy()
            return
        self.app.push_screen(TypedConfirmDialog("Run the final phase", body, word), confirmed)

    @failing_as("final phase")
    def run_final(self) -> None:
        """The final phase, run by `run_on_target` in a thread (it holds the target)."""
        driver = self.wizard.driver
        if driver is None:
            return
        choices = {c: o for c in registry.final_ids() if (o := self.choice(c))}
        # One step per final check (the engine names the check in each action it starts),
        # then the final probe.
        order = list(choices)

        def progress(*args: Any, **_: Any) -> None:
            text = " ".join(str(a) for a in args)
            check_id = text.split(":", 1)[0]
            done = order.index(check_id) if check_id in order else 0
            self.post_message(ApplyProgress(text, done, len(order) + 1))

        outcome, result = driver.apply(
            choices, final=True, confirm_irreversible=True, progress=progress
        )
        self.post_message(Applied(choices, outcome, result, final=True))
        self.app.post_message(Audited(result, "verify"))

    @on(ApplyProgress)
    def _final_progress(self, message: ApplyProgress) -> None:
        if message.total and not self.done:
            bar = self.query_one("#final-progress", ProgressBar)
            bar.update(total=message.total, progress=message.done)
            self.query_one("#final-result", Static).update(Text(message.text))

    @on(Applied)
    def _applied(self, message: Applied) -> None:
        self.query_one("#final-progress").display = False
        outcome = message.outcome
        self.done = outcome.last_done
        assert message.result is not None
        after = {f.id: f for f in message.result.findings}
        if self.done and outcome.errors:
            text = Text("The last command ran, but not everything succeeded:\n", style="bold red")
        elif self.done:
            text = Text("Final phase done; the history shred ran last. Verified:\n", style="bold")
        else:
            text = Text("The final phase did not complete:\n", style="bold red")
        for error in outcome.errors:
            text.append(f"  {error}\n", style="red")
        for warning in outcome.warnings:
            text.append(f"  {warning}\n", style="yellow")
        for check_id in registry.final_ids():
            f = after.get(check_id)
            text.append(f"  {check_id}: ")
            text.append_text(badge(f.status if f else None))
            text.append("\n")
        if self.done:
            text.append(
                "Nothing more is sent to the target. Export the signed report (e), then stop "
                "the instance, create the image and register it as 'Registering and sharing "
                "the image' says (--imds-support v2.0)."
            )
        self.query_one("#final-result", Static).update(text)
        self.query_one("#run", Button).disabled = self.done
        self.show_excludes()  # what the final probe found, not what was there before
        self.notify(
            "final phase done" if self.done else "final phase incomplete", title=_("finale")
        )

    @on(EngineFailed)
    def _failed(self, message: EngineFailed) -> None:
        self.notify(message.message, title=f"{message.action} failed", severity="error")
        self.query_one("#final-progress").display = False
        if message.action == "test-boot":
            self.query_one("#testboot-progress").display = False
            self.query_one("#test-boot-run", Button).disabled = False
            self.show_test_boot_offer()  # not "Booting…" any more
        self.query_one("#run", Button).disabled = self.last_preview is None or self.done

    # --- test-boot: two throw-away launches of the image (wizard/testboot.py) -----------

    def show_test_boot_offer(self) -> None:
        """Offer the boot where the target is an image we can overlay; else say how."""
        driver = self.wizard.driver
        offer = driver.test_boot_offer() if driver is not None else None
        button = self.query_one("#test-boot-run", Button)
        if driver is not None and driver.test_boot_run is not None:
            self.show_test_boot(driver.test_boot_run)
        elif offer is not None and offer.spec:
            self.query_one("#testboot", Static).update(Text(TEST_BOOT_OFFER))
        else:
            self.query_one("#testboot", Static).update(Text(offer.how if offer else ""))
        button.display = offer is not None and bool(offer.spec)

    @on(Button.Pressed, "#test-boot-run")
    def action_test_boot(self) -> None:
        driver = self.wizard.driver
        if driver is None or not driver.test_boot_offer().spec:
            self.notify(_("this target cannot be test-booted from here"), severity="warning")
            return
        if self.wizard.run_on_target("test-booting the image", self.run_test_boot):
            self.query_one("#test-boot-run", Button).disabled = True
            self.query_one("#testboot-progress", ProgressBar).update(total=None, progress=0)
            self.query_one("#testboot-progress").display = True
            self.query_one("#testboot", Static).update(
                Text("Booting two throw-away launches of the image…")
            )

    @failing_as("test-boot")
    def run_test_boot(self) -> None:
        """The test-boot, run by `run_on_target` in a thread (it holds the target: an apply
        must not change the image while it boots)."""
        driver = self.wizard.driver
        if driver is None:
            return

        def progress(event: ProgressEvent) -> None:
            self.post_message(TestBootProgress(event))

        self.post_message(TestBooted(driver.test_boot(progress)))

    @on(TestBootProgress)
    def _test_boot_progress(self, message: TestBootProgress) -> None:
        event = message.event
        self.query_one("#testboot-progress", ProgressBar).update(
            total=event.total, progress=event.done
        )
        if event.text:
            step = f"Step {event.done + 1} of {event.total}: {event.text}…"
            self.query_one("#testboot", Static).update(Text(step))

    @on(TestBooted)
    def _test_booted(self, message: TestBooted) -> None:
        self.query_one("#testboot-progress").display = False
        self.wizard.report_stale = True  # the report now has a test_boot section to carry
        self.show_test_boot(message.run)
        self.query_one("#test-boot-run", Button).disabled = False
        failed = any(str(f.status) in ("fail", "error") for f in message.run.findings)
        if not message.run.booted:
            self.notify(_("nothing was booted: see what is not proven"), severity="warning")
        else:
            self.notify(
                "test-boot found problems" if failed else "test-boot passed",
                title=_("test-boot"),
                severity="error" if failed else "information",
            )

    def show_test_boot(self, run: TestBootInput) -> None:
        self.query_one("#testboot", Static).update(boot_outcome_text(run))

    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        self.wizard.action_export()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.app.pop_screen()

    @on(Button.Pressed, "#quit")
    async def _quit(self) -> None:
        await self.wizard.action_quit()  # asks first when work would be left behind
