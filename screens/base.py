"""What every wizard screen shares: typed access to the app (`screens.host.WizardHost`, and
through it the driver), and
the one rule for the keyboard: a letter key never acts while a text field has the focus.

Every binding on a printable key is made with `letter(...)`: its action goes through
`key(...)`, which `check_action` turns off while an Input or TextArea has the focus. So a
letter typed into the operator's note is only ever text — it cannot apply a fix or move on —
and the footer hides those keys meanwhile, so the screen shows which keys act. Escape leaves
the text field (back to the screen's keys) on screens whose Escape binding is `back`.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, TextArea

from screens.host import WizardHost

TEXT_FIELDS = (Input, TextArea)


def letter(key: str, action: str, description: str = "", *, id: str, show: bool = True) -> Binding:
    """A binding on a printable key: it acts only while no text field has the focus."""
    return Binding(key, f"key({action!r})", description, id=id, show=show)


class WizardScreen(Screen[None]):
    """A full screen of the wizard."""

    @property
    def wizard(self) -> WizardHost:
        """The app hosting this screen, as the screens may use it (screens/host.py)."""
        app = self.app
        assert isinstance(app, WizardHost)
        return app

    @property
    def typing(self) -> bool:
        """A text field has the focus: printable keys are text, not commands."""
        return isinstance(self.focused, TEXT_FIELDS)

    def check_action(self, action: str, _parameters: tuple[object, ...]) -> bool | None:
        return not (action == "key" and self.typing)

    async def action_key(self, action: str) -> None:
        """Run the action a letter key stands for (reached only when not typing)."""
        await self.run_action(action)

    def action_back(self) -> None:
        """Escape on a screen opened over another: out of a text field first, then back."""
        if self.typing:
            self.focus_keys()
        else:
            self.app.pop_screen()

    def focus_keys(self) -> None:
        """Give the focus back to the screen's own widgets (overridden per screen)."""
        first = next((w for w in self.focus_chain if not isinstance(w, TEXT_FIELDS)), None)
        self.set_focus(first)
