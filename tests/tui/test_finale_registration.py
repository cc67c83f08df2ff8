"""The finale says how to register and share the AMI: the IMDSv2 setting above all."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from screens.app import make_app
from screens.finale import FinaleScreen
from tests.tui.conftest import settle


async def test_the_finale_advises_imds_support_v2(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root), learn=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.action_finale()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FinaleScreen)
        content = screen.query_one("#registration", Static).render()
        text = content.plain if isinstance(content, Text) else str(content)
        assert "The AMI is registered to require IMDSv2" in text
        assert "aws ec2 register-image --name ... --imds-support v2.0" in text
        assert "aws ec2 modify-image-attribute" in text
        assert "The image says who publishes it" in text  # identify, the other registration input
