"""Connect: choose what to prepare — a recent target, an ~/.ssh/config alias, this machine,
a mounted image, or the practice instance — or type any target the CLI accepts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from screens.base import WizardScreen
from wizard.config import recent_targets
from wizard.driver import ssh_aliases
from wizard.i18n import _

HELP = (
    "ssh://user@host[:port], user@host or an ssh config alias; local (this machine); "
    "image:/mnt/volume (a mounted root volume); demo (the practice instance)"
)


@dataclass
class Suggestions(Message):
    recent: list[str]
    aliases: list[str]


class ConnectScreen(WizardScreen):
    CSS_PATH = "connect.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+d", "demo", _("Practice"), id="connect-demo"),
    ]

    def __init__(self, prefill: str = "") -> None:
        super().__init__()
        self.prefill = prefill

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="connect"):
            yield Label(_("Which machine do you want to prepare for sharing?"), id="connect-title")
            yield Input(self.prefill, placeholder="target, e.g. ubuntu@203.0.113.10", id="target")
            yield Static(Text(HELP), id="connect-help")
            yield OptionList(id="suggestions")
        yield Footer()

    def on_mount(self) -> None:
        self._fill([], [])
        self.query_one("#target", Input).focus()
        self.load_suggestions()

    @work(thread=True, exclusive=True, group="suggestions", exit_on_error=False)
    def load_suggestions(self) -> None:
        self.post_message(Suggestions(recent_targets(), ssh_aliases()))

    @on(Suggestions)
    def _suggestions(self, message: Suggestions) -> None:
        self._fill(message.recent, message.aliases)

    def _fill(self, recent: list[str], aliases: list[str]) -> None:
        options = self.query_one("#suggestions", OptionList)
        options.clear_options()
        items: list[Option | None] = [
            Option(Text("demo      the practice instance (safe to break)"), id="demo"),
            Option(Text("local     this machine"), id="local"),
        ]
        seen = {"demo", "local"}
        if recent:
            items.append(None)
            for spec in recent:
                if spec not in seen:
                    seen.add(spec)
                    items.append(Option(Text(f"recent    {spec}"), id=spec))
        if aliases:
            items.append(None)
            for alias in aliases:
                if alias not in seen:
                    seen.add(alias)
                    items.append(Option(Text(f"ssh alias {alias}"), id=alias))
        options.add_options(items)

    @on(OptionList.OptionSelected, "#suggestions")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self._go(event.option.id)

    @on(Input.Submitted, "#target")
    def _typed(self, event: Input.Submitted) -> None:
        spec = event.value.strip()
        if not spec:
            self.notify(_("type a target, or pick one from the list"), severity="warning")
            return
        self._go(spec)

    def action_demo(self) -> None:
        self._go("demo")

    def _go(self, spec: str) -> None:
        self.wizard.open_target(spec)
