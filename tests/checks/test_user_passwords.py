from checks.user_passwords import check
from tests.checks import account
from wizard.facts import Facts, PasswordState
from wizard.model import Severity, Status


def test_all_locked_passes() -> None:
    facts = Facts(
        accounts=(
            account("root", 0, PasswordState.USABLE),  # root is root-password's business
            account("daemon", 1, PasswordState.LOCKED, "/usr/sbin/nologin"),
            account("bob", 1000, PasswordState.LOCKED),
        )
    )
    assert check(facts).status is Status.PASS


def test_usable_password_fails_per_account_without_hash() -> None:
    facts = Facts(
        accounts=(
            account("root", 0),
            account("bob", 1000, PasswordState.USABLE, scheme="y"),
            account("svc", 998, PasswordState.USABLE, "/usr/sbin/nologin", "6"),
        )
    )
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert finding.severity is Severity.HIGH
    assert [e.path for e in finding.evidence] == ["/etc/shadow", "/etc/shadow"]
    details = [e.detail for e in finding.evidence]
    assert details[0].startswith("bob (uid 1000)") and "yescrypt" in details[0]
    # A nologin shell is mentioned, but the account still fails.
    assert "svc" in details[1] and "/usr/sbin/nologin" in details[1]
    assert "bob, svc" in finding.summary


def test_empty_password_is_critical() -> None:
    facts = Facts(
        accounts=(
            account("bob", 1000, PasswordState.USABLE),
            account("eve", 1001, PasswordState.EMPTY),
        )
    )
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert finding.severity is Severity.CRITICAL
    assert "EMPTY" in finding.evidence[1].detail


def test_unreadable_shadow_is_an_error() -> None:
    facts = Facts(
        accounts=(
            account("root", 0, PasswordState.UNKNOWN),
            account("bob", 1000, PasswordState.UNKNOWN),
        )
    )
    assert check(facts).status is Status.ERROR


def test_only_root_passes() -> None:
    assert check(Facts(accounts=(account("root", 0, PasswordState.USABLE),))).status is Status.PASS
