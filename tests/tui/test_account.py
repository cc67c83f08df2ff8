"""The AWS account chapter in the wizard, against moto's real HTTP server on 127.0.0.1.

A careless account shows fail badges with evidence; the runbook's ticks go into the exported
report; without boto3 the chapter explains how to enable it instead of failing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Checkbox, Input, OptionList, Static

from checks.account import ACCOUNT_CHECKS
from checks.runbook import runbook_steps
from screens.account import AccountCheckScreen
from screens.app import WizardApp, make_app
from screens.input_dialog import InputDialog
from screens.overview import READ_ACCOUNT, RUNBOOK, OverviewScreen
from screens.runbook import RunbookScreen
from tests.aws.conftest import REGION, aws, aws_env, moto_url  # noqa: F401 - fixtures
from tests.aws.test_account import seed_careless
from tests.tui.conftest import settle
from wizard.aws import BOTO3_MISSING
from wizard.config import AwsConfig, Config

SIZE = (120, 40)


def _app(practice_root: Path, aws_config: AwsConfig | None = None) -> WizardApp:
    config = Config(aws=aws_config or AwsConfig())
    return make_app("demo", practice_root=str(practice_root), config=config, learn=False)


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def _prompt(screen: Any, option_id: str) -> str:
    options = screen.query_one("#guidelines", OptionList)
    return str(options.get_option(option_id).prompt)


async def test_careless_account_shows_fails_with_evidence(
    aws: Callable[..., Any],  # noqa: F811 - the fixture imported above
    practice_root: Path,
) -> None:
    image = seed_careless(aws)
    app = _app(practice_root, AwsConfig(region=REGION, configured=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        overview = app.screen
        assert isinstance(overview, OverviewScreen)
        assert app.driver is not None and app.driver.account is not None
        assert _prompt(overview, "account-public-amis").startswith("[FAIL]")
        assert _prompt(overview, "account-console-mfa").startswith("[FAIL]")
        assert _prompt(overview, "account-root-mfa").startswith("[FAIL]")
        assert "123456789012 in eu-west-1" in _prompt(overview, READ_ACCOUNT)

        app.action_open_account_check("account-public-amis")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AccountCheckScreen)
        state = _text(screen, "#state")
        assert f"ec2:{REGION}:image/{image}" in state and "public (golden)" in state
        assert f"By region: {REGION} [FAIL]" in state
        assert "[FAIL]" in _text(screen, "#heading")
        fix = _text(screen, "#fix")
        assert "Console:" in fix and "CLI:" in fix and "aws ec2" in fix
        await pilot.click("#note")
        await pilot.press(*"ticket 42 n", "enter")  # n types into the note, not "next"
        await settle(pilot)
        assert app.screen is screen
        assert app.driver.notes == {"account-public-amis": "ticket 42 n"}

        await pilot.press("n")  # Enter kept the focus in the note: still text
        assert app.screen is screen and app.driver.notes["account-public-amis"] == "ticket 42 nn"
        await pilot.press("backspace", "escape")  # Escape leaves the note, not the screen
        assert app.screen is screen
        await pilot.press("n")  # next check: the block-public-access setting
        await settle(pilot)
        assert isinstance(app.screen, AccountCheckScreen)
        assert (
            app.screen.check_id == ACCOUNT_CHECKS[ACCOUNT_CHECKS.index("account-public-amis") + 1]
        )


async def test_runbook_ticks_go_into_the_exported_report(
    aws: Callable[..., Any],  # noqa: F811
    practice_root: Path,
    tmp_path: Path,
) -> None:
    seed_careless(aws)
    app = _app(practice_root)  # no aws: section: the operator chooses the account
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.driver is not None and app.driver.account is None  # nothing read unasked
        options = app.screen.query_one("#guidelines", OptionList)
        options.highlighted = options.get_option_index(READ_ACCOUNT)
        options.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, InputDialog)
        app.screen.query_one("#value", Input).value = f"- {REGION}"
        await pilot.press("enter")
        await settle(pilot)
        assert app.aws == AwsConfig(profile=None, region=REGION, configured=True)
        assert app.driver.account is not None

        options = app.screen.query_one("#guidelines", OptionList)
        options.highlighted = options.get_option_index(RUNBOOK)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunbookScreen)
        assert "alice" in _text(screen, "#live-credentials")
        assert "access keys" in _text(screen, "#live-root-keys")

        steps = runbook_steps()
        first, second = steps[0].id, steps[1].id
        await pilot.click(f"#step-{first}")
        await pilot.click(f"#step-{second}")
        await pilot.click(f"#step-{second}")  # ticked, then unticked again
        await settle(pilot)
        assert screen.query_one(f"#step-{first}", Checkbox).value is True
        assert app.driver.runbook_ticked == {first: True, second: False}
        assert f"1 of {len(steps)} steps done" in _text(screen, "#heading")

        out = tmp_path / "out"
        out.mkdir()
        app.export_report(str(out), None)
        await settle(pilot)
    report = json.loads((out / "ami-wizard-report.json").read_text())
    account = report["account"]
    assert account["account_id"] == "123456789012" and account["region"] == REGION
    status = {c["id"]: c["status"] for c in account["checks"]}
    assert status["account-public-amis"] == "fail"
    done = {t["id"]: t["done"] for t in account["runbook"]}
    assert done[first] is True and done[second] is False
    assert [t["id"] for t in account["runbook"]] == [s.id for s in steps]
    md = (out / "ami-wizard-report.md").read_text()
    assert "## AWS account" in md and f"- [x] 1. {steps[0].title}" in md
    assert f"- [ ] 2. {steps[1].title}" in md
    html = (out / "ami-wizard-report.html").read_text()
    assert "Compromised-account runbook" in html and "☑" in html


async def test_without_boto3_the_chapter_says_how_to_enable_it(
    practice_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` now raises ImportError
    app = _app(practice_root, AwsConfig(region=REGION, configured=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        overview = app.screen
        assert isinstance(overview, OverviewScreen)
        assert app.account_line == BOTO3_MISSING and app.account_missing_extra
        options = overview.query_one("#guidelines", OptionList)
        options.highlighted = options.get_option_index(READ_ACCOUNT)
        await pilot.pause()
        assert "pip install 'ami-wizard[aws]'" in _text(overview, "#detail")
        assert _prompt(overview, "account-root-mfa").startswith("[ .. ]")

        app.action_open_account_check("account-root-mfa")
        await settle(pilot)
        assert "pip install 'ami-wizard[aws]'" in _text(app.screen, "#state")
        await pilot.press("r")  # reading again only repeats the hint
        await settle(pilot)
        assert isinstance(app.screen, AccountCheckScreen)

        app.action_runbook()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunbookScreen)
        assert "pip install 'ami-wizard[aws]'" in _text(screen, "#live-status")
        # the steps are still there to follow, and still tick
        await pilot.click(f"#step-{runbook_steps()[0].id}")
        await settle(pilot)
        assert app.driver is not None
        assert app.driver.runbook_ticked == {runbook_steps()[0].id: True}


async def test_an_account_that_cannot_be_read_is_one_line_not_a_crash(
    aws_env: str,  # noqa: F811
    practice_root: Path,
) -> None:
    app = _app(practice_root, AwsConfig(profile="nope", region=REGION, configured=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert app.account_line == "AWS profile not found: nope"
        assert not app.account_missing_extra
        assert app.driver is not None and app.driver.account is None
        assert _prompt(app.screen, "account-root-mfa").startswith("[ .. ]")
        # choosing a profile that works reads the account
        app.aws = AwsConfig(region=REGION, configured=True)
        await pilot.press("a")
        await settle(pilot)
        assert app.driver.account is not None
        assert app.account_line.startswith("account 123456789012 in eu-west-1: ")
        assert _prompt(app.screen, "account-root-mfa").startswith("[FAIL]")


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_snapshot_runbook(
    snap_compare: Callable[..., bool], practice_root: Path, size: tuple[int, int]
) -> None:
    async def open_it(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.action_runbook()
        await settle(pilot)

    assert snap_compare(_app(practice_root), terminal_size=size, run_before=open_it)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_snapshot_account_check_without_boto3(
    snap_compare: Callable[..., bool],
    practice_root: Path,
    size: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)

    async def open_it(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.action_open_account_check("account-public-amis")
        await settle(pilot)

    assert snap_compare(_app(practice_root), terminal_size=size, run_before=open_it)


async def test_matrix_of_a_two_region_account(
    aws: Callable[..., Any],  # noqa: F811
    practice_root: Path,
) -> None:
    from textual.widgets import DataTable

    from screens.account import AccountMatrixScreen
    from tests.aws.flawed import seed_flawed

    ids = seed_flawed(aws)
    app = _app(practice_root, AwsConfig(region="us-east-1,eu-west-1", configured=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.driver is not None and app.driver.account is not None
        assert "in us-east-1, eu-west-1" in _prompt(app.screen, READ_ACCOUNT)
        app.action_open_account_check("account-open-admin-ports")
        await settle(pilot)
        state = _text(app.screen, "#state")
        assert f"ec2:eu-west-1:security-group/{ids['security_group']}" in state
        assert "eu-west-1 [FAIL], us-east-1 [PASS]" in state
        await pilot.press("m")
        await settle(pilot)
        matrix = app.screen
        assert isinstance(matrix, AccountMatrixScreen)
        table = matrix.query_one("#matrix", DataTable)
        labels = [str(c.label) for c in table.columns.values()]
        assert labels == ["Check", "Account", "global", "eu-west-1", "us-east-1"]
        row = [str(c) for c in table.get_row("account-public-amis")]
        assert row[1:] == ["[FAIL]", "·", "[FAIL]", "[FAIL]"]
        row = [str(c) for c in table.get_row("account-root-access-keys")]
        assert row[1:] == ["[FAIL]", "[FAIL]", "·", "·"]
        table.move_cursor(row=table.get_row_index("account-imdsv2"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountCheckScreen)
        assert app.screen.check_id == "account-imdsv2"
