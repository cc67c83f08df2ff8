"""Finale: the final phase in order (host keys, authorized_keys, credentials, then the
history shred as the very last command), the bundle exclude list, and the report export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Header, Label, Static

from checks.base import catalog
from screens.badges import badge
from screens.base import WizardScreen, letter
from screens.guideline import preview_text
from screens.input_dialog import InputDialog
from screens.messages import Applied, Audited, EngineFailed, Saved
from screens.typed_confirm_dialog import TypedConfirmDialog
from screens.workers import failing_as
from wizard.results import AuditResult
from wizard.session import Preview

if TYPE_CHECKING:
    pass

# The order of the final phase; the history shred is the last command of the session.
FINAL_ORDER = ("ssh-host-keys", "authorized-keys", "bundle-credentials", "shell-history")
LAST_CHECK = "shell-history"

WARNING = (
    "From here on, new SSH logins to this machine fail until the image boots again: its "
    "host keys and authorized_keys are gone. Close every other session first — a shell "
    "writes its history when it exits, and would undo the shred."
)


@dataclass
class FinaleLoaded(Message):
    last_preview: Preview | None
    others: list[str]


class FinaleScreen(WizardScreen):
    CSS_PATH = "finale.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="finale-back"),
        letter("y", "copy_excludes", "Copy excludes", id="copy-excludes"),
        letter("s", "save_excludes", "Save excludes", id="save-excludes"),
        letter("x", "run_last", "Run last command", id="run-last"),
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
            yield Label("Final phase, in order", classes="section")
            yield Static(id="phase")
            yield Static(Text(WARNING), id="warning")
            yield Label("Bundle exclude list (ec2-bundle-vol --exclude)", classes="section")
            yield Static(id="excludes")
            with Horizontal(classes="row"):
                yield Button("Copy", id="copy")
                yield Button("Save…", id="save")
            yield Label("The last command", classes="section")
            yield Static(Text("Working it out…"), id="last")
            yield Static(id="final-result")
        with Horizontal(id="finale-actions"):
            yield Button("Run final phase…", id="run", variant="error", disabled=True)
            yield Button("Export report…", id="export", variant="primary")
            yield Button("Back", id="back")
            yield Button("Quit", id="quit")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "result", self._result_changed)
        self.load()

    def _result_changed(self, result: AuditResult | None) -> None:
        if result is not None:
            self.show_result(result)

    def choice(self, check_id: str) -> str | None:
        return self.wizard.final_choices.get(check_id) or catalog()[check_id].recommended

    def show_result(self, result: AuditResult) -> None:
        findings = {f.id: f for f in result.findings}
        text = Text()
        for n, check_id in enumerate(FINAL_ORDER, 1):
            entry = catalog()[check_id]
            finding = findings.get(check_id)
            text.append(f"{n}. ")
            text.append_text(badge(finding.status if finding else None))
            text.append(f" {entry.title}")
            text.append(f"  → {self.choice(check_id)}", style="bold")
            if check_id == LAST_CHECK:
                text.append("  (the very last command)", style="italic")
            text.append("\n")
        self.query_one("#phase", Static).update(text)
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
            last = self.choice(LAST_CHECK)
            done = driver.finished
            preview = driver.preview(LAST_CHECK, last) if last and not done else None
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
            self.notify("nothing to run", severity="warning")
            return
        word = "shred"
        body = (
            WARNING
            + "\n\nIt runs, in order: "
            + ", ".join(f"{c} ({self.choice(c)})" for c in FINAL_ORDER)
        )

        def confirmed(ok: bool | None) -> None:
            if ok and self.wizard.run_on_target("running the final phase", self.run_final):
                self.query_one("#run", Button).disabled = True
                self.query_one("#final-result", Static).update(Text("Running the final phase…"))

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
        choices = {c: o for c in FINAL_ORDER if (o := self.choice(c))}
        outcome, result = driver.apply(choices, final=True, confirm_irreversible=True)
        self.post_message(Applied(choices, outcome, result, final=True))
        self.app.post_message(Audited(result, "verify"))

    @on(Applied)
    def _applied(self, message: Applied) -> None:
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
        for check_id in FINAL_ORDER:
            f = after.get(check_id)
            text.append(f"  {check_id}: ")
            text.append_text(badge(f.status if f else None))
            text.append("\n")
        if self.done:
            text.append(
                "Nothing more is sent to the target. Export the signed report (e), then stop "
                "the instance and create the image."
            )
        self.query_one("#final-result", Static).update(text)
        self.query_one("#run", Button).disabled = self.done
        self.show_excludes()  # what the final probe found, not what was there before
        self.notify("final phase done" if self.done else "final phase incomplete", title="finale")

    @on(EngineFailed)
    def _failed(self, message: EngineFailed) -> None:
        self.notify(message.message, title=f"{message.action} failed", severity="error")
        self.query_one("#run", Button).disabled = self.last_preview is None or self.done

    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        self.wizard.action_export()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.app.pop_screen()

    @on(Button.Pressed, "#quit")
    async def _quit(self) -> None:
        await self.wizard.action_quit()  # asks first when work would be left behind
