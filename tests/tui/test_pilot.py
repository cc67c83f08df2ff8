"""Pilot tests of the wizard on the practice instance: connect, overview, every guideline,
the palette, learn mode, errors as notifications, and (with the fix session) the full flow."""

from __future__ import annotations

from pathlib import Path

import yaml
from rich.text import Text
from textual.widgets import Input, OptionList, Static

from checks import INSTANCE_CHECKS
from checks.account import ACCOUNT_CHECKS
from checks.base import GROUPS, catalog
from screens.app import make_app
from screens.confirm_dialog import ConfirmDialog
from screens.connect import ConnectScreen
from screens.finale import FinaleScreen
from screens.guideline import GuidelineScreen
from screens.overview import OverviewScreen
from screens.typed_confirm_dialog import TypedConfirmDialog
from tests.tui.conftest import settle
from wizard.config import config_file


def static_text(widget: Static) -> str:
    content = widget.render()
    return str(content.plain if isinstance(content, Text) else content)


def option_ids(screen: OverviewScreen) -> list[str]:
    options = screen.query_one("#guidelines", OptionList)
    return [
        o.id for o in (options.get_option_at_index(i) for i in range(options.option_count)) if o.id
    ]


async def test_demo_opens_on_overview_with_every_guideline(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        ids = option_ids(screen)
        instance_rows = [i for g in GROUPS for i in INSTANCE_CHECKS if catalog()[i].group == g]
        assert ids[: len(instance_rows)] == instance_rows
        # then the AWS account chapter: read the account, its checks, the runbook
        assert ids[len(instance_rows) :] == ["account-read", *ACCOUNT_CHECKS, "account-runbook"]
        assert app.result is not None
        statuses = {f.id: f.status.value for f in app.result.findings}
        assert statuses["root-ssh-login"] == "fail"
        assert statuses["launch-key"] == "pass"
        prompt = str(
            screen.query_one("#guidelines", OptionList).get_option("root-ssh-login").prompt
        )
        assert prompt.startswith("[FAIL]")
        label = static_text(screen.query_one("#target-line", Static))
        assert "practice-builder" in label


async def test_every_guideline_opens_from_the_overview_by_keyboard(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root), learn=False)
    seen: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for index in range(len(INSTANCE_CHECKS)):
            overview = app.screen
            assert isinstance(overview, OverviewScreen)
            await pilot.press("home")
            for _ in range(index):
                await pilot.press("down")
            await pilot.press("enter")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, GuidelineScreen), f"guideline {index} did not open"
            seen.append(screen.check_id)
            entry = catalog()[screen.check_id]
            assert entry.title in static_text(screen.query_one("#heading", Static))
            state = static_text(screen.query_one("#state", Static))
            finding = next(f for f in app.result.findings if f.id == screen.check_id)  # type: ignore[union-attr]
            assert finding.summary in state
            for ev in finding.evidence:
                assert (f"{ev.path}:{ev.line}" if ev.line else ev.path) in state
            assert entry.why.split()[0] in static_text(screen.query_one("#why", Static))
            if entry.recommended:
                assert screen.chosen == entry.recommended
            await pilot.press("escape")
            await pilot.pause()
    assert sorted(seen) == sorted(INSTANCE_CHECKS)


async def test_options_are_chosen_by_number_and_arrows(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.action_open_guideline("root-ssh-login")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GuidelineScreen)
        assert screen.chosen == "prohibit-password"
        await pilot.press("2")
        assert screen.chosen == "no"
        await pilot.press("right")
        assert screen.chosen == "forced-commands-only"
        await pilot.press("right")
        assert screen.chosen == "prohibit-password"
        await pilot.click("#option-1")
        assert screen.chosen == "no"
        assert screen.query_one("#option-1").has_class("-selected")
        assert not screen.query_one("#option-0").has_class("-selected")


async def test_learn_toggle_shows_the_fuller_explanation(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root), learn=False)
    learn = catalog()["ssh-use-dns"].learn.split("\n")[0]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_open_guideline("ssh-use-dns")
        await settle(pilot)
        why = app.screen.query_one("#why", Static)
        assert learn not in static_text(why)
        await pilot.press("f2")
        await pilot.pause()
        assert learn in static_text(why)
        await pilot.press("f2")
        await pilot.pause()
        assert learn not in static_text(why)


async def test_palette_jumps_to_a_guideline(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"UseDNS")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, GuidelineScreen)
        assert app.screen.check_id == "ssh-use-dns"
        await pilot.press("ctrl+p")
        await pilot.press(*"finale")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FinaleScreen)


async def test_reprobe_reads_changes_made_outside(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert {f.id: f.status.value for f in app.result.findings}["machine-id"] == "fail"  # type: ignore[union-attr]
        (practice_root / "etc/machine-id").write_text("")
        await pilot.press("r")
        await settle(pilot)
        assert {f.id: f.status.value for f in app.result.findings}["machine-id"] == "pass"  # type: ignore[union-attr]
        prompt = str(app.screen.query_one(OptionList).get_option("machine-id").prompt)
        assert prompt.startswith("[PASS]")


async def test_connect_screen_lists_targets_and_opens_an_image(
    tmp_path: Path, practice_root: Path
) -> None:
    config_file().parent.mkdir(parents=True, exist_ok=True)
    config_file().write_text(yaml.safe_dump({"recent": ["ssh://ops@example.invalid"]}))
    ssh_dir = Path.home() / ".ssh"
    ssh_dir.mkdir()
    (ssh_dir / "config").write_text(
        "Host builder\n  HostName 127.0.0.1\nHost *.internal\n  User x\n"
    )
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ConnectScreen)
        options = screen.query_one("#suggestions", OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == ["demo", "local", "ssh://ops@example.invalid", "builder"]
        screen.query_one("#target", Input).value = f"image:{practice_root}"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert app.result is not None and app.result.target.hostname == "practice-builder"
    recent = yaml.safe_load(config_file().read_text())["recent"]
    assert recent == [f"image:{practice_root}", "ssh://ops@example.invalid"]


async def test_a_bad_target_is_a_notification_not_a_traceback(tmp_path: Path) -> None:
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.query_one("#target", Input).value = f"image:{tmp_path}/missing"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConnectScreen)
        assert app.screen.query_one("#target", Input).value == f"image:{tmp_path}/missing"
        messages = [n.message for n in app._notifications]
        assert any("does not exist" in m for m in messages), messages
        assert app.return_code is None  # still running


async def test_ctrl_q_quits_from_a_dialog(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("u")  # the undo confirmation dialog
        await pilot.pause()
        assert app.screen.is_modal
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_whole_flow_on_the_practice_image(practice_root: Path) -> None:
    """Every guideline opened, previewed and applied by keyboard (the recommended option),
    verified by a fresh probe; then the finale runs the last command after typed confirmation."""
    app = make_app("demo", practice_root=str(practice_root))
    verdicts: dict[str, str] = {}
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        for check_id in INSTANCE_CHECKS:
            app.action_open_guideline(check_id)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, GuidelineScreen)
            preview = static_text(screen.query_one("#preview", Static))
            if not catalog()[check_id].options:
                assert "nothing to choose" in preview
            elif screen.preview is not None and not screen.preview.refusal:
                assert "Working out" not in preview
                await pilot.press("a")
                await pilot.pause()
                if isinstance(app.screen, TypedConfirmDialog):  # irreversible: typed
                    await pilot.press(*"yes", "enter")
                elif isinstance(app.screen, ConfirmDialog):  # every apply asks first
                    await pilot.press("y")
                await settle(pilot)
                verdicts[check_id] = static_text(screen.query_one("#verify", Static))
            await pilot.press("escape")
            await pilot.pause()
        # Normal-phase fixes were verified by a fresh probe on the screen itself.
        assert "UseDNS is no" in (
            (practice_root / "etc/ssh/sshd_config").read_text()
            + "".join(p.read_text() for p in (practice_root / "etc/ssh/sshd_config.d").iterdir())
        ).replace("UseDNS no", "UseDNS is no")
        statuses = {f.id: f.status.value for f in app.result.findings}  # type: ignore[union-attr]
        for check_id in ("root-ssh-login", "ssh-password-auth", "root-password", "machine-id"):
            assert "Verified by a fresh probe: [FAIL] → [PASS]" in verdicts[check_id], verdicts
        for check_id in ("ssh-use-dns", "root-password", "user-passwords", "machine-id"):
            assert statuses[check_id] == "pass", (check_id, verdicts.get(check_id))
        assert (practice_root / "etc/machine-id").read_text() == ""
        # Final-phase choices wait for the finale.
        assert set(app.final_choices) >= {"ssh-host-keys", "authorized-keys", "shell-history"}
        assert (practice_root / "etc/ssh/ssh_host_ed25519_key").exists()

        await pilot.press("f")
        await settle(pilot)
        finale = app.screen
        assert isinstance(finale, FinaleScreen)
        assert "/root/.ssh" in static_text(finale.query_one("#excludes", Static))
        assert "history" in static_text(finale.query_one("#last", Static))
        await pilot.press("x")
        await pilot.pause()
        assert app.screen.is_modal
        await pilot.press(*"shre", "enter")  # a wrong word does nothing
        await pilot.pause()
        assert app.screen.is_modal and (practice_root / "root/.bash_history").exists()
        await pilot.press("d", "enter")
        await settle(pilot)
        assert finale.done, static_text(finale.query_one("#final-result", Static))
        assert "history shred ran last" in static_text(finale.query_one("#final-result", Static))
        # Nothing more is sent after the last command: a re-probe is refused.
        await pilot.press("escape", "r")
        await settle(pilot)
        assert any("last command has run" in n.message for n in app._notifications)
        # The report: all three formats, from the session's before, choices and after.
        out = practice_root.parent / "report"
        out.mkdir()
        app.export_report(str(out), None)
        await settle(pilot)
        names = sorted(p.name for p in out.iterdir())
        assert names == ["ami-wizard-report.html", "ami-wizard-report.json", "ami-wizard-report.md"]
        assert "ssh-use-dns" in (out / "ami-wizard-report.md").read_text()
    for path in (
        "root/.bash_history",
        "home/admin/.bash_history",
        "home/admin/.python_history",
        "home/bob/.mysql_history",
        "etc/ssh/ssh_host_ed25519_key",
        "etc/ssh/ssh_host_rsa_key.pub",
        "root/.ssh/authorized_keys",
        "home/admin/.ssh/authorized_keys",
        "home/admin/.aws/credentials",
    ):
        assert not (practice_root / path).exists(), path
    assert not (practice_root / "PWNED").exists() and not Path("PWNED").exists()


async def test_sshd_fixes_applied_one_by_one_all_stay(practice_root: Path) -> None:
    app = make_app("demo", practice_root=str(practice_root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        for check_id in ("root-ssh-login", "ssh-password-auth", "ssh-use-dns"):
            app.action_open_guideline(check_id)
            await settle(pilot)
            await pilot.press("a", "y")  # apply asks first
            await settle(pilot)
            await pilot.press("escape")
        statuses = {f.id: f.status.value for f in app.result.findings}  # type: ignore[union-attr]
    assert [statuses[c] for c in ("root-ssh-login", "ssh-password-auth", "ssh-use-dns")] == [
        "pass",
        "pass",
        "pass",
    ]
