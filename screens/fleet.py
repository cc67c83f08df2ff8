"""The fleet table: every target of an inventory, one row each, one column per guideline;
Enter drills into one target's findings (or why it has none). The audit runs in a worker
through the driver; this screen only shows what it posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from wizard.driver import audit_inventory
from wizard.i18n import _
from wizard.secrets import clean_text
from wizard.targets.base import ConnectOptions


@dataclass
class FleetAudited(Message):
    """Every target of the inventory has an outcome (wizard.fleet.Outcome)."""

    outcomes: list[Any]


class FleetScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", _("Back"), id="fleet-back")
    ]

    def __init__(self, inventory: str, options: ConnectOptions) -> None:
        super().__init__()
        self.inventory = inventory
        self.options = options
        self.outcomes: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Auditing every target of {clean_text(self.inventory)}…", id="fleet-status")
        yield DataTable(id="fleet-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.audit_fleet()

    @work(thread=True, exclusive=True, group="fleet", exit_on_error=False)
    def audit_fleet(self) -> None:
        self.post_message(FleetAudited(audit_inventory(self.inventory, self.options)))

    @on(FleetAudited)
    def _audited(self, message: FleetAudited) -> None:
        self.outcomes = message.outcomes
        ids: list[str] = []
        for o in self.outcomes:
            if o.value is not None:
                ids = [f.id for f in o.value.findings]
                break
        table = self.query_one("#fleet-table", DataTable)
        table.clear(columns=True)
        table.add_columns("target", "state", *ids)
        for i, o in enumerate(self.outcomes):
            cells = {f.id: str(f.status) for f in o.value.findings} if o.value else {}
            table.add_row(
                clean_text(o.member.name),
                o.state,
                *(cells.get(c, "error") for c in ids),
                key=str(i),
            )
        done = sum(o.state == "done" for o in self.outcomes)
        self.query_one("#fleet-status", Static).update(
            f"{done} of {len(self.outcomes)} targets audited — Enter shows one"
        )
        table.focus()

    @on(DataTable.RowSelected, "#fleet-table")
    def _drill(self, event: DataTable.RowSelected) -> None:
        self.app.push_screen(FleetTargetScreen(self.outcomes[int(str(event.row_key.value))]))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "fleet" and event.state == WorkerState.ERROR:
            error = event.worker.error
            self.query_one("#fleet-status", Static).update(
                f"Cannot audit {clean_text(self.inventory)}: {clean_text(str(error))}"
            )


class FleetTargetScreen(Screen[None]):
    """One target of the fleet: its findings, or why it could not be audited."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", _("Back"), id="fleet-target-back")
    ]

    def __init__(self, outcome: Any) -> None:
        super().__init__()
        self.outcome = outcome

    def compose(self) -> ComposeResult:
        o = self.outcome
        yield Header()
        head = f"{clean_text(o.member.name)} — {o.state}"
        yield Static(
            head + (f": {clean_text(o.error)}" if o.error else ""), id="fleet-target-title"
        )
        table: DataTable[str] = DataTable(id="fleet-findings", cursor_type="row")
        table.add_columns("guideline", "status", "summary")
        for f in o.value.findings if o.value is not None else ():
            table.add_row(f.id, str(f.status), clean_text(f.summary))
        yield table
        yield Footer()
