from dataclasses import replace

from checks import _plans
from checks.root_password import check, plan
from tests.checks import account
from wizard.actions import DeleteFile, WriteFile
from wizard.facts import Facts, PasswordState, Unit
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


LEGACY_UNIT = """\
[Unit]
ConditionPathExists=!/var/lib/root-password-firstboot.done

[Service]
Type=oneshot
ExecStart=/usr/sbin/usermod -L root
ExecStart=/usr/bin/touch /var/lib/root-password-firstboot.done
"""


def test_a_stamp_keyed_first_boot_unit_fails_even_with_root_locked() -> None:
    # The builder's boot leaves the stamp in the image, and then no launch ever runs the unit.
    unit = Unit("/etc/systemd/system/root-password-firstboot.service", LEGACY_UNIT, True)
    facts = replace(facts_with_root(PasswordState.LOCKED), units=(unit,))
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert finding.evidence[0].path == unit.path and finding.evidence[0].line == 2
    # The plan replaces it with the machine-id keyed unit, even for plain "lock".
    actions = plan(facts, "lock")
    written = [a for a in actions if isinstance(a, WriteFile)]
    assert written and written[0].content == _plans.ROOT_PASSWORD_TEXT.encode()
    assert b"firstboot.done" not in written[0].content


def test_the_current_unit_passes() -> None:
    unit = Unit(
        "/etc/systemd/system/root-password-firstboot.service", _plans.ROOT_PASSWORD_TEXT, True
    )
    facts = replace(facts_with_root(PasswordState.LOCKED), units=(unit,))
    assert check(facts).status is Status.PASS
    assert plan(facts, "lock-and-randomise-at-first-boot") == ()


def test_the_builders_bare_stamp_in_the_image_fails_and_is_deleted() -> None:
    # Even with root locked and no old unit left: a unit that checks the bare stamp (the
    # first version's, or a copy of it) would never run on a launch.
    facts = replace(
        facts_with_root(PasswordState.LOCKED), stamps=(_plans.LEGACY_ROOT_PASSWORD_STAMP,)
    )
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert finding.evidence[0].path == _plans.LEGACY_ROOT_PASSWORD_STAMP
    deletes = [a for a in plan(facts, "lock") if isinstance(a, DeleteFile)]
    assert [(a.path, a.reversible) for a in deletes] == [(_plans.LEGACY_ROOT_PASSWORD_STAMP, True)]


def test_a_keyed_stamp_of_the_builder_warns_and_says_why_it_is_harmless() -> None:
    unit = Unit(
        "/etc/systemd/system/root-password-firstboot.service", _plans.ROOT_PASSWORD_TEXT, True
    )
    facts = replace(
        facts_with_root(PasswordState.LOCKED),
        units=(unit,),
        stamps=(_plans.ROOT_PASSWORD_STAMP,),
        machine_id="",
    )
    finding = check(facts)
    assert finding.status is Status.WARN
    stamp = finding.evidence[-1]
    assert stamp.path == _plans.ROOT_PASSWORD_STAMP
    assert "harmless only because the unit runs again" in stamp.detail
    assert [a.path for a in plan(facts, "lock") if isinstance(a, DeleteFile)] == [
        _plans.ROOT_PASSWORD_STAMP
    ]
    # With the builder's machine-id still in the image every launch has that id: the unit
    # would skip, and the evidence says so.
    kept = check(replace(facts, machine_id="0123456789abcdef0123456789abcdef\n"))
    assert kept.status is Status.WARN
    assert "the unit would skip" in kept.evidence[-1].detail


def test_a_stamp_never_hides_a_failing_root_password() -> None:
    facts = replace(
        facts_with_root(PasswordState.USABLE, "6"), stamps=(_plans.ROOT_PASSWORD_STAMP,)
    )
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert finding.evidence[-1].path == _plans.ROOT_PASSWORD_STAMP
