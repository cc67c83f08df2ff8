"""Ask for a key passphrase or a sudo password, with "remember in keyring".

The answer goes straight back to the waiting worker; it is never logged or shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label

from wizard.i18n import _


@dataclass(frozen=True)
class SecretAnswer:
    value: str
    remember: bool

    def __repr__(self) -> str:  # never let the secret reach a log line
        return f"SecretAnswer(value=***, remember={self.remember})"


class SecretDialog(ModalScreen[SecretAnswer | None]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", _("Cancel"), id="secret-cancel")
    ]

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.label[:1].upper() + self.label[1:], classes="dialog-title")
            yield Input(password=True, id="secret", placeholder="type it, then Enter")
            yield Checkbox("Remember in the keyring", id="remember")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("OK"), id="ok", variant="primary")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#secret", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        value = self.query_one("#secret", Input).value
        if not value:
            self.dismiss(None)
            return
        self.dismiss(SecretAnswer(value, self.query_one("#remember", Checkbox).value))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
