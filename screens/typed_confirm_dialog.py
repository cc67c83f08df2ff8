"""The confirmation before a step that cannot be taken back: True only when the operator
types the expected word (Escape or Cancel is False).
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from wizard.i18n import _


class TypedConfirmDialog(ModalScreen[bool]):
    """Type the word to go ahead; the Run button stays off until it matches."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", _("Cancel"), id="confirm-cancel")
    ]

    def __init__(self, title: str, body: str, word: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.word = word

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.body, id="confirm-body")
            yield Label(f"Type {self.word} to go ahead:")
            yield Input(id="confirm-input", placeholder=self.word)
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Run it"), id="confirm", variant="error", disabled=True)
                yield Button(_("Cancel"), id="cancel", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#confirm-input", Input).focus()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.word

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if self.query_one("#confirm-input", Input).value == self.word:
            self.dismiss(True)
        else:
            self.notify(f"type {self.word} exactly, or press Escape", severity="warning")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
