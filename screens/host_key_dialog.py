"""Ask the operator to vet the host key of a host not yet in known_hosts.

Returns True only when the operator accepts; the key is then recorded on reconnect.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from wizard.i18n import _


class HostKeyDialog(ModalScreen[bool]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "reject", _("Reject"), id="host-key-reject")
    ]

    def __init__(self, host: str, key_type: str, fingerprint: str) -> None:
        super().__init__()
        self.host = host
        self.key_type = key_type
        self.fingerprint = fingerprint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Unknown host key"), classes="dialog-title")
            yield Static(
                f"{self.host} is not in your known_hosts. It presented this key:\n\n"
                f"  {self.key_type}  {self.fingerprint}\n\n"
                "Compare the fingerprint with one you got another way (the EC2 console's "
                "system log, or the instance itself). Accept only if they match.",
                id="host-key-text",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Accept and remember"), id="accept", variant="warning")
                yield Button(_("Reject"), id="reject", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#reject", Button).focus()

    @on(Button.Pressed, "#accept")
    def _accept(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#reject")
    def action_reject(self) -> None:
        self.dismiss(False)
