"""The finale's test-boot: offered for image targets, explained for live ones, and carried into
the exported report. The practice image has no systemd, so the finale must say what it cannot
prove instead of pretending to boot it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from rich.text import Text
from textual.widgets import Button, ProgressBar, Static

from screens.app import make_app
from screens.finale import FinaleScreen
from tests.integration import testimage
from tests.integration.conftest import require
from tests.tui.conftest import settle
from wizard.config import Config
from wizard.driver import TEST_BOOT_HOW, Driver
from wizard.targets import LocalTarget


def static_text(widget: Static) -> str:
    content = widget.render()
    return str(content.plain if isinstance(content, Text) else content)


async def test_practice_image_test_boot_says_what_cannot_be_proven(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    before = sorted(p.relative_to(practice_root) for p in practice_root.rglob("*"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        finale = app.screen
        assert isinstance(finale, FinaleScreen)
        assert finale.query_one("#test-boot-run", Button).display  # offered: an image target
        assert "systemd-nspawn" in static_text(finale.query_one("#testboot", Static))
        await pilot.press("t")
        await settle(pilot)
        shown = static_text(finale.query_one("#testboot", Static))
        assert shown.startswith("Not proven.")
        # Root and systemd-nspawn here or not, the practice image has no systemd to boot.
        assert "the image has no systemd" in shown
        assert "NOT proven" in shown and "launch-key login" in shown
        assert any("nothing was booted" in n.message for n in app._notifications)
        assert app.report_stale  # the report has something new to say
        # The exported report carries the same explanation in every format.
        out = practice_root.parent / "report"
        out.mkdir()
        app.export_report(str(out), None)
        await settle(pilot)
        data = json.loads((out / "ami-wizard-report.json").read_text())
        section = data["test_boot"]
        assert section["booted"] is False and section["findings"] == []
        assert section["target"] == f"image:{practice_root}"
        assert "the image has no systemd" in section["not_proven"]
        md = (out / "ami-wizard-report.md").read_text()
        assert "## Test-boot" in md and "**Not booted:**" in md
        assert "<h2>Test-boot</h2>" in (out / "ami-wizard-report.html").read_text()
    # Nothing was written into the image.
    assert sorted(p.relative_to(practice_root) for p in practice_root.rglob("*")) == before


async def test_report_without_a_test_boot_has_no_section(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        out = practice_root.parent / "report"
        out.mkdir()
        app.export_report(str(out), None)
        await settle(pilot)
        assert "test_boot" not in json.loads((out / "ami-wizard-report.json").read_text())


def test_a_live_target_is_explained_not_booted() -> None:
    """The machine the wizard runs on is live like an SSH target: no boot is offered, and the
    offer says how to test-boot its volume once the instance is stopped."""
    driver = Driver("local")
    driver.target = LocalTarget()
    offer = driver.test_boot_offer()
    assert offer.spec == "" and offer.how == TEST_BOOT_HOW
    for step in ("stop the instance", "mount", "ami-wizard test-boot image:/mnt/image"):
        assert step in offer.how


async def test_an_image_with_systemd_is_booted_from_the_finale(tmp_path: Path) -> None:
    """The real thing, kept short: the cached Debian test image (not prepared, so its own
    leftovers fail) booted twice from the finale; a second press meanwhile is refused."""
    tools = [t for t in ("systemd-nspawn", "ip", "nsenter") if shutil.which(t) is None]
    require(f"{tools[0]} is not installed" if tools else testimage.missing())
    root = tmp_path / "root"
    root.mkdir()
    tar = testimage.image(testimage.BASE)
    subprocess.run(["tar", "-xpf", str(tar), "--numeric-owner", "-C", str(root)], check=True)
    marker = tmp_path / "marker"
    marker.write_text("")
    app = make_app(f"image:{root}", config=Config(), save_recent=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        finale = app.screen
        assert isinstance(finale, FinaleScreen)
        await pilot.press("t")
        await pilot.pause()
        assert app.gate.busy and app.gate.doing == "test-booting the image"
        await pilot.press("t")  # pressed again while it boots
        await pilot.pause()
        assert any("busy: test-booting the image" in n.message for n in app._notifications)
        await settle(pilot)
        shown = static_text(finale.query_one("#testboot", Static))
        assert "Side by side" in shown and "machine-id" in shown
        for finding in ("launch-1/sshd", "launch-2/sshd", "launches/machine-id"):
            assert finding in shown
        run = app.driver.test_boot_run if app.driver else None
        assert run is not None and run.booted and len(run.launches) == 2
        # The engine's steps drove the progress bar: probe, two launches, judging; then done.
        bar = finale.query_one("#testboot-progress", ProgressBar)
        assert (bar.total, bar.progress, bar.display) == (4, 4, False)
        ids = [row["machine_id"] for row in run.launches]
        assert ids[0] and ids[1] and ids[0] != ids[1]
        status = {f.id: str(f.status) for f in run.findings}
        assert status["launch-1/sshd"] == "pass" and status["launches/machine-id"] == "pass"
        # The unprepared image still holds what a builder would leave: judged, not hidden.
        assert status["image/ssh-host-keys"] == "fail"
    newer = subprocess.run(
        ["find", str(root), "-newer", str(marker)], capture_output=True, text=True, check=True
    )
    assert newer.stdout == ""  # the boots never wrote the image
