from checks.root_ssh_login import check
from wizard.facts import Facts
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


def test_match_block_reenabling_root_warns_with_match_line() -> None:
    text = "PermitRootLogin prohibit-password\nUsePAM yes\n\nMatch Address 10.0.0.0/8\n    PermitRootLogin yes\n"
    finding = check(facts({MAIN: text}))
    assert finding.status is Status.WARN
    assert "Match block at /etc/ssh/sshd_config:4" in finding.summary
    lines = [(e.path, e.line) for e in finding.evidence]
    assert (MAIN, 4) in lines and (MAIN, 5) in lines


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
