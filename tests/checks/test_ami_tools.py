from checks.ami_tools import check
from tests.checks import file
from wizard.facts import Facts
from wizard.model import Status

TOOLS = (file("/opt/aws/bin/ec2-bundle-vol"),)


def test_no_tools_nothing_pending_skips() -> None:
    assert check(Facts(pending_updates=0)).status is Status.SKIP
    assert check(Facts()).status is Status.SKIP


def test_pending_updates_warn_with_count() -> None:
    finding = check(Facts(ami_tools=TOOLS, pending_updates=7, package_manager="yum"))
    assert finding.status is Status.WARN
    assert finding.evidence[-1].path == "yum"
    assert "7 pending" in finding.evidence[-1].detail


def test_pending_updates_warn_even_without_tools() -> None:
    assert check(Facts(pending_updates=3)).status is Status.WARN


def test_current_tools_pass() -> None:
    finding = check(Facts(ami_tools=TOOLS, ami_tools_version="1.5.19", pending_updates=0))
    assert finding.status is Status.PASS
    assert "1.5.19" in finding.summary


def test_unknown_updates_is_info() -> None:
    assert check(Facts(ami_tools=TOOLS)).status is Status.INFO
