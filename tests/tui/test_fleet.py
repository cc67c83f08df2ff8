"""The overview opens an inventory: the fleet table, then one target's findings (Pilot)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Static

from screens.app import make_app
from screens.fleet import FleetScreen, FleetTargetScreen
from screens.input_dialog import InputDialog
from screens.overview import OverviewScreen
from tests.integration.instance import free_port
from tests.tui.conftest import settle
from wizard.config import Config

SIZE = (140, 40)


async def test_overview_opens_an_inventory_and_drills_into_one(
    practice_root: Path, tmp_path: Path
) -> None:
    listed = tmp_path / "builders.txt"
    nobody = f"ssh://root@127.0.0.1:{free_port()}"  # nothing listens there
    listed.write_text(f"demo\ndemo\n{nobody}\n")
    app = make_app("demo", practice_root=str(practice_root), config=Config(), learn=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, InputDialog)
        app.screen.query_one(Input).value = str(listed)
        await pilot.press("enter")
        await pilot.pause()
        fleet = app.screen
        assert isinstance(fleet, FleetScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = fleet.query_one("#fleet-table", DataTable)
        assert table.row_count == 3
        rows = [table.get_row_at(i) for i in range(3)]
        assert [r[:2] for r in rows] == [
            ["demo", "done"],
            ["demo-2", "done"],
            [nobody, "unreachable"],
        ]
        assert "fail" in rows[0] and set(rows[2][2:]) == {"error"}
        assert "2 of 3 targets audited" in str(fleet.query_one("#fleet-status", Static).render())
        table.move_cursor(row=2)
        await pilot.press("enter")
        await pilot.pause()
        one = app.screen
        assert isinstance(one, FleetTargetScreen)
        title = str(one.query_one("#fleet-target-title", Static).render())
        assert "unreachable: cannot connect" in title and "connection refused" in title
        await pilot.press("escape")
        await pilot.pause()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await pilot.pause()
        findings = app.screen.query_one("#fleet-findings", DataTable)
        assert findings.row_count == len(rows[0]) - 2
