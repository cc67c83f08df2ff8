"""One AWS account check, read-only: the finding and its evidence, why it matters, and where
to fix it (console path, CLI command). The wizard never changes the account; r reads it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Static

from checks.account import ACCOUNT_CHECKS
from checks.base import catalog
from screens.badges import badge
from screens.base import WizardScreen, letter
from screens.guideline import NOTE_LABEL, NOTE_MAX, reflow, why_text
from wizard.i18n import _
from wizard.model import Finding, Status
from wizard.results import AuditResult

if TYPE_CHECKING:
    pass


class AccountCheckScreen(WizardScreen):
    CSS_PATH = "account.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _("Back"), id="account-back"),
        letter("r", "app.read_account", "Read again", id="account-reread"),
        letter("n", "next_check", "Next", id="account-next"),
        letter("t", "note", "Note", id="account-note"),
        letter("m", "matrix", "By region", id="account-matrix"),
    ]

    def __init__(self, check_id: str) -> None:
        super().__init__()
        self.check_id = check_id
        self.entry = catalog()[check_id]
        self.finding: Finding | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(id="heading")
            yield Static(id="state")
            yield Static(id="why")
            yield Static(id="fix")
            yield Label(NOTE_LABEL, classes="section")
            yield Input(
                id="note",
                placeholder="e.g. who fixes it and by when, or why it stays",
                max_length=NOTE_MAX,
            )
        with Horizontal(id="actions"):
            yield Button(_("Read the account again"), id="reread")
            yield Button(_("Back"), id="back")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "learn", self._learn_changed)
        driver = self.wizard.driver
        if driver is not None:
            self.query_one("#note", Input).value = driver.notes.get(self.check_id, "")
        self.watch(self.app, "account_line", self.show_account)
        self._show_fix()
        self.focus_keys()

    def focus_keys(self) -> None:
        # the keys (r, n, t, esc) belong to the screen until the operator goes into the note
        self.query_one("#reread", Button).focus()

    def action_note(self) -> None:
        self.query_one("#note", Input).focus()

    # --- showing ----------------------------------------------------------------------

    def show_account(self) -> None:
        """Whenever the account was (re)read, or could not be (the app's `account_line`)."""
        driver = self.wizard.driver
        result: AuditResult | None = driver.account if driver else None
        self.finding = (
            next((f for f in result.findings if f.id == self.check_id), None) if result else None
        )
        f = self.finding
        heading = Text.assemble(
            badge(f.status if f else None),
            " ",
            (self.entry.title, "bold"),
            f"   severity {self.entry.severity}",
            "  (optional measure)" if self.entry.optional else "",
        )
        self.query_one("#heading", Static).update(heading)
        state = Text()
        state.append("Now: ", style="bold")
        if f is not None:
            state.append(f.summary)
        else:
            state.append(self.wizard.account_line or "the account has not been read yet")
            if not self.wizard.account_missing_extra:
                state.append("  (press r to read it)", style="dim")
        for ev in f.evidence if f else ():
            where = f"{ev.path}:{ev.line}" if ev.line else ev.path
            state.append("\n  ")
            state.append(where, style="underline")
            if ev.detail:
                state.append("  " + ev.detail)
        per_region = result.matrix.get(self.check_id, {}) if result is not None else {}
        if per_region:
            state.append("\nBy region: ", style="bold")
            for n, (region, status) in enumerate(sorted(per_region.items())):
                state.append(", " if n else "")
                state.append(f"{region} ")
                state.append(badge(Status(status)))
        if result is not None:
            account = result.target.account or {}
            state.append(
                f"\n(account {account.get('account_id', '?')}, regions "
                f"{account.get('regions') or account.get('region', '?')}, read {result.started})",
                style="dim",
            )
        self.query_one("#state", Static).update(state)
        self._learn_changed(self.wizard.learn)

    def _learn_changed(self, learn: bool) -> None:
        source = f"seed {self.entry.seed}"
        self.query_one("#why", Static).update(why_text(self.entry, learn, source))

    def _show_fix(self) -> None:
        fix = Text()
        fix.append("How to fix it", style="bold")
        fix.append("  (the wizard does not change the account: do it yourself, then press r)\n")
        if self.entry.console:
            fix.append("Console: ", style="bold")
            fix.append(reflow(self.entry.console) + "\n")
        if self.entry.cli:
            fix.append("CLI: ", style="bold")
            fix.append(self.entry.cli, style="cyan")
        for option in self.entry.options:
            fix.append(f"\nTrade-off: {reflow(option.tradeoff)}", style="dim")
        self.query_one("#fix", Static).update(fix)

    # --- the operator's note -----------------------------------------------------------

    @on(Input.Changed, "#note")
    def _note_changed(self, event: Input.Changed) -> None:
        self.save_note(event.value)

    @on(Input.Submitted, "#note")
    def _note_submitted(self, event: Input.Submitted) -> None:
        self.save_note(event.value)  # the focus stays: what follows is still text

    def save_note(self, text: str) -> None:
        if self.wizard.driver is not None:
            self.wizard.driver.set_note(self.check_id, text)

    # --- actions ----------------------------------------------------------------------

    def action_next_check(self) -> None:
        ids = list(ACCOUNT_CHECKS)
        index = ids.index(self.check_id) if self.check_id in ids else len(ids)
        self.app.pop_screen()
        if index + 1 < len(ids):
            self.wizard.action_open_account_check(ids[index + 1])
        else:
            self.wizard.action_runbook()

    def action_matrix(self) -> None:
        self.app.push_screen(AccountMatrixScreen())

    @on(Button.Pressed, "#reread")
    def _reread(self) -> None:
        self.wizard.action_read_account()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.app.pop_screen()


class AccountMatrixScreen(WizardScreen):
    """The account as one table: a row per check, a column per region read (and "global"
    for the checks judged once), the account's verdict first. Enter opens the check."""

    CSS_PATH = "account.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _("Back"), id="matrix-back"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="matrix-heading")
        yield DataTable(id="matrix", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "account_line", self.show_matrix)

    def show_matrix(self) -> None:
        driver = self.wizard.driver
        result: AuditResult | None = driver.account if driver else None
        table = self.query_one("#matrix", DataTable)
        table.clear(columns=True)
        heading = self.query_one("#matrix-heading", Static)
        if result is None:
            heading.update(self.wizard.account_line or "the account has not been read yet")
            return
        regions = sorted({r for per in result.matrix.values() for r in per} - {"global"})
        columns = ["global", *regions]
        table.add_column("Check", key="check")
        table.add_column("Account", key="account")
        for col in columns:
            table.add_column(col, key=col)
        for f in result.findings:
            per = result.matrix.get(f.id, {})
            cells = [badge(Status(per[c])) if c in per else Text("·", style="dim") for c in columns]
            table.add_row(f.title, badge(f.status), *cells, key=f.id)
        heading.update(
            Text.assemble(("Account by region", "bold"), f"   {len(regions)} region(s) read")
        )
        table.focus()

    @on(DataTable.RowSelected, "#matrix")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.wizard.action_open_account_check(str(event.row_key.value))  # from the overview
