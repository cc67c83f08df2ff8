from checks.cloud_init_state import check
from wizard.facts import CloudInit, Facts
from wizard.model import Status


def test_absent_cloud_init_skips() -> None:
    facts = Facts(cloud_init=CloudInit(installed=False, state_entries=("/var/lib/cloud/instance",)))
    assert check(facts).status is Status.SKIP


def test_clean_state_passes() -> None:
    assert check(Facts(cloud_init=CloudInit(installed=True, enabled=True))).status is Status.PASS


def test_state_fails_with_each_entry() -> None:
    entries = (
        "/var/log/cloud-init.log",
        "/var/lib/cloud/instances/i-0abc",
        "/var/lib/cloud/sem/config_scripts_per_once.once",
        "data",
    )
    finding = check(Facts(cloud_init=CloudInit(installed=True, state_entries=entries)))
    assert finding.status is Status.FAIL
    assert [e.path for e in finding.evidence] == [*entries[:3], "/var/lib/cloud/data"]
    assert [e.detail for e in finding.evidence][:2] == ["cloud-init log", "cloud-init state"]
    assert finding.recommended == "clean"
