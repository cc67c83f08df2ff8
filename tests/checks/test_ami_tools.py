"""ami-tools: the check on hand-built Facts, and the package managers' outputs parsed.

The apt output is recorded on the Debian 12 machine these tests run on; apt is also exercised
for real in tests/integration/test_ami_tools.py. dnf, yum, zypper and apk cannot run here:
their outputs below are written in each tool's documented format (wrapped long names,
obsoletes, table rows, advisories) and test only our parsing and the commands we build.
"""

from pathlib import Path

import pytest

from checks.ami_tools import check, plan, unchanged
from tests.checks import file
from wizard.actions import PlanRefused, RunCommand
from wizard.facts import Facts
from wizard.model import Status
from wizard.probe_records import count_security_updates, parse_updates

TOOLS = (file("/opt/aws/bin/ec2-bundle-vol"),)
APT = (Path(__file__).parent.parent / "data" / "packages" / "apt-list-upgradable.txt").read_text()
APT_AMI = "ec2-ami-tools/stable 1.5.19-1 all [upgradable from: 1.4.0-2]\n"
DNF = """\

aws-amitools-ec2.noarch              1.5.19-1.amzn2                amzn2-core
a-package-with-a-really-long-name-for-the-column.x86_64
                                     2.0-1.amzn2                   amzn2-core
kernel.x86_64                        4.14.355-275.582.amzn2        amzn2-core
Obsoleting Packages
grub2.x86_64                         1:2.06-70.amzn2               amzn2-core
    grub2-tools.x86_64               1:2.06-61.amzn2               @amzn2-core
"""
DNF_SEC = """\
ALAS2-2024-2601 important/Sec. kernel-4.14.355-275.582.amzn2.x86_64
ALAS2-2024-2602 medium/Sec.    kernel-4.14.355-275.582.amzn2.x86_64
ALAS2-2024-2610 low/Sec.       curl-8.3.0-1.amzn2.0.7.x86_64
ALAS2-2024-2700 bugfix         aws-amitools-ec2-1.5.19-1.amzn2.noarch
"""
ZYPPER = """\
Loading repository data...
Reading installed packages...
S | Repository | Name             | Current Version | Available Version | Arch
--+------------+------------------+-----------------+-------------------+-------
v | repo-oss   | aws-amitools-ec2 | 1.5.7-1.1       | 1.5.19-1.1        | noarch
v | repo-oss   | openssl-3        | 3.1.4-1         | 3.1.4-9           | x86_64
"""
ZYPPER_SEC = """\
Repository | Name               | Category    | Severity  | Interactive | Status  | Summary
-----------+--------------------+-------------+-----------+-------------+---------+--------
repo-upd   | openSUSE-2024-1234 | security    | important | ---         | needed  | openssl
repo-upd   | openSUSE-2024-1235 | security    | low       | ---         | applied | curl
repo-upd   | openSUSE-2024-1236 | recommended | moderate  | ---         | needed  | zypper
"""
APK = """\
Installed:                                Available:
aws-amitools-ec2-1.5.7-r0               < 1.5.19-r0
busybox-1.36.1-r15                      < 1.36.1-r20
"""


def test_no_tools_nothing_pending_skips_and_says_ebs_needs_none() -> None:
    finding = check(Facts(pending_updates=0))
    assert finding.status is Status.SKIP
    assert "EBS-backed" in finding.summary
    assert check(Facts()).status is Status.SKIP


def test_pending_updates_warn_with_count_and_names() -> None:
    facts = Facts(
        ami_tools=TOOLS,
        pending_updates=7,
        package_manager="yum",
        pending_packages=("a", "b", "c", "d", "e", "f", "g"),
        pending_security=2,
    )
    finding = check(facts)
    assert finding.status is Status.WARN
    assert finding.evidence[-1].path == "yum"
    assert "7 pending" in finding.evidence[-1].detail
    assert "and 2 more" in finding.evidence[-1].detail
    assert "(2 for security)" in finding.evidence[-1].detail


def test_pending_updates_warn_even_without_tools() -> None:
    assert check(Facts(pending_updates=3)).status is Status.WARN


def test_current_tools_pass_with_the_package_version() -> None:
    facts = Facts(
        ami_tools=TOOLS,
        ami_tools_package="aws-amitools-ec2",
        ami_tools_version="1.5.19-1.amzn2",
        package_manager="dnf",
        pending_updates=0,
    )
    finding = check(facts)
    assert finding.status is Status.PASS
    assert "1.5.19-1.amzn2" in finding.summary
    assert any(e.path == "/var/lib/rpm" for e in finding.evidence)


def test_outdated_package_warns_with_both_versions() -> None:
    facts = Facts(
        ami_tools_package="ec2-ami-tools",
        ami_tools_version="1.4.0-2",
        ami_tools_update="1.5.19-1",
        package_manager="apt",
        pending_updates=1,
    )
    finding = check(facts)
    assert finding.status is Status.WARN
    assert "1.4.0-2" in finding.summary and "1.5.19-1" in finding.summary


def test_unknown_updates_is_info() -> None:
    assert check(Facts(ami_tools=TOOLS)).status is Status.INFO
    assert "not a live target" in check(Facts(ami_tools=TOOLS, live=False)).summary


@pytest.mark.parametrize(
    ("manager", "everything", "one"),
    [
        ("apt", ("upgrade",), ("install", "--only-upgrade", "ec2-ami-tools")),
        ("dnf", ("dnf", "-y", "upgrade"), ("dnf", "-y", "upgrade", "ec2-ami-tools")),
        ("yum", ("yum", "-y", "update"), ("yum", "-y", "update", "ec2-ami-tools")),
        (
            "zypper",
            ("zypper", "--non-interactive", "update"),
            ("zypper", "--non-interactive", "update", "ec2-ami-tools"),
        ),
        ("apk", ("apk", "upgrade"), ("apk", "upgrade", "ec2-ami-tools")),
    ],
)
def test_update_commands_per_package_manager(
    manager: str, everything: tuple[str, ...], one: tuple[str, ...]
) -> None:
    facts = Facts(
        package_manager=manager,
        pending_updates=2,
        ami_tools_package="ec2-ami-tools",
        ami_tools_update="1.5.19",
    )
    (full,) = plan(facts, "update")
    (single,) = plan(facts, "ami-tools-only")
    assert isinstance(full, RunCommand) and isinstance(single, RunCommand)
    assert full.argv[-len(everything) :] == everything
    assert single.argv[-len(one) :] == one
    assert not full.reversible and not single.reversible
    if manager == "apt":
        assert full.argv[:3] == ("env", "DEBIAN_FRONTEND=noninteractive", "apt-get")


def test_images_and_unknown_managers_are_refused() -> None:
    with pytest.raises(PlanRefused, match="image"):
        plan(Facts(live=False, pending_updates=1, package_manager="apt"), "update")
    with pytest.raises(PlanRefused, match="package manager"):
        plan(Facts(pending_updates=1, package_manager="pacman"), "update")
    with pytest.raises(PlanRefused, match="not from a package"):
        plan(Facts(ami_tools=TOOLS, pending_updates=0), "ami-tools-only")


def test_current_package_plans_nothing_and_says_why() -> None:
    facts = Facts(ami_tools_package="ec2-ami-tools", pending_updates=0, package_manager="apt")
    assert plan(facts, "ami-tools-only") == ()
    assert plan(facts, "update") == ()
    assert unchanged(Facts(), "ami-tools-only") is not None
    gone = unchanged(Facts(ami_tools=TOOLS), "update")
    assert gone is not None and gone.unknown


def test_apt_recorded_output() -> None:
    updates = parse_updates("apt", "0", APT + APT_AMI)
    assert updates is not None
    assert len(updates) == 12  # 11 recorded lines (after "Listing...") + the AMI tools
    assert updates["ec2-ami-tools"] == "1.5.19-1"
    assert updates["apt"] == "2.6.2"
    assert count_security_updates("apt", "0", APT, parse_updates("apt", "0", APT)) == 3
    assert parse_updates("apt", "124", "") is None  # timed out: unknown, never zero
    assert count_security_updates("apt", "124", "", None) is None


def test_dnf_yum_output_with_wrapped_names_and_obsoletes() -> None:
    for manager in ("dnf", "yum"):
        updates = parse_updates(manager, "100", DNF)
        assert updates == {
            "aws-amitools-ec2": "1.5.19-1.amzn2",
            "a-package-with-a-really-long-name-for-the-column": "2.0-1.amzn2",
            "kernel": "4.14.355-275.582.amzn2",
        }
        assert parse_updates(manager, "0", "") == {}
        assert parse_updates(manager, "1", "Error: cache empty") is None
        assert count_security_updates(manager, "0", DNF_SEC, updates) == 2


def test_zypper_output() -> None:
    updates = parse_updates("zypper", "0", ZYPPER)
    assert updates == {"aws-amitools-ec2": "1.5.19-1.1", "openssl-3": "3.1.4-9"}
    assert count_security_updates("zypper", "0", ZYPPER_SEC, updates) == 1
    assert count_security_updates("zypper", "106", "", updates) is None


def test_apk_output() -> None:
    updates = parse_updates("apk", "0", APK)
    assert updates == {"aws-amitools-ec2": "1.5.19-r0", "busybox": "1.36.1-r20"}
    assert count_security_updates("apk", "0", "", updates) is None  # apk keeps no advisories
