from checks.ssh_use_dns import check, plan, unchanged
from wizard.facts import Facts
from wizard.model import Severity, Status

MAIN = "/etc/ssh/sshd_config"


def facts(text: str, version: str = "9.2p1") -> Facts:
    return Facts(sshd_files={MAIN: text}, sshd_version=version, live=False)


def test_default_no_since_6_8_passes() -> None:
    finding = check(facts("Port 22\n"))
    assert finding.status is Status.PASS
    assert finding.severity is Severity.LOW
    assert finding.options == ("no", "yes")
    assert finding.recommended == "no"


def test_explicit_yes_warns_with_line() -> None:
    finding = check(facts("Port 22\nUseDNS yes\n"))
    assert finding.status is Status.WARN
    assert "from /etc/ssh/sshd_config:2" in finding.summary


def test_old_openssh_default_yes_warns() -> None:
    assert check(facts("Port 22\n", version="6.6p1")).status is Status.WARN
    assert check(facts("UseDNS no\n", version="6.6p1")).status is Status.PASS


def test_live_value_from_sshd_t() -> None:
    f = Facts(
        sshd_files={MAIN: "UseDNS no\n"},
        sshd_version="9.2p1",
        live=True,
        sshd_t={"usedns": ("yes",)},
    )
    assert check(f).status is Status.WARN


def test_keeping_use_dns_yes_plans_nothing_and_stays_a_warning() -> None:
    f = facts("UseDNS yes\n")
    assert plan(f, "yes") == ()
    # no reason of its own: the preview reports the WARN status ("still a warning")
    assert unchanged(f, "yes") is None
    assert check(f).status is Status.WARN


def test_unchanged_says_when_the_state_is_unknown() -> None:
    live = Facts(
        sshd_files={MAIN: "UseDNS no\n"},
        sshd_version="9.2p1",
        live=True,
        sshd_t_error="sshd: no hostkeys available",
    )
    assert plan(live, "no") == ()
    reason = unchanged(live, "no")
    assert reason is not None and reason.unknown and "no hostkeys" in reason.reason
