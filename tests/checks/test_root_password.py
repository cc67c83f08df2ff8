from checks.root_password import check
from tests.checks import account
from wizard.facts import Facts, PasswordState
from wizard.model import Severity, Status


def facts_with_root(state: PasswordState, scheme: str = "") -> Facts:
    return Facts(accounts=(account("root", 0, state, scheme=scheme), account("bob", 1000)))


def test_locked_root_passes() -> None:
    finding = check(facts_with_root(PasswordState.LOCKED))
    assert finding.status is Status.PASS
    assert finding.recommended == "lock"
    assert finding.options == ("lock", "lock-and-randomise-at-first-boot", "disable")


def test_usable_root_fails_and_names_the_scheme_not_the_hash() -> None:
    finding = check(facts_with_root(PasswordState.USABLE, "6"))
    assert finding.status is Status.FAIL
    assert finding.severity is Severity.HIGH
    assert finding.evidence[0].path == "/etc/shadow"
    assert "SHA-512-crypt" in finding.evidence[0].detail
    assert "$6$" not in finding.evidence[0].detail


def test_empty_root_is_critical() -> None:
    finding = check(facts_with_root(PasswordState.EMPTY))
    assert finding.status is Status.FAIL
    assert finding.severity is Severity.CRITICAL


def test_no_shadow_entry_warns() -> None:
    assert check(facts_with_root(PasswordState.NO_ENTRY)).status is Status.WARN


def test_unreadable_shadow_is_an_error() -> None:
    finding = check(facts_with_root(PasswordState.UNKNOWN))
    assert finding.status is Status.ERROR
    assert "could not read /etc/shadow (not root?)" in finding.summary


def test_missing_root_account_is_an_error() -> None:
    assert check(Facts(accounts=(account("bob", 1000),))).status is Status.ERROR
