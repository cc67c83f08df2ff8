"""Overview: every guideline with its live status badge, grouped, with overall progress.

Enter (or a click) opens a guideline; r probes again; f goes to the finale.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from checks import INSTANCE_CHECKS
from checks.base import GROUPS, catalog
from screens.badges import DONE, GROUP_TITLES, badge
from wizard.engine import AuditResult
from wizard.model import Finding


class OverviewScreen(Screen[None]):
    CSS_PATH = "overview.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "app.reprobe", "Re-probe", id="reprobe"),
        Binding("f", "app.finale", "Finale", id="finale"),
        Binding("u", "app.undo", "Undo", id="undo"),
        Binding("e", "app.export", "Export", id="export"),
        Binding("c", "app.connect_other", "Connect", id="connect", show=False),
    ]

    def __init__(self, spec: str) -> None:
        super().__init__()
        self.spec = spec
        self.findings: dict[str, Finding] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="overview"):
            yield Static(Text(self._target_line(None)), id="target-line")
            with Horizontal(id="progress-row"):
                yield Label("Progress", id="progress-label")
                yield ProgressBar(total=len(INSTANCE_CHECKS), show_eta=False, id="progress")
            yield OptionList(id="guidelines")
            yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        guidelines = self.query_one("#guidelines", OptionList)
        guidelines.loading = True
        self._fill({})
        guidelines.focus()
        from screens.app import WizardApp

        if isinstance(self.app, WizardApp) and self.app.result is not None:
            self.show_result(self.app.result)

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
        """Called by the app after every probe: refresh badges, progress and the header."""
        self.findings = {f.id: f for f in result.findings}
        self.query_one("#target-line", Static).update(Text(self._target_line(result)))
        done = sum(1 for f in result.findings if f.status in DONE)
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=len(result.findings) or 1, progress=done)
        self.query_one("#progress-label", Label).update(
            f"{done}/{len(result.findings)} guidelines done"
        )
        guidelines = self.query_one("#guidelines", OptionList)
        highlighted = guidelines.highlighted
        self._fill(self.findings)
        guidelines.loading = False
        if highlighted is not None:
            guidelines.highlighted = highlighted
        self._show_detail()

    def _fill(self, findings: dict[str, Finding]) -> None:
        entries = catalog()
        guidelines = self.query_one("#guidelines", OptionList)
        guidelines.clear_options()
        items: list[Option] = []
        for group in GROUPS:
            ids = [i for i in INSTANCE_CHECKS if entries[i].group == group]
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
        finding = self.findings.get(check_id)
        detail.update(Text(finding.summary if finding else ""))

    @on(OptionList.OptionSelected, "#guidelines")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            from screens.app import WizardApp

            if isinstance(self.app, WizardApp):
                self.app.action_open_guideline(event.option.id)
