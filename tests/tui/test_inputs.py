"""Pilot tests of the operator's inputs: the identify screen's publisher, description and
contact, and the launch-key screen's user (validated as typed, saved to the config file)."""

from __future__ import annotations

from pathlib import Path

import yaml
from rich.text import Text
from textual.widgets import Input, Static

from screens.app import make_app
from screens.guideline import GuidelineScreen
from tests.tui.conftest import settle
from wizard.config import config_file


def text_of(screen: GuidelineScreen, selector: str) -> str:
    content = screen.query_one(selector, Static).render()
    return str(content.plain if isinstance(content, Text) else content)


def saved() -> dict[str, object]:
    data = yaml.safe_load(config_file().read_text())
    assert isinstance(data, dict)
    return data


async def test_identify_screen_asks_validates_and_saves(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root), learn=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.action_open_guideline("identify")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GuidelineScreen)
        finding = next(f for f in app.result.findings if f.id == "identify")  # type: ignore[union-attr]
        assert finding.status.value == "info"
        fields = list(screen.query(".operator-input").results(Input))
        assert len(fields) == 3
        # a bad contact is shown under its field and nothing is saved
        fields[0].focus()
        await pilot.press(*"Example Ltd")
        fields[1].focus()
        await pilot.press(*"Debian 12 web base")
        fields[2].focus()
        await pilot.press(*"call me")
        await pilot.press("enter")
        await settle(pilot)
        assert "e-mail" in text_of(screen, "#input-error-2")
        assert not config_file().exists()
        fields[2].value = ""
        await pilot.press(*"ops@example.org", "enter")
        await settle(pilot)
        assert text_of(screen, "#input-error-2") == ""
        assert saved()["identity"] == {
            "publisher": "Example Ltd",
            "description": "Debian 12 web base",
            "contact": "ops@example.org",
        }
        finding = next(f for f in app.result.findings if f.id == "identify")  # type: ignore[union-attr]
        assert finding.status.value == "pass" and "ops@example.org" in finding.summary
        assert "published by Example Ltd" in text_of(screen, "#state")
        # typing letters in a field never ran a screen key (a = apply, n = next)
        assert isinstance(app.screen, GuidelineScreen)


async def test_launch_key_screen_offers_login_users_and_refuses_a_system_one(
    practice_root: Path,
) -> None:
    app = make_app("demo", practice_root=str(practice_root), learn=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.action_open_guideline("launch-key")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GuidelineScreen)
        hint = text_of(screen, "#input-hint-0")
        assert "default: admin" in hint and "bob" in hint
        assert "deploy" not in hint and "root" not in hint and "daemon" not in hint
        field = screen.query_one("#input-0", Input)
        for name, why in (("deploy", "system account (UID 998)"), ("root", "never goes to root")):
            field.value = ""
            field.focus()
            await pilot.press(*name, "enter")
            await settle(pilot)
            assert why in text_of(screen, "#input-error-0")
            assert not config_file().exists()
        field.value = ""
        await pilot.press(*"bob", "enter")
        await settle(pilot)
        assert saved()["launch_key"] == {"user": "bob"}
        # the fetch unit's preview now installs the key for bob
        screen.choose("imds-fetch-unit")
        await settle(pilot)
        assert "u=bob;" in text_of(screen, "#preview")


async def test_an_off_guideline_is_not_selected_until_turned_on(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root), learn=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)

        def status() -> str:
            assert app.result is not None
            return next(f for f in app.result.findings if f.id == "sshd-hardening").status.value

        assert status() == "skip"
        app.action_open_guideline("sshd-hardening")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GuidelineScreen)
        assert "not selected" in text_of(screen, "#state")
        assert "o turns it on" in text_of(screen, "#heading")
        await pilot.press("o")
        await settle(pilot)
        assert status() == "warn"
        assert "MaxAuthTries is 6" in text_of(screen, "#state")
        preview = text_of(screen, "#preview").lower()
        assert "macs hmac-sha2-512-etm@openssh.com" in preview and "maxauthtries 3" in preview
        await pilot.press("o")
        await settle(pilot)
        assert status() == "skip"
        # o does nothing on a guideline that is always judged
        app.action_open_guideline("ssh-use-dns")
        await settle(pilot)
        before = status()
        await pilot.press("o")
        await settle(pilot)
        assert status() == before
