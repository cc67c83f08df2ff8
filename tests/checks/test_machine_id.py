from checks.machine_id import check
from wizard.facts import Facts
from wizard.model import Status

ID = "4f1c2b9a8e7d6c5b4a39281706f5e4d3\n"


def test_filled_machine_id_fails_with_masked_evidence() -> None:
    finding = check(Facts(machine_id=ID))
    assert finding.status is Status.FAIL
    assert finding.evidence[0].path == "/etc/machine-id"
    assert finding.evidence[0].detail.endswith("4f1c****")
    assert ID[4:12] not in finding.evidence[0].detail


def test_empty_passes_and_uninitialized_counts_as_empty() -> None:
    assert check(Facts(machine_id="")).status is Status.PASS
    assert check(Facts(machine_id="uninitialized\n")).status is Status.PASS


def test_absent_warns() -> None:
    assert check(Facts(machine_id=None)).status is Status.WARN


def test_separate_dbus_copy_fails_even_when_etc_is_empty() -> None:
    finding = check(Facts(machine_id="", dbus_machine_id=ID))
    assert finding.status is Status.FAIL
    assert [e.path for e in finding.evidence] == ["/var/lib/dbus/machine-id"]
