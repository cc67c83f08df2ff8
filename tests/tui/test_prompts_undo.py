"""The wizard's gaps closed: the operator's note reaching the report, undo from the TUI (key
and palette) restoring the practice image byte for byte, NO_COLOR and 80x24 on every main
screen, and the passphrase / sudo password dialogs against the REAL sshd instance."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from rich.terminal_theme import SVG_EXPORT_THEME
from textual.containers import ScrollableContainer
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, OptionList, Static

from screens.app import WizardApp, make_app
from screens.connect import ConnectScreen
from screens.finale import FinaleScreen
from screens.guideline import GuidelineScreen
from screens.overview import OverviewScreen
from screens.secret_dialog import SecretDialog
from screens.typed_confirm_dialog import TypedConfirmDialog
from tests.conftest import MemoryKeyring
from tests.integration.conftest import ClientKey, require_sudo
from tests.integration.instance import Instance
from tests.tui.conftest import settle
from tests.tui.test_pilot import static_text
from wizard import keyring_store
from wizard.targets.base import ConnectOptions


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file, symlink and dir under root: its mode and bytes (a link's target)."""
    out: dict[str, tuple[int, bytes]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        st = path.lstat()
        if path.is_symlink():
            out[rel] = (st.st_mode, str(path.readlink()).encode())
        elif path.is_file():
            out[rel] = (st.st_mode, path.read_bytes())
        else:
            out[rel] = (st.st_mode, b"")
    return out


def status(app: WizardApp, check_id: str) -> str:
    assert app.result is not None
    return next(f.status.value for f in app.result.findings if f.id == check_id)


def overview_prompt(app: WizardApp, check_id: str) -> str:
    overview = next(s for s in app.screen_stack if isinstance(s, OverviewScreen))
    return str(overview.query_one("#guidelines", OptionList).get_option(check_id).prompt)


# --- the operator's note --------------------------------------------------------------


async def test_note_typed_on_the_guideline_screen_is_in_the_exported_report(
    practice_root: Path, tmp_path: Path
) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.action_open_guideline("ssh-use-dns")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GuidelineScreen)
        note = screen.query_one("#note", Input)
        note.focus()
        await pilot.press(*"no DNS in the build VPC, ticket OPS-42")
        # Tab gives the keys back to the screen: `a` applies (after y) instead of typing an "a".
        await pilot.press("tab", "a", "y")
        await settle(pilot)
        assert note.value == "no DNS in the build VPC, ticket OPS-42"
        assert "→ [PASS]" in static_text(screen.query_one("#verify", Static))
        await pilot.press("escape")
        await pilot.pause()
        # A note on a guideline left as it is counts too; reopening shows the saved note.
        app.action_open_guideline("machine-id")
        await settle(pilot)
        app.screen.query_one("#note", Input).focus()
        await pilot.press(*"later, by the   image pipeline")
        await pilot.press("escape")
        await pilot.pause()
        app.action_open_guideline("ssh-use-dns")
        await settle(pilot)
        assert (
            app.screen.query_one("#note", Input).value == "no DNS in the build VPC, ticket OPS-42"
        )
        await pilot.press("escape")
        await pilot.pause()
        assert app.driver is not None
        out = tmp_path / "report"
        out.mkdir()
        app.driver.export_report(str(out), None, False)
    report = json.loads((out / "ami-wizard-report.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["ssh-use-dns"]["note"] == "no DNS in the build VPC, ticket OPS-42"
    assert checks["ssh-use-dns"]["choice"]["option"] == "no"
    assert checks["machine-id"]["note"] == "later, by the image pipeline"  # blanks folded
    assert checks["root-ssh-login"]["note"] == ""
    assert "OPS-42" in (out / "ami-wizard-report.md").read_text()


async def test_clearing_a_note_removes_it(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.action_open_guideline("ssh-use-dns")
        await settle(pilot)
        note = app.screen.query_one("#note", Input)
        note.focus()
        await pilot.press(*"oops")
        assert app.driver is not None and app.driver.notes == {"ssh-use-dns": "oops"}
        await pilot.press(*["backspace"] * 4)
        assert app.driver.notes == {}


# --- undo from the TUI ----------------------------------------------------------------


async def test_undo_key_restores_the_practice_image_byte_for_byte(practice_root: Path) -> None:
    before = tree(practice_root)
    machine_id = (practice_root / "etc/machine-id").read_bytes()
    assert machine_id.strip(), "the practice image must start with a machine id"
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert status(app, "machine-id") == "fail"
        app.action_open_guideline("machine-id")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GuidelineScreen)
        await pilot.press("a", "y")  # apply asks first
        await settle(pilot)
        assert (practice_root / "etc/machine-id").read_bytes() != machine_id
        assert status(app, "machine-id") == "pass"
        assert static_text(screen.query_one("#heading", Static)).startswith("[PASS]")
        assert overview_prompt(app, "machine-id").startswith("[PASS]")

        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirmDialog)
        await pilot.press(*"undo", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert status(app, "machine-id") == "fail"
        assert static_text(screen.query_one("#heading", Static)).startswith("[FAIL]")
        assert overview_prompt(app, "machine-id").startswith("[FAIL]")
        assert any(n.title == "undo" for n in app._notifications)
    assert (practice_root / "etc/machine-id").read_bytes() == machine_id
    assert tree(practice_root) == before


async def test_undo_from_the_palette_restores_sshd_config(practice_root: Path) -> None:
    before = tree(practice_root)
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert status(app, "ssh-use-dns") == "warn"
        app.action_open_guideline("ssh-use-dns")
        await settle(pilot)
        await pilot.press("a", "y")  # apply asks first
        await settle(pilot)
        assert status(app, "ssh-use-dns") == "pass"
        assert tree(practice_root) != before
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Undo this session")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirmDialog)
        await pilot.press(*"undo", "enter")
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert status(app, "ssh-use-dns") == "warn"
        assert overview_prompt(app, "ssh-use-dns").startswith("[WARN]")
    assert tree(practice_root) == before


async def test_undo_cancelled_changes_nothing(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.action_open_guideline("machine-id")
        await settle(pilot)
        await pilot.press("a", "y")  # apply asks first
        await settle(pilot)
        after_apply = tree(practice_root)
        await pilot.press("u")
        await pilot.pause()
        await pilot.press(*"und", "escape")
        await settle(pilot)
        assert isinstance(app.screen, GuidelineScreen)
        assert status(app, "machine-id") == "pass"
    assert tree(practice_root) == after_apply


# --- NO_COLOR and 80x24 ---------------------------------------------------------------

FILL = re.compile(r"fill:\s*#([0-9a-fA-F]{6})")


# The export theme's own default text and background (what an uncoloured cell shows).
THEME_DEFAULTS = {
    SVG_EXPORT_THEME.foreground_color.hex[1:].lower(),
    SVG_EXPORT_THEME.background_color.hex[1:].lower(),
}


def colours(svg: str) -> set[str]:
    """The fill colours of an exported screenshot that are neither a shade of grey nor the
    export theme's default text or background."""
    out = set()
    for hex_colour in FILL.findall(svg):
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
        if not r == g == b and hex_colour.lower() not in THEME_DEFAULTS:
            out.add(hex_colour)
    return out


async def assert_visible(pilot: Pilot[None], widget: Widget, size: tuple[int, int]) -> None:
    """The widget is shown with room, wholly inside the terminal and, when it sits in a
    scrolling body, wholly inside that body's viewport once scrolled to."""
    widget.scroll_visible(animate=False)
    await pilot.pause()
    region = widget.region
    assert widget.display and region.width > 0 and region.height > 0, widget
    assert Region(0, 0, *size).contains_region(region), (widget, region)
    for ancestor in widget.ancestors:
        if isinstance(ancestor, ScrollableContainer):
            viewport = ancestor.scrollable_content_region
            assert viewport.contains_region(region), (widget, region, viewport)


async def walk_main_screens(app: WizardApp, size: tuple[int, int]) -> list[str]:
    """Overview → guideline → finale at `size`; checks the key widgets; returns screenshots."""
    shots: list[str] = []
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        overview = app.screen
        assert isinstance(overview, OverviewScreen)
        guidelines = overview.query_one("#guidelines", OptionList)
        await assert_visible(pilot, guidelines, size)
        assert guidelines.option_count > 10 and not guidelines.loading
        await assert_visible(pilot, overview.query_one("#target-line", Static), size)
        assert "[WARN]" in str(guidelines.get_option("ssh-use-dns").prompt)
        shots.append(app.export_screenshot())

        await pilot.press("home")
        # Down skips the (disabled) group headings.
        enabled = [guidelines.get_option_at_index(i) for i in range(guidelines.option_count)]
        steps = [o.id for o in enabled if not o.disabled].index("ssh-use-dns")
        await pilot.press(*["down"] * steps)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GuidelineScreen) and screen.check_id == "ssh-use-dns"
        for selector in ("#heading", "#apply", "#back"):
            await assert_visible(pilot, screen.query_one(selector), size)
        assert "[WARN]" in static_text(screen.query_one("#heading", Static))
        shots.append(app.export_screenshot())
        # The rest of the body is reachable by scrolling, and each part fits on its own.
        for selector in ("#option-0", "#option-1", "#note", "#preview"):
            await assert_visible(pilot, screen.query_one(selector), size)
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("f")
        await settle(pilot)
        finale = app.screen
        assert isinstance(finale, FinaleScreen)
        for selector in ("#phase", "#run", "#export"):
            await assert_visible(pilot, finale.query_one(selector), size)
        shots.append(app.export_screenshot())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
    return shots


async def test_no_color_is_honoured_and_screens_fit_80x24(
    practice_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app("demo", practice_root=str(practice_root), learn=False)
    assert app.no_color
    shots = await walk_main_screens(app, (80, 24))
    for shot in shots:
        assert not colours(shot), colours(shot)
    # Badges carry words, so nothing is lost without colour.
    assert "[FAIL]" in shots[0].replace("&#160;", " ")


async def test_colour_without_no_color_at_80x24(
    practice_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterpart: the same walk in colour does show colours (so the check above bites)."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app("demo", practice_root=str(practice_root), learn=False)
    assert not app.no_color
    shots = await walk_main_screens(app, (80, 24))
    assert all(colours(shot) for shot in shots)


# --- passphrase and sudo prompts on the real sshd instance ----------------------------

sshd = pytest.mark.sshd


async def wait_for(pilot: Pilot[None], kind: type[Screen[Any]], seconds: float = 20) -> Any:
    """Wait (without waiting on the workers: one of them is waiting on us) for a screen."""
    for _ in range(int(seconds / 0.1)):
        if isinstance(pilot.app.screen, kind):
            return pilot.app.screen
        await pilot.pause(0.1)
    raise AssertionError(f"no {kind.__name__} after {seconds} s; screen is {pilot.app.screen}")


async def answer(pilot: Pilot[None], dialog: SecretDialog, secret: str, remember: bool) -> None:
    await pilot.pause()  # let the dialog mount and take the focus
    field = dialog.query_one("#secret", Input)
    assert field.password, "the secret must be typed masked"
    assert field.has_focus
    await pilot.press(*secret)
    if remember:
        await pilot.click("#remember")
        assert dialog.query_one("#remember", Checkbox).value
    await pilot.click("#ok")


@sshd
@pytest.mark.parametrize("remember", [True, False], ids=["remember", "forget"])
async def test_encrypted_key_asks_for_its_passphrase(
    instance: Instance,
    client_key: ClientKey,
    known_hosts: Path,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    remember: bool,
) -> None:
    # The same key pair (root already trusts it), but locked with a passphrase.
    key = tmp_path / "locked" / "id_ed25519"
    key.parent.mkdir()
    key.write_bytes(client_key.path.read_bytes())
    key.chmod(0o600)
    passphrase = "correct horse, battery"
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", passphrase, "-f", str(key)], check=True
    )
    options = ConnectOptions(
        identity=str(key), known_hosts=str(known_hosts), use_agent=False, timeout=10
    )
    app = make_app(f"ssh://root@127.0.0.1:{instance.port}", options=options, save_recent=False)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await wait_for(pilot, SecretDialog)
        assert str(key) in dialog.label and "passphrase" in dialog.label
        await answer(pilot, dialog, passphrase, remember)
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen), app.screen
        assert app.result is not None and app.result.target.uri.startswith("ssh://root@")
        assert status(app, "root-password") != "error"
    stored = keyring_store.get_secret(
        keyring_store.PASSPHRASE, keyring_store.passphrase_name(str(key))
    )
    if remember:
        assert stored == passphrase
    else:
        assert stored is None and not memory_keyring.secrets


@sshd
async def test_sudo_password_dialog_lets_a_non_root_operator_audit(
    instance: Instance,
    client_key: ClientKey,
    known_hosts: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    require_sudo()
    password = "sudo pass 42"
    instance.useradd("ops", password=password, sudo=True, nopasswd=False)
    instance.authorize("ops", client_key.public_line)
    options = ConnectOptions(
        identity=str(client_key.path), known_hosts=str(known_hosts), use_agent=False, timeout=10
    )
    app = make_app(f"ssh://ops@127.0.0.1:{instance.port}", options=options, save_recent=False)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await wait_for(pilot, SecretDialog)
        assert dialog.label.startswith("sudo password for ops@127.0.0.1")
        await answer(pilot, dialog, password, remember=True)
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen), app.screen
        assert app.result is not None
        finding = next(f for f in app.result.findings if f.id == "root-password")
        # Reading /etc/shadow needs root: through sudo with the typed password it worked.
        assert finding.status.value != "error", finding.summary
        assert any(ev.path == "/etc/shadow" for ev in finding.evidence)
        assert overview_prompt(app, "root-password").split()[0] != "[ERR!]"
    name = dialog.label.rsplit("sudo password for ", 1)[1]
    assert keyring_store.get_secret(keyring_store.SUDO, name) == password
    assert list(memory_keyring.secrets.values()) == [password]  # this process's keyring


@sshd
async def test_wrong_then_cancelled_passphrase_goes_back_to_connect(
    instance: Instance,
    client_key: ClientKey,
    known_hosts: Path,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    key = tmp_path / "locked" / "id_ed25519"
    key.parent.mkdir()
    key.write_bytes(client_key.path.read_bytes())
    key.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-P", "", "-N", "right", "-f", str(key)], check=True)
    options = ConnectOptions(
        identity=str(key), known_hosts=str(known_hosts), use_agent=False, timeout=10
    )
    spec = f"ssh://root@127.0.0.1:{instance.port}"
    app = make_app(spec, options=options, save_recent=False)
    async with app.run_test(size=(120, 36)) as pilot:
        first = await wait_for(pilot, SecretDialog)
        await answer(pilot, first, "wrong", remember=True)
        for _ in range(200):  # the worker asks again with a new dialog
            if isinstance(app.screen, SecretDialog) and app.screen is not first:
                break
            await pilot.pause(0.1)
        again = app.screen
        assert isinstance(again, SecretDialog) and again is not first
        assert again.label.startswith("wrong passphrase; ")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConnectScreen), app.screen
        assert app.screen.query_one("#target", Input).value == spec
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any("authentication failed" in m for m in errors), errors
        assert app.driver is None
    assert not memory_keyring.secrets
