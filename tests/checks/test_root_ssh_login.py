import dataclasses

import pytest

from checks.root_ssh_login import check, plan, unchanged
from wizard.actions import SetSshd
from wizard.apply import resolve_sshd
from wizard.facts import Account, Facts
from wizard.model import Status

MAIN = "/etc/ssh/sshd_config"
DROPIN = "/etc/ssh/sshd_config.d/50-cloud.conf"
UBUNTU_MAIN = "Include /etc/ssh/sshd_config.d/*.conf\n\nPort 22\nPermitRootLogin {main}\n"


def facts(files: dict[str, str], version: str = "9.2p1") -> Facts:
    return Facts(sshd_files=files, sshd_version=version, live=False)


def test_yes_in_main_fails_with_file_and_line() -> None:
    finding = check(facts({MAIN: "# comment\nPermitRootLogin yes\n"}))
    assert finding.status is Status.FAIL
    assert finding.summary.startswith("PermitRootLogin is yes (from /etc/ssh/sshd_config:2)")
    assert (finding.evidence[0].path, finding.evidence[0].line) == (MAIN, 2)


def test_include_before_main_file_wins() -> None:
    files = {MAIN: UBUNTU_MAIN.format(main="yes"), DROPIN: "PermitRootLogin no\n"}
    finding = check(facts(files))
    assert finding.status is Status.PASS
    assert f"from {DROPIN}:1" in finding.summary
    # And the other way round: a drop-in saying yes beats the main file's no.
    files = {MAIN: UBUNTU_MAIN.format(main="no"), DROPIN: "PermitRootLogin yes\n"}
    finding = check(facts(files))
    assert finding.status is Status.FAIL
    assert finding.evidence[0].path == DROPIN


def test_without_password_passes_as_the_deprecated_spelling() -> None:
    finding = check(facts({MAIN: "PermitRootLogin without-password\n"}))
    assert finding.status is Status.PASS
    assert "deprecated spelling of prohibit-password" in finding.summary


def test_forced_commands_only_and_no_pass() -> None:
    for value in ("forced-commands-only", "no", "prohibit-password"):
        assert check(facts({MAIN: f"PermitRootLogin {value}\n"})).status is Status.PASS


def test_match_block_reenabling_root_fails_with_match_line() -> None:
    text = "PermitRootLogin prohibit-password\nUsePAM yes\n\nMatch Address 10.0.0.0/8\n    PermitRootLogin yes\n"
    finding = check(facts({MAIN: text}))
    assert finding.status is Status.FAIL
    assert "Match block at /etc/ssh/sshd_config:4" in finding.summary
    lines = [(e.path, e.line) for e in finding.evidence]
    assert (MAIN, 4) in lines and (MAIN, 5) in lines


ROOT = Account("root", 0, 0, "/root", "/bin/bash")
BOB = Account("bob", 1000, 1000, "/home/bob", "/bin/bash")
TOOR = Account("toor", 0, 0, "/root", "/bin/sh")


def with_accounts(files: dict[str, str], *accounts: Account) -> Facts:
    return Facts(sshd_files=files, sshd_version="9.2p1", live=False, accounts=accounts)


@pytest.mark.parametrize(
    "criteria",
    [
        "Address *",
        "User root",
        "Group root",
        "LocalPort 22",
        "Host *.example.com",
        "User *,!bob",
        "User r?o*",
        "Address 203.0.113.0/24,!203.0.113.5",
        "User root Address 10.0.0.0/8 LocalPort 2222",
        "User=root",
    ],
)
def test_any_match_block_that_can_reach_root_fails(criteria: str) -> None:
    text = f"PermitRootLogin no\nMatch {criteria}\n  PermitRootLogin yes\n"
    finding = check(with_accounts({MAIN: text}, ROOT, BOB))
    assert finding.status is Status.FAIL
    assert "a Match block at /etc/ssh/sshd_config:2 sets it to yes" in finding.summary
    assert any(e.line == 3 and "inside Match" in e.detail for e in finding.evidence)


@pytest.mark.parametrize(
    "criteria",
    [
        "User bob",  # PermitRootLogin is only consulted for uid 0
        "User !root",  # only negations: sshd's pattern list never matches
        "User *,!root",
        "Address !*",
        "Address 10.0.0.1,!10.0.0.1",
    ],
)
def test_match_block_that_cannot_reach_root_passes_with_evidence(criteria: str) -> None:
    text = f"PermitRootLogin no\nMatch {criteria}\n  PermitRootLogin yes\n"
    finding = check(with_accounts({MAIN: text}, ROOT, BOB))
    assert finding.status is Status.PASS
    assert any(e.line == 3 and "cannot match root" in e.detail for e in finding.evidence)


def test_another_uid_0_account_counts_as_root() -> None:
    text = "PermitRootLogin no\nMatch User toor\n  PermitRootLogin yes\n"
    assert check(with_accounts({MAIN: text}, ROOT, BOB)).status is Status.PASS
    assert check(with_accounts({MAIN: text}, ROOT, TOOR)).status is Status.FAIL
    # Without /etc/passwd nobody is known not to be root.
    assert check(facts({MAIN: text})).status is Status.FAIL


def test_an_earlier_block_that_always_matches_root_shadows_later_ones() -> None:
    text = (
        "PermitRootLogin no\nMatch User root\n  PermitRootLogin no\n"
        "Match Address *\n  PermitRootLogin yes\n"
    )
    assert check(with_accounts({MAIN: text}, ROOT, BOB)).status is Status.PASS
    # ... but a block that only sometimes matches does not.
    text = text.replace("Match User root", "Match User root Address 10.0.0.0/8")
    assert check(with_accounts({MAIN: text}, ROOT, BOB)).status is Status.FAIL


def test_include_inside_match_is_judged_inside_that_block() -> None:
    files = {
        MAIN: "PermitRootLogin no\nMatch Address *\n  Include /etc/ssh/my conf.d/*.conf\n",
        "/etc/ssh/my conf.d/10-x.conf": "PermitRootLogin yes\n",
    }
    files[MAIN] = files[MAIN].replace("/etc/ssh/my conf.d/*.conf", '"/etc/ssh/my conf.d/*.conf"')
    finding = check(with_accounts(files, ROOT))
    assert finding.status is Status.FAIL
    assert any(e.path == "/etc/ssh/my conf.d/10-x.conf" for e in finding.evidence)


SPEC_ROOT = "user=root,host=203.0.113.9,addr=203.0.113.9,laddr=192.0.2.10,lport=22"
SPEC_USER = "user=nobody,host=203.0.113.9,addr=203.0.113.9,laddr=192.0.2.10,lport=22"


def test_live_sshd_t_c_for_root_is_the_truth() -> None:
    f = Facts(
        live=True,
        sshd_files={MAIN: "PermitRootLogin no\n"},
        sshd_version="9.2p1",
        sshd_t={"permitrootlogin": ("no",)},
        sshd_t_conn={
            SPEC_ROOT: {"permitrootlogin": ("yes",)},
            SPEC_USER: {"permitrootlogin": ("no",)},
        },
        accounts=(ROOT,),
    )
    finding = check(f)
    assert finding.status is Status.FAIL
    assert f"the running sshd, for {SPEC_ROOT}, sets it to yes" in finding.summary
    assert any(e.path == f"sshd -T -C {SPEC_ROOT}" for e in finding.evidence)
    # Only root's answers count for root login.
    f = dataclasses.replace(f, sshd_t_conn={SPEC_USER: {"permitrootlogin": ("yes",)}})
    assert check(f).status is Status.PASS


def test_fix_clears_the_reopening_match_block_and_then_passes() -> None:
    text = "PermitRootLogin prohibit-password\nMatch Address *\n  PermitRootLogin yes\n"
    f = with_accounts({MAIN: text}, ROOT)
    actions = plan(f, "prohibit-password")
    assert actions == (
        SetSshd(
            check_id="root-ssh-login",
            keyword="PermitRootLogin",
            args=("prohibit-password",),
            clear_in_match=("yes",),
        ),
    )
    assert "disable PermitRootLogin yes in Match blocks" in actions[0].describe()
    texts = resolve_sshd(dict(f.sshd_files), MAIN, f.sshd_version, actions)
    done = dataclasses.replace(f, sshd_files=texts)
    assert check(done).status is Status.PASS
    assert plan(done, "prohibit-password") == ()


def test_unchanged_is_unknown_only_when_sshd_t_failed() -> None:
    f = with_accounts({MAIN: "PermitRootLogin no\n"}, ROOT)
    assert plan(f, "no") == ()
    assert unchanged(f, "no") is None  # read and compliant: the finding's PASS explains it
    failed = dataclasses.replace(f, live=True, sshd_t=None, sshd_t_error="Bad configuration")
    reason = unchanged(failed, "no")
    assert reason is not None and reason.unknown
    assert "Bad configuration" in reason.reason


def test_match_block_setting_no_is_fine() -> None:
    text = "PermitRootLogin prohibit-password\nMatch User backup\n    PermitRootLogin no\n"
    assert check(facts({MAIN: text})).status is Status.PASS


def test_version_dependent_default() -> None:
    old = check(facts({MAIN: "Port 22\n"}, version="6.6.1p1"))
    assert old.status is Status.FAIL
    assert "default of OpenSSH 6.6.1p1" in old.summary
    new = check(facts({MAIN: "Port 22\n"}, version="7.4p1"))
    assert new.status is Status.PASS
    assert "prohibit-password" in new.summary


def test_live_sshd_t_is_the_truth_and_disagreement_is_evidence() -> None:
    f = Facts(
        live=True,
        sshd_files={MAIN: "PermitRootLogin no\n"},
        sshd_version="9.2p1",
        sshd_t={"permitrootlogin": ("yes",)},
    )
    finding = check(f)
    assert finding.status is Status.FAIL
    assert any(
        e.path == "sshd -T" and "reports PermitRootLogin yes" in e.detail for e in finding.evidence
    )


def test_live_without_password_spelling_of_sshd_t_agrees() -> None:
    f = Facts(
        live=True,
        sshd_files={MAIN: "PermitRootLogin prohibit-password\n"},
        sshd_version="9.2p1",
        sshd_t={"permitrootlogin": ("without-password",)},
    )
    finding = check(f)
    assert finding.status is Status.PASS
    assert "confirmed by sshd -T" in finding.summary
    assert all(e.path != "sshd -T" for e in finding.evidence)


def test_no_sshd_skips() -> None:
    assert check(Facts()).status is Status.SKIP
