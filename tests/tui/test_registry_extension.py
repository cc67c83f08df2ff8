"""The TUI overview lists a throw-away guideline from a temp package, in its group, with its
status, and opens it, with no edit outside the guideline's own three files."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from screens.app import make_app
from screens.guideline import GuidelineScreen
from screens.overview import OverviewScreen
from tests.throwaway import TITLE, throwaway_check
from tests.tui.conftest import settle


async def test_overview_lists_and_opens_a_throwaway_check(
    practice_root: Path, tmp_path: Path
) -> None:
    with throwaway_check(tmp_path / "pkg") as check_id:
        app = make_app("demo", practice_root=str(practice_root), learn=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, OverviewScreen)
            options = screen.query_one("#guidelines", OptionList)
            prompt = str(options.get_option(check_id).prompt)
            assert prompt.startswith("[WARN]") and TITLE in prompt
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            assert ids.index(check_id) == ids.index("shell-history") + 1  # group traces
            options.highlighted = ids.index(check_id)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, GuidelineScreen)
            assert app.screen.check_id == check_id
