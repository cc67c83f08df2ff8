"""Overview: every guideline with its live status badge, grouped, with overall progress.

Enter (or a click) opens a guideline; r probes again; f goes to the finale. After the
instance groups comes the AWS account chapter: its checks, read live, and the runbook.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from checks import registry
from checks.account import ACCOUNT_CHECKS
from checks.base import GROUPS, catalog
from screens.badges import DONE, GROUP_TITLES, badge
from screens.base import WizardScreen, letter
from screens.summary_chart import summary_chart
from wizard.i18n import _
from wizard.model import Finding
from wizard.results import AuditResult

# The account chapter's own rows (not checks): choose/read the account, and the runbook.
READ_ACCOUNT = "account-read"
RUNBOOK = "account-runbook"


class OverviewScreen(WizardScreen):
    CSS_PATH = "overview.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        letter("r", "app.reprobe", "Re-probe", id="reprobe"),
        letter("f", "app.finale", "Finale", id="finale"),
        letter("u", "app.undo", "Undo", id="undo"),
        letter("e", "app.export", "Export", id="export"),
        letter("c", "app.connect_other", "Connect", id="connect", show=False),
        letter("a", "app.read_account", "AWS account", id="read-account", show=False),
        letter("i", "app.open_inventory", "Inventory", id="open-inventory", show=False),
    ]

    def __init__(self, spec: str) -> None:
        super().__init__()
        self.spec = spec
        self.findings: dict[str, Finding] = {}
        self.account: dict[str, Finding] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="overview"):
            yield Static(Text(self._target_line(None)), id="target-line")
            with Horizontal(id="progress-row"):
                yield Label(_("Progress"), id="progress-label")
                yield ProgressBar(total=len(registry.ids()), show_eta=False, id="progress")
            yield Static(summary_chart(()), id="summary")
            yield OptionList(id="guidelines")
            yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        guidelines = self.query_one("#guidelines", OptionList)
        guidelines.loading = True
        self._fill({})
        guidelines.focus()
        self.watch(self.app, "result", self._result_changed)
        self.watch(self.app, "account_line", self.show_account, init=False)
        self.set_interval(0.25, self._show_probing)

    def _show_probing(self) -> None:
        """A LoadingIndicator over the list while a probe holds the target (the first one,
        a re-probe, the verification after an apply): the badges are about to change."""
        gate = self.wizard.gate
        probing = self.wizard.result is None or (gate.busy and "prob" in gate.doing)
        guidelines = self.query_one("#guidelines", OptionList)
        if guidelines.loading != probing:
            guidelines.loading = probing

    def _result_changed(self, result: AuditResult | None) -> None:
        if result is not None:
            self.show_result(result)

    def _target_line(self, result: AuditResult | None) -> str:
        if self.spec == "demo":
            where = "practice instance (changes are real, but only to a throw-away image)"
        else:
            where = self.spec
        if result is None:
            return f"Connecting to {where} and probing…"
        t = result.target
        what = ", ".join(x for x in (t.hostname, t.os) if x)
        return f"{where} — {what}" if what else where

    def show_result(self, result: AuditResult) -> None:
        """After every probe (the app's `result` changed): badges, progress and the header."""
        self.findings = {f.id: f for f in result.findings}
        self.query_one("#target-line", Static).update(Text(self._target_line(result)))
        done = sum(1 for f in result.findings if f.status in DONE)
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=len(result.findings) or 1, progress=done)
        self.query_one("#progress-label", Label).update(
            _("{done}/{total} guidelines done").format(done=done, total=len(result.findings))
        )
        self.query_one("#summary", Static).update(summary_chart(result.findings))
        guidelines = self.query_one("#guidelines", OptionList)
        highlighted = guidelines.highlighted
        self._fill(self.findings)
        guidelines.loading = False
        if highlighted is not None:
            guidelines.highlighted = highlighted
        self._show_detail()

    def show_account(self) -> None:
        """When the AWS account was (re)read, or could not be (the app's `account_line`)."""
        driver = self.wizard.driver
        result = driver.account if driver else None
        self.account = {f.id: f for f in result.findings} if result else {}
        guidelines = self.query_one("#guidelines", OptionList)
        highlighted = guidelines.highlighted
        self._fill(self.findings)
        if highlighted is not None:
            guidelines.highlighted = highlighted
        self._show_detail()

    def _account_line(self) -> str:
        return self.wizard.account_line

    def _account_options(self) -> list[Option]:
        entries = catalog()
        # once read, the row says which account it is; Enter still chooses another
        read = f"{self._account_line()} (Enter: another)" if self.account else ""
        items = [
            Option(Text(GROUP_TITLES["account"], style="bold underline"), disabled=True),
            Option(
                Text.assemble(
                    ("[ >> ]", "bold"), " ", read or "Read the AWS account (profile, region)…"
                ),
                id=READ_ACCOUNT,
            ),
        ]
        for check_id in ACCOUNT_CHECKS:
            finding = self.account.get(check_id)
            prompt = Text.assemble(
                badge(finding.status if finding else None), " ", entries[check_id].title
            )
            items.append(Option(prompt, id=check_id))
        items.append(
            Option(
                Text.assemble(("[ !! ]", "bold"), " ", entries[RUNBOOK].title, " (runbook)"),
                id=RUNBOOK,
            )
        )
        return items

    def _fill(self, findings: dict[str, Finding]) -> None:
        entries = catalog()
        guidelines = self.query_one("#guidelines", OptionList)
        guidelines.clear_options()
        items: list[Option] = []
        for group in GROUPS:
            ids = registry.by_group(group)
            if not ids:
                continue
            items.append(
                Option(Text(GROUP_TITLES.get(group, group), style="bold underline"), disabled=True)
            )
            for check_id in ids:
                finding = findings.get(check_id)
                title = entries[check_id].title
                prompt = Text.assemble(badge(finding.status if finding else None), " ", title)
                items.append(Option(prompt, id=check_id))
        items += self._account_options()
        guidelines.add_options(items)
        if guidelines.highlighted is None:
            guidelines.action_first()

    @on(OptionList.OptionHighlighted, "#guidelines")
    def _show_detail(self) -> None:
        guidelines = self.query_one("#guidelines", OptionList)
        detail = self.query_one("#detail", Static)
        index = guidelines.highlighted
        if index is None:
            detail.update("")
            return
        check_id = guidelines.get_option_at_index(index).id or ""
        if check_id == READ_ACCOUNT:
            detail.update(Text(self._account_line() or "Not read yet: Enter to choose an account"))
            return
        if check_id == RUNBOOK:
            detail.update(Text("What to do, in order, if the account has been compromised"))
            return
        finding = self.findings.get(check_id) or self.account.get(check_id)
        if finding is None and check_id in ACCOUNT_CHECKS:
            detail.update(Text(self._account_line() or "the AWS account has not been read yet"))
            return
        detail.update(Text(finding.summary if finding else ""))

    @on(OptionList.OptionSelected, "#guidelines")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            if event.option.id == READ_ACCOUNT:
                self.wizard.action_choose_account()
            elif event.option.id == RUNBOOK:
                self.wizard.action_runbook()
            elif event.option.id in ACCOUNT_CHECKS:
                self.wizard.action_open_account_check(event.option.id)
            else:
                self.wizard.action_open_guideline(event.option.id)
