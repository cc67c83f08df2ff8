import dataclasses

import pytest

from checks.ssh_password_auth import check, plan, unchanged
from wizard.apply import resolve_sshd
from wizard.facts import Facts
from wizard.model import Status

MAIN = "/etc/ssh/sshd_config"
OFF = "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"


def facts(
    text: str, version: str = "9.2p1", sshd_t: dict[str, tuple[str, ...]] | None = None
) -> Facts:
    return Facts(
        sshd_files={MAIN: text}, sshd_version=version, live=sshd_t is not None, sshd_t=sshd_t
    )


def test_both_off_passes() -> None:
    finding = check(facts(OFF))
    assert finding.status is Status.PASS
    assert [e.line for e in finding.evidence] == [1, 2]


def test_defaults_fail() -> None:
    finding = check(facts("Port 22\n"))
    assert finding.status is Status.FAIL
    assert "PasswordAuthentication is yes (default of OpenSSH 9.2p1)" in finding.summary


def test_keyboard_interactive_alone_fails() -> None:
    finding = check(facts("PasswordAuthentication no\n"))
    assert finding.status is Status.FAIL
    assert "KbdInteractiveAuthentication is yes" in finding.summary


def test_old_alias_challenge_response_counts_on_new_openssh() -> None:
    finding = check(facts("ChallengeResponseAuthentication yes\nPasswordAuthentication no\n"))
    assert finding.status is Status.FAIL
    assert (finding.evidence[-1].line, finding.evidence[-1].detail) == (
        1,
        "KbdInteractiveAuthentication yes",
    )


def test_before_8_7_challenge_response_is_the_switch() -> None:
    assert check(facts("PasswordAuthentication no\n", version="7.4p1")).status is Status.FAIL
    ok = "PasswordAuthentication no\nChallengeResponseAuthentication no\n"
    finding = check(facts(ok, version="7.4p1"))
    assert finding.status is Status.PASS
    assert "ChallengeResponseAuthentication is no" in finding.summary


def test_match_block_reopening_passwords_fails() -> None:
    text = OFF + "Match User deploy Address 192.0.2.0/24\n  PasswordAuthentication yes\n"
    finding = check(facts(text))
    assert finding.status is Status.FAIL
    assert "Match block at /etc/ssh/sshd_config:3" in finding.summary
    assert finding.evidence[-1].line == 4


@pytest.mark.parametrize(
    "line",
    [
        "Match Address *\n  PasswordAuthentication yes",
        "Match LocalPort 22\n  KbdInteractiveAuthentication yes",
        "Match Group users\n  ChallengeResponseAuthentication yes",
        "Match Host *\n  PermitEmptyPasswords yes",
    ],
)
def test_every_reachable_password_route_in_a_match_block_fails(line: str) -> None:
    finding = check(facts(OFF + line + "\n"))
    assert finding.status is Status.FAIL
    assert "a Match block at /etc/ssh/sshd_config:3 turns them on again" in finding.summary


def test_match_blocks_that_match_nobody_pass() -> None:
    text = OFF + "Match User !deploy\n  PasswordAuthentication yes\n"
    finding = check(facts(text))
    assert finding.status is Status.PASS
    assert any("cannot match any connection" in e.detail for e in finding.evidence)


def test_permit_empty_passwords_counts_only_when_on() -> None:
    assert "PermitEmptyPasswords" not in check(facts(OFF)).summary
    finding = check(facts(OFF + "PermitEmptyPasswords yes\n"))
    assert finding.status is Status.FAIL
    assert "PermitEmptyPasswords is yes (from /etc/ssh/sshd_config:3)" in finding.summary


def test_fix_turns_off_routes_reopened_in_match_blocks() -> None:
    f = facts(OFF + "Match Address *\n  PasswordAuthentication yes\n  PermitEmptyPasswords yes\n")
    actions = plan(f, "disable")
    assert {(a.keyword, a.clear_in_match) for a in actions} == {
        ("PasswordAuthentication", ("yes",)),
        ("PermitEmptyPasswords", ("yes",)),
    }
    texts = resolve_sshd(dict(f.sshd_files), MAIN, f.sshd_version, actions)
    done = dataclasses.replace(f, sshd_files=texts)
    assert check(done).status is Status.PASS
    assert plan(done, "disable") == ()
    assert unchanged(done, "disable") is None  # known and compliant: the status says so


def test_live_sshd_t_c_for_any_user_counts() -> None:
    spec = "user=nobody,host=127.0.0.1,addr=127.0.0.1,laddr=127.0.0.1,lport=22"
    f = dataclasses.replace(
        facts(OFF, sshd_t={"passwordauthentication": ("no",)}),
        sshd_t_conn={spec: {"passwordauthentication": ("yes",)}},
    )
    finding = check(f)
    assert finding.status is Status.FAIL
    assert f"for {spec}" in finding.summary


def test_include_first_wins() -> None:
    files = {
        MAIN: "Include /etc/ssh/sshd_config.d/*.conf\n" + OFF,
        "/etc/ssh/sshd_config.d/60-cloudimg.conf": "PasswordAuthentication yes\n",
    }
    finding = check(Facts(sshd_files=files, sshd_version="9.6p1", live=False))
    assert finding.status is Status.FAIL
    assert finding.evidence[0].path == "/etc/ssh/sshd_config.d/60-cloudimg.conf"


def test_live_sshd_t_decides() -> None:
    f = facts(
        OFF, sshd_t={"passwordauthentication": ("yes",), "kbdinteractiveauthentication": ("no",)}
    )
    finding = check(f)
    assert finding.status is Status.FAIL
    assert any(e.path == "sshd -T" for e in finding.evidence)
