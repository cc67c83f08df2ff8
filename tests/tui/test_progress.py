"""Progress you can see: the overview's summary chart (words and counts beside the bar) and
an apply's determinate progress bar, driven by the engine's step events."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.text import Text
from textual.widgets import ProgressBar, Static

from screens.app import make_app
from screens.confirm_dialog import ConfirmDialog
from screens.guideline import GuidelineScreen
from screens.summary_chart import ORDER, shares, summary_chart
from tests.tui.conftest import settle
from wizard.model import Status


def static_text(widget: Static) -> str:
    content = widget.render()
    return str(content.plain if isinstance(content, Text) else content)


def test_shares_fill_the_width_and_show_every_status_present() -> None:
    for counts in (
        Counter({Status.PASS: 5, Status.FAIL: 8, Status.WARN: 1}),
        Counter({Status.PASS: 1}),
        Counter({s: 1 for s in ORDER}),
        Counter({Status.FAIL: 100, Status.INFO: 1}),
    ):
        cells = shares(counts, 24)
        assert sum(cells.values()) == 24
        assert all((cells[s] > 0) == (counts[s] > 0) for s in ORDER), cells
    assert sum(shares(Counter(), 24).values()) == 0


def test_chart_says_the_counts_in_words() -> None:
    from wizard.model import Finding, Severity

    findings = [
        Finding(id=f"x{n}", title="t", status=s, severity=Severity.LOW, summary="")
        for n, s in enumerate([Status.FAIL, Status.FAIL, Status.PASS, Status.ERROR])
    ]
    text = summary_chart(findings, width=12).plain
    assert text.startswith("Summary ") and text.endswith("2 fail, 1 err, 1 pass")
    assert text.count("█") == 12
    assert "waiting" in summary_chart(()).plain


async def test_overview_summary_and_apply_progress(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.result is not None
        fails = sum(1 for f in app.result.findings if f.status is Status.FAIL)
        summary = static_text(app.screen.query_one("#summary", Static))
        assert f"{fails} fail" in summary
        # while a probe holds the target the list shows a LoadingIndicator, not stale badges
        guidelines = app.screen.query_one("#guidelines")
        assert not guidelines.loading
        assert app.gate.claim("probing again")
        await pilot.pause(0.5)
        assert guidelines.loading
        app.gate.release()
        await pilot.pause(0.5)
        assert not guidelines.loading
        app.action_open_guideline("machine-id")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GuidelineScreen) and screen.preview is not None
        planned = len(screen.preview.actions) + 1
        await pilot.press("a")
        await pilot.pause()
        if isinstance(app.screen, ConfirmDialog):
            await pilot.press("y")
        await settle(pilot)
        bar = screen.query_one("#apply-progress", ProgressBar)
        assert bar.total is not None and bar.total >= planned  # determinate, from the plan
        assert 0 <= bar.progress < bar.total and not bar.display
        await pilot.press("escape")
        await settle(pilot)
        summary = static_text(app.screen.query_one("#summary", Static))
        assert f"{fails - 1} fail" in summary


async def test_final_phase_progress_is_one_step_per_final_check(practice_root: Path) -> None:
    from checks import registry
    from screens.finale import FinaleScreen

    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        finale = app.screen
        assert isinstance(finale, FinaleScreen)
        bar = finale.query_one("#final-progress", ProgressBar)
        assert not bar.display and bar.total is None
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"shred", "enter")
        await settle(pilot)
        assert finale.done
        # one step per final check, then the final probe; the bar went when it was done
        steps = len(registry.final_ids()) + 1
        assert (bar.total, bar.progress, bar.display) == (steps, steps - 2, False)
