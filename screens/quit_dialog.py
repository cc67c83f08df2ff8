"""The "quit anyway?" question when queued final steps or an unexported report would be left."""

from __future__ import annotations

from screens.confirm_dialog import ConfirmDialog


class QuitDialog(ConfirmDialog):
    """Its own class, so ctrl+q on it quits (the app recognises it)."""
