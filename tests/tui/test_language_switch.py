"""The palette's "Language: ..." switches the UI live: screens are composed again in the
new language (the test's own few Japanese strings stand in for wizard/locale/ja)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import Label

from screens.app import make_app
from tests.tui.conftest import settle
from wizard import i18n

STUB = Path(__file__).resolve().parents[1] / "i18n" / "locale"


async def test_switching_to_japanese_recomposes_the_overview(practice_root: Path) -> None:
    mp = pytest.MonkeyPatch()
    mp.setattr(i18n, "LOCALE_DIR", STUB)
    i18n.translations.cache_clear()
    try:
        app = make_app("demo", practice_root=str(practice_root))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            total = len(app.result.findings) if app.result else 0
            assert str(app.screen.query_one("#progress-label", Label).render()).endswith(
                f"/{total} guidelines done"
            )
            app.action_set_language("ja")
            await settle(pilot)
            label = str(app.screen.query_one("#progress-label", Label).render())
            assert label.startswith(f"ガイドライン {total} 件中 ") and label.endswith(" 件完了")
            # 11 kana/kanji take two cells each, digits and spaces one
            assert cell_len(label) == len(label) + 11
            app.action_set_language("en")
            await settle(pilot)
            assert "guidelines done" in str(app.screen.query_one("#progress-label", Label).render())
    finally:
        i18n.set_language("en")
        mp.undo()
        i18n.translations.cache_clear()
