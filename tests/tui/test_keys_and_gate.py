"""Issue 10, items 12, 13 and the finale's exclude list: letter keys never act while a text
field has the focus, the note is reachable by Tab and by a key, every change to the target
asks first, calls that touch the target never run at once, quitting with work left asks, and
the finale shows the exclude list of the final probe. All on the practice image."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.widgets import Input, Static

import screens
from screens.app import WizardApp, make_app
from screens.base import WizardScreen
from screens.confirm_dialog import ConfirmDialog
from screens.finale import FinaleScreen
from screens.guideline import GuidelineScreen
from screens.overview import OverviewScreen
from screens.quit_dialog import QuitDialog
from screens.typed_confirm_dialog import TypedConfirmDialog
from tests.tui.conftest import settle
from tests.tui.test_pilot import static_text
from tests.tui.test_prompts_undo import status, tree

SIZE = (120, 36)


async def open_guideline(app: WizardApp, pilot: Any, check_id: str) -> GuidelineScreen:
    await settle(pilot)
    app.action_open_guideline(check_id)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, GuidelineScreen)
    assert screen.preview is not None, "the preview did not arrive"
    return screen


# --- item 12: letters are text while a text field has the focus ------------------------


def test_every_letter_binding_of_every_screen_checks_the_focus() -> None:
    """The rule lives in one place (WizardScreen.check_action): a screen cannot bind a
    printable key around it, and every screen of the wizard is a WizardScreen."""
    for info in pkgutil.iter_modules(screens.__path__):
        module = importlib.import_module(f"screens.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, WizardScreen):
                continue
            for binding in cls.BINDINGS:
                assert isinstance(binding, Binding)
                if len(binding.key) == 1 and binding.key.isprintable():
                    assert binding.action.startswith("key("), (cls.__name__, binding)
    for cls in (GuidelineScreen, OverviewScreen, FinaleScreen):
        assert issubclass(cls, WizardScreen)


async def test_typing_an_into_the_note_changes_nothing_but_the_note(practice_root: Path) -> None:
    """Fails on the old code: Enter handed the keys back, so `a` applied and `n` moved on."""
    before = tree(practice_root)
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_guideline(app, pilot, "ssh-use-dns")
        chosen = screen.chosen
        note = screen.query_one("#note", Input)
        note.focus()
        await pilot.press(*"OPS-7", "enter", *"an2", "u")
        await settle(pilot)
        assert app.screen is screen, "a letter left the screen or opened a dialog"
        assert note.value == "OPS-7an2u" and app.screen.focused is note
        assert screen.chosen == chosen  # "2" did not pick option 2
        assert static_text(screen.query_one("#verify", Static)) == ""
        assert status(app, "ssh-use-dns") == "warn"
        # While typing, the footer does not offer the letter keys.
        keys = set(screen.active_bindings)
        assert not {"a", "n", "u", "t"} & keys and "escape" in keys
        assert app.driver is not None and app.driver.notes == {"ssh-use-dns": "OPS-7an2u"}
    assert tree(practice_root) == before


async def test_tab_and_t_reach_the_note_and_escape_leaves_it(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_guideline(app, pilot, "root-ssh-login")
        note = screen.query_one("#note", Input)
        for _ in range(len(screen.focus_chain)):
            if screen.focused is note:
                break
            await pilot.press("tab")
        assert screen.focused is note, "Tab never reached the note"
        await pilot.press("escape")  # out of the field, still on the guideline
        assert app.screen is screen and screen.focused is not note
        await pilot.press("t")
        assert screen.focused is note
        await pilot.press(*"ok")
        assert note.value == "ok"
        await pilot.press("escape", "escape")  # out of the field, then back
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


# --- item 12: every change to the target asks first ------------------------------------


async def test_apply_asks_and_no_changes_nothing(practice_root: Path) -> None:
    before = tree(practice_root)
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_guideline(app, pilot, "machine-id")
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("enter")  # the focus starts on No
        await settle(pilot)
        await pilot.click("#apply")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and status(app, "machine-id") == "fail"
        assert tree(practice_root) == before
        assert app.driver is not None and app.driver.outcomes == []
        await pilot.press("a", "y")
        await settle(pilot)
        assert status(app, "machine-id") == "pass"
    assert (practice_root / "etc/machine-id").read_text() == ""


# --- item 12: one call at a time touches the target ------------------------------------


class Calls:
    """Records when each real engine call starts and ends (the call itself still runs)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, float, float]] = []
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def wrap(self, name: str, call: Callable[..., Any], delay: float = 0.0) -> Callable[..., Any]:
        def spied(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.running += 1
                self.most = max(self.most, self.running)
            start = time.monotonic()
            try:
                time.sleep(delay)  # widen the window a second call would slip into
                return call(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1
                self.spans.append((name, start, time.monotonic()))

        return spied


async def test_rapid_apply_and_reprobe_presses_do_not_run_at_once(practice_root: Path) -> None:
    """Fails on the old code: apply (a screen worker) and re-probe (an app worker in another
    group) ran together on one session."""
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_guideline(app, pilot, "machine-id")
        driver = app.driver
        assert driver is not None
        calls = Calls()
        driver.apply = calls.wrap("apply", driver.apply, delay=0.5)  # type: ignore[method-assign]
        driver.audit = calls.wrap("audit", driver.audit)  # type: ignore[method-assign]
        await pilot.press("a", "y")  # the apply starts
        app.action_reprobe()  # and at once: re-probe, undo, apply again
        app.action_undo()
        await pilot.press("a")
        await settle(pilot)
        assert calls.most == 1, calls.spans
        assert app.screen is screen, "a second call was let through to its dialog"
        assert [name for name, *_ in calls.spans] == ["apply"]
        busy = [n.message for n in app._notifications if n.message.startswith("busy:")]
        assert len(busy) == 3 and all("applying" in m for m in busy), busy
        assert status(app, "machine-id") == "pass"
        # Once the apply is done, the target is free again.
        app.action_reprobe()
        await settle(pilot)
        assert [name for name, *_ in calls.spans] == ["apply", "audit"]
        assert calls.most == 1


# --- item 13: quitting with work left asks first ---------------------------------------


async def test_quit_with_queued_final_steps_asks(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=SIZE) as pilot:
        await open_guideline(app, pilot, "ssh-host-keys")
        await pilot.press("a")  # final phase: queued, nothing runs yet
        await pilot.pause()
        assert app.final_choices == {"ssh-host-keys": "delete-and-regenerate"}
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        body = static_text(app.screen.query_one("#confirm-body", Static))
        assert body == "1 final step is queued — quit anyway?"
        await pilot.press("n")
        await pilot.pause()
        assert app.return_code is None and isinstance(app.screen, GuidelineScreen)
        # the palette's Quit asks too
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Quit")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0
    assert (practice_root / "etc/ssh/ssh_host_ed25519_key").exists()


async def test_quit_with_an_unexported_report_asks_until_exported(
    practice_root: Path, tmp_path: Path
) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=SIZE) as pilot:
        await open_guideline(app, pilot, "machine-id")
        await pilot.press("a", "y")
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        body = static_text(app.screen.query_one("#confirm-body", Static))
        assert body == "the report is not exported — quit anyway?"
        await pilot.press("escape")
        await pilot.pause()
        out = tmp_path / "report"
        out.mkdir()
        app.action_export()
        await pilot.pause()
        app.screen.query_one(Input).value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        assert (out / "ami-wizard-report.json").exists()
        await pilot.press("ctrl+q")  # exported, nothing queued: quits at once
        await pilot.pause()
    assert app.return_code == 0


# --- item 8 (screen side): the finale's exclude list after the final phase -------------


async def test_finale_shows_the_exclude_list_of_the_final_probe(practice_root: Path) -> None:
    """Fails on the old code: the list read when the screen opened stayed on screen, still
    naming the histories and host keys the final phase had removed."""
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        finale = app.screen
        assert isinstance(finale, FinaleScreen)
        shown = static_text(finale.query_one("#excludes", Static))
        assert "/root/.bash_history" in shown and "/etc/ssh/ssh_host_ed25519_key" in shown
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirmDialog)
        await pilot.press(*"shred", "enter")
        await settle(pilot)
        assert finale.done, static_text(finale.query_one("#final-result", Static))
        assert not (practice_root / "root/.bash_history").exists()
        driver = app.driver
        assert driver is not None and driver.finished
        latest = driver.exclude_list()
        shown = static_text(finale.query_one("#excludes", Static))
        assert shown == "\n".join(latest) and finale.excludes == latest
        assert "/root/.bash_history" not in shown
        assert "/etc/ssh/ssh_host_ed25519_key" not in shown
        assert "/root/.ssh" in shown  # a default that holds whether or not it exists
        # The finale's Quit asks while the report of all that is not exported.
        await pilot.click("#quit")
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        body = static_text(app.screen.query_one("#confirm-body", Static))
        assert body == "the report is not exported — quit anyway?"  # nothing queued: it ran
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0
