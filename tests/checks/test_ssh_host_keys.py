from checks.ssh_host_keys import check
from tests.checks import file, pubkey
from wizard.facts import CloudInit, Facts, HostKey, Unit
from wizard.model import Severity, Status

CLOUD_CFG = "ssh_genkeytypes: [ed25519, ecdsa]\ncloud_init_modules:\n  - ssh\n"
ED = HostKey(
    file("/etc/ssh/ssh_host_ed25519_key"),
    file("/etc/ssh/ssh_host_ed25519_key.pub"),
    pubkey("/etc/ssh/ssh_host_ed25519_key.pub"),
)
DEBIAN_UNIT = Unit(
    "/lib/systemd/system/regenerate_ssh_host_keys.service",
    "[Unit]\nBefore=ssh.service\n[Service]\nExecStart=/usr/bin/ssh-keygen -A -v\n",
    enabled=True,
)


def test_keys_present_fail_with_fingerprints_and_regeneration() -> None:
    facts = Facts(
        host_keys=(ED,),
        cloud_init=CloudInit(True, "23.1", True, {"/etc/cloud/cloud.cfg": CLOUD_CFG}),
    )
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert finding.severity is Severity.HIGH
    paths = [e.path for e in finding.evidence]
    assert paths[:2] == ["/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ed25519_key.pub"]
    assert "SHA256:" in finding.evidence[1].detail
    assert (finding.evidence[2].path, finding.evidence[2].line) == ("/etc/cloud/cloud.cfg", 3)
    assert "ed25519, ecdsa" in finding.evidence[2].detail
    assert "new ones are made" in finding.summary
    assert finding.recommended == "delete-and-regenerate"


def test_keys_present_without_regeneration_say_so() -> None:
    ssh_service = Unit(
        "/lib/systemd/system/ssh.service", "[Service]\nExecStartPre=/usr/sbin/sshd -t\n", True
    )
    finding = check(Facts(host_keys=(ED,), units=(ssh_service,)))
    assert finding.status is Status.FAIL
    assert "NOTHING" in finding.summary


def test_no_keys_and_debian_regeneration_unit_passes() -> None:
    finding = check(Facts(units=(DEBIAN_UNIT,)))
    assert finding.status is Status.PASS
    assert finding.evidence[0].path == DEBIAN_UNIT.path
    assert finding.evidence[0].line == 4


def test_no_keys_and_nothing_to_regenerate_fails() -> None:
    disabled = Unit(DEBIAN_UNIT.path, DEBIAN_UNIT.text, enabled=False)
    finding = check(Facts(units=(disabled,)))
    assert finding.status is Status.FAIL
    assert "NOT enabled" in finding.evidence[0].detail


def test_rhel_sshd_keygen_and_custom_unit_ordering() -> None:
    keygen = Unit(
        "/usr/lib/systemd/system/sshd-keygen@.service",
        "ExecStart=/usr/libexec/openssh/sshd-keygen %i",
        False,
    )
    custom = Unit(
        "/etc/systemd/system/firstboot.service", "[Service]\nExecStart=ssh-keygen -A\n", True
    )
    finding = check(Facts(units=(keygen, custom)))
    assert finding.status is Status.PASS
    assert "not ordered before sshd" in finding.evidence[1].detail


def test_private_key_without_public_half() -> None:
    finding = check(
        Facts(
            host_keys=(HostKey(file("/etc/ssh/ssh_host_rsa_key"), None),),
            rc_local="ssh-keygen -A\n",
        )
    )
    assert finding.status is Status.FAIL
    assert finding.evidence[0].detail == "private host key"
    assert finding.evidence[1].path == "/etc/rc.local"
