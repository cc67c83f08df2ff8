"""The sshd template (`checks._sshd.Guideline`): one parametrised check serves every sshd
keyword guideline, and the three shipped ones are nothing but its data."""

from __future__ import annotations

from checks import _sshd, root_ssh_login, ssh_password_auth, ssh_use_dns
from wizard.actions import SetSshd
from wizard.facts import Facts
from wizard.model import Status

MAIN = "/etc/ssh/sshd_config"

# A guideline that is only data: PermitEmptyPasswords must be no for every connection.
EMPTY = _sshd.Guideline(
    "ssh-password-auth",  # any catalog entry with one option serves for the test
    rules=(_sshd.Rule("permitemptypasswords", frozenset({"yes"})),),
    reopened="{summary}, but {where} allows empty passwords",
    value="no",
)


def facts(text: str) -> Facts:
    return Facts(sshd_files={MAIN: text}, sshd_version="9.2p1", live=False)


def test_the_shipped_sshd_guidelines_are_the_template() -> None:
    for module in (root_ssh_login, ssh_password_auth, ssh_use_dns):
        assert isinstance(module.GUIDELINE, _sshd.Guideline)
        assert module.check == module.GUIDELINE.check
        assert module.plan == module.GUIDELINE.plan
        assert module.GUIDELINE.check_id == module.ID


def test_a_keyword_from_data_is_judged_globally_and_per_match_block() -> None:
    assert EMPTY.check(facts("Port 22\n")).status is Status.PASS
    bad = EMPTY.check(facts("PermitEmptyPasswords yes\n"))
    assert bad.status is Status.FAIL
    assert bad.summary == "PermitEmptyPasswords is yes (from /etc/ssh/sshd_config:1)"
    text = "PermitEmptyPasswords no\nMatch User bob\n  PermitEmptyPasswords yes\n"
    reopened = EMPTY.check(facts(text))
    assert reopened.status is Status.FAIL
    assert reopened.summary.endswith(
        "but a Match block at /etc/ssh/sshd_config:2 allows empty passwords"
    )
    assert EMPTY.plan(facts(text), "disable") == (
        SetSshd(
            check_id="ssh-password-auth",
            keyword="PermitEmptyPasswords",
            args=("no",),
            clear_in_match=("yes",),
        ),
    )
    assert EMPTY.plan(facts("PermitEmptyPasswords no\n"), "disable") == ()
    assert EMPTY.check(Facts()).status is Status.SKIP
