"""The "compromised account" runbook: the seed's steps in order, each a checkbox the operator
ticks, with the account's live data (root keys, credential report, recent events) beside it.

The ticks live on the Driver, so the signed report says which steps were done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Footer, Header, Static

from checks.base import catalog
from checks.runbook import RunbookStep, RunbookView, runbook_steps
from screens.base import WizardScreen, letter
from screens.guideline import reflow
from wizard.i18n import _

if TYPE_CHECKING:
    pass

RUNBOOK_ID = "account-runbook"  # its catalog entry (title, why, learn)


class RunbookScreen(WizardScreen):
    CSS_PATH = "account.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _("Back"), id="runbook-back"),
        letter("r", "app.load_runbook", "Read live data", id="runbook-reread"),
        letter("e", "app.export", "Export", id="runbook-export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entry = catalog()[RUNBOOK_ID]
        self.steps: tuple[RunbookStep, ...] = runbook_steps()

    def compose(self) -> ComposeResult:
        ticked = self.wizard.driver.runbook_ticked if self.wizard.driver else {}
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(id="heading")
            yield Static(Text(reflow(self.entry.why)), id="why")
            yield Static("", id="live-status")
            for step in self.steps:
                with Vertical(classes="step"):
                    yield Checkbox(
                        f"{step.number}. {step.title}",
                        ticked.get(step.id, False),
                        id=f"step-{step.id}",
                    )
                    yield Static(self._step_text(step), classes="step-text")
                    live = Static("", id=f"live-{step.id}", classes="step-live")
                    live.display = False  # shown once there is live data for this step
                    yield live
        with Horizontal(id="actions"):
            yield Button(_("Read live data"), id="reread")
            yield Button(_("Back"), id="back")
        yield Footer()

    def on_mount(self) -> None:
        self._show_progress()
        driver = self.wizard.driver
        status = self.query_one("#live-status", Static)
        if driver is not None and driver.runbook_views:
            self.show_runbook(driver.runbook_views, "")
        elif self.wizard.aws is None:
            # reading AWS is the operator's decision: no call until an account is chosen
            hint = self.wizard.account_line if self.wizard.account_missing_extra else ""
            status.update(
                Text(hint or "Press r to read live data from the account.", style="bold yellow")
            )
        else:
            status.update(Text("Reading the account's live data…", style="dim"))
            self.wizard.action_load_runbook()
        self.query_one(Checkbox).focus()

    @staticmethod
    def _step_text(step: RunbookStep) -> Text:
        text = Text(reflow(step.action))
        if step.console:
            text.append("\nConsole: ", style="bold")
            text.append(step.console)
        return text

    def show_runbook(self, views: list[RunbookView], error: str) -> None:
        """Called by the app when the live data arrived (or could not be read)."""
        status = self.query_one("#live-status", Static)
        if error:
            status.update(Text(f"No live data: {error}", style="bold yellow"))
        else:
            status.update(Text("Live data from the account is shown under each step.", "dim"))
        for view in views:
            live = Text()
            for ev in view.evidence:
                live.append("  " + ev.path, style="underline")
                if ev.detail:
                    live.append("  " + ev.detail)
                live.append("\n")
            for why in view.errors:
                live.append(f"  could not read {why}\n", style="magenta")
            for note in view.notes:
                live.append(f"  {note}\n", style="dim")
            widget = self.query_one(f"#live-{view.step.id}", Static)
            widget.update(live)
            widget.display = bool(live)

    def _show_progress(self) -> None:
        driver = self.wizard.driver
        done = sum(driver.runbook_ticked.values()) if driver else 0
        self.query_one("#heading", Static).update(
            Text.assemble((self.entry.title, "bold"), f"   {done} of {len(self.steps)} steps done")
        )

    @on(Checkbox.Changed)
    def _ticked(self, event: Checkbox.Changed) -> None:
        driver = self.wizard.driver
        step_id = (event.checkbox.id or "").removeprefix("step-")
        if driver is not None and step_id:
            driver.tick_runbook(step_id, event.value)
        self._show_progress()

    @on(Button.Pressed, "#reread")
    def _reread(self) -> None:
        self.wizard.action_load_runbook()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.app.pop_screen()
