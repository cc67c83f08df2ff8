"""Fixtures for the wizard's TUI tests: a fixed practice image and the real-sshd fixtures.

The practice image is made in the test's temp dir and passed to `make_app(practice_root=…)`
so tests can look at its files after the wizard changed them.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.integration.conftest import (  # noqa: F401 - re-exported fixtures
    client_key,
    instance,
    known_hosts,
    ssh_options,
)
from wizard.demo import seed_practice_image


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (no asyncio plugin is needed for Pilot)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
    return True


@pytest.fixture
def practice_root(tmp_path: Path) -> Path:
    root = tmp_path / "practice"
    root.mkdir()
    return seed_practice_image(root)


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and their messages land before asserting."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
