"""What every wizard screen shares: typed access to the app (and through it, the driver)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:
    from screens.app import WizardApp


class WizardScreen(Screen[None]):
    """A full screen of the wizard."""

    @property
    def wizard(self) -> WizardApp:
        from screens.app import WizardApp

        assert isinstance(self.app, WizardApp)
        return self.app
