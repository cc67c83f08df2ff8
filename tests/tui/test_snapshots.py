"""Snapshots of the main screens at 80x24 and 120x36 (SVGs under tests/tui/__snapshots__/).

The practice image is seeded fresh for each test; these screens show none of its random key
material, so the pictures are the same on every run. Update after a deliberate change with
`.venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update` and review the SVG diff.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from screens.app import WizardApp, make_app
from tests.tui.conftest import settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]
SnapCompare = Callable[..., bool]


def _demo(practice_root: Path) -> WizardApp:
    return make_app("demo", practice_root=str(practice_root), learn=False)


@pytest.mark.parametrize("size", SIZES)
def test_overview(snap_compare: SnapCompare, practice_root: Path, size: tuple[int, int]) -> None:
    assert snap_compare(_demo(practice_root), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_guideline_use_dns(
    snap_compare: SnapCompare, practice_root: Path, size: tuple[int, int]
) -> None:
    async def open_it(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, WizardApp)
        app.action_open_guideline("ssh-use-dns")
        await settle(pilot)

    assert snap_compare(_demo(practice_root), terminal_size=size, run_before=open_it)


@pytest.mark.parametrize("size", SIZES)
def test_finale(snap_compare: SnapCompare, practice_root: Path, size: tuple[int, int]) -> None:
    async def open_it(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)

    assert snap_compare(_demo(practice_root), terminal_size=size, run_before=open_it)


@pytest.mark.parametrize("size", SIZES)
def test_connect(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def steady(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(make_app(None), terminal_size=size, run_before=steady)
