"""The rows of the README's coverage table that virt-sysprep and Image Builder clean and the
wizard used to miss, planted on a real instance (the crontab and at job by an unprivileged user
through the real spool's ownership): each is reported by the guideline that owns it, secrets
shown with four characters at most; the fixes empty /etc/hostname, cut the pinned lines from an
ifcfg file, shred the Kerberos keytab, and keep the user's crontab and the NetworkManager
profile of a running instance; nothing else changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ClientKey, require
from tests.integration.instance import Instance, missing_requirements
from wizard.model import Status
from wizard.session import Session
from wizard.targets import ConnectOptions, Target, open_target

CRONTAB = "/var/spool/cron/crontabs/builder"
ATJOB = "/var/spool/cron/atjobs/a0000101b2c3d4"
NM = "/etc/NetworkManager/system-connections/office.nmconnection"
IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"
IFCFG_TEXT = "DEVICE=eth0\nHWADDR=02:00:00:aa:bb:cc\nBOOTPROTO=dhcp\nUUID=5fb06bd0-0bb0\n"
KEYTAB = "/etc/krb5.keytab"
NM_PSK = "Tr0ub4dor-office-wifi"
TRACES = {
    CRONTAB: "user-crontab",
    ATJOB: "at-job",
    NM: "network-profile",
    IFCFG: "pinned-network-id",
    "/etc/hostname": "hostname",
    "/etc/aliases.db": "aliases-db",
    "/var/cache/fontconfig/abc-le64.cache-8": "desktop-cache",
    "/var/lib/fprint/builder/synaptics/7": "fingerprint",
    "/etc/ipa/default.conf": "ipa-enrolment",
}


@pytest.fixture(scope="module")
def inst(tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey) -> Iterator[Instance]:
    require(missing_requirements())
    with Instance(tmp_path_factory.mktemp("coverage")) as inst:
        inst.authorize("root", client_key.public_line)
        inst.useradd("builder")
        # The user writes their own crontab and at job into spool directories they own, the
        # way crontab(1) and at(1) leave them (owned by the user, mode 0600).
        for d in ("/var/spool/cron/crontabs", "/var/spool/cron/atjobs"):
            inst.exec(["mkdir", "-p", d])
            inst.exec(["chown", "builder", d])
        user = ["runuser", "-u", "builder", "--", "sh", "-c"]
        inst.exec([*user, f"umask 077; echo '0 3 * * * /home/builder/sync.sh' > {CRONTAB}"])
        inst.exec([*user, f"umask 077; echo 'echo built' > {ATJOB}"])
        inst.write(
            NM,
            f"[connection]\nid=office\ntype=wifi\n\n[wifi-security]\npsk={NM_PSK}\n",
            mode=0o600,
        )
        inst.write(IFCFG, IFCFG_TEXT)
        inst.write("/etc/hostname", "builder-7.build.internal\n")
        inst.write("/etc/aliases.db", b"\x00\x06\x15\x61aliases")
        inst.write("/var/cache/fontconfig/abc-le64.cache-8", b"\x04\xfc\x02\xfc")
        inst.write("/var/lib/fprint/builder/synaptics/7", b"FP1 print", mode=0o600)
        inst.write("/etc/ipa/default.conf", "[global]\nrealm = BUILD.INTERNAL\n")
        inst.write(KEYTAB, b"\x05\x02\x00\x00\x00\x42host/builder-7\x00\x17", mode=0o600)
        yield inst


@pytest.fixture
def target(inst: Instance, client_key: ClientKey, tmp_path: Path) -> Iterator[Target]:
    known = tmp_path / "known_hosts"
    known.write_text(inst.host_key_line() + "\n")
    opts = ConnectOptions(
        identity=str(client_key.path), known_hosts=str(known), use_agent=False, timeout=10
    )
    with open_target(f"ssh://root@127.0.0.1:{inst.port}", opts) as t:
        yield t


def test_found_reported_and_fixed_without_touching_anything_else(
    inst: Instance, target: Target
) -> None:
    session = Session(target)
    before = session.audit()
    traces = {t.file.path: t.category for t in before.facts.traces}
    for path, category in TRACES.items():
        assert traces.get(path) == category, path
    creds = {c.file.path: c for c in before.facts.credentials}
    assert creds[KEYTAB].kind == "kerberos-keytab"
    assert [(h.kind, h.prefix) for h in creds[NM].hits] == [("network-secret", "Tr0u")]
    findings = {f.id: f for f in before.findings}
    text = json.dumps(
        [f.summary for f in before.findings]
        + [e.detail for f in before.findings for e in f.evidence]
    )
    assert NM_PSK not in text and "Tr0ub" not in text
    evidence = {e.path: e.detail for e in findings["system-traces"].evidence}
    assert "crontab of builder" in evidence[CRONTAB]
    assert findings["bundle-credentials"].status is Status.FAIL
    assert findings["system-traces"].status is Status.FAIL
    default = {a.path for a in session.preview("system-traces", "truncate").actions}
    assert CRONTAB not in default and ATJOB not in default and NM not in default  # operator's call
    assert {IFCFG, "/etc/hostname"} <= default
    planned = {
        path
        for check, option in (("system-traces", "remove"), ("bundle-credentials", "delete"))
        for a in session.preview(check, option).actions
        for path in a.paths
    }
    assert NM not in planned  # live: NetworkManager may be using it
    changes_before = {c.path for c in inst.upper_changes()}

    outcome = session.apply(
        {"system-traces": "remove", "bundle-credentials": "delete"}, confirm_irreversible=True
    )
    assert outcome.ok, outcome.errors
    assert inst.read("/etc/hostname") == b""  # emptied, never removed
    assert inst.read(IFCFG) == b"DEVICE=eth0\nBOOTPROTO=dhcp\n"
    assert not inst.exists(KEYTAB)
    assert inst.exists(NM)  # a running instance's network profile stays (and holds a secret:
    # bundle-credentials says to edit it by hand)
    for gone in (
        CRONTAB,
        ATJOB,
        "/etc/aliases.db",
        "/etc/ipa/default.conf",
        "/var/cache/fontconfig/abc-le64.cache-8",
        "/var/lib/fprint/builder/synaptics/7",
    ):
        assert not inst.exists(gone), gone  # `remove` takes what truncate leaves
    touched = planned
    new = [c for c in inst.upper_changes() if c.path not in changes_before]
    stray = [c for c in new if c.kind != "dir" and c.path not in touched]
    assert stray == []

    undone = session.undo()
    assert undone.ok, undone.errors
    assert inst.read(IFCFG) == IFCFG_TEXT.encode()
    assert inst.read("/etc/hostname") == b"builder-7.build.internal\n"
    assert inst.read(CRONTAB) == b"0 3 * * * /home/builder/sync.sh\n"
    assert not inst.exists(KEYTAB)  # a host secret is never journaled


def test_a_network_file_changed_after_the_audit_is_not_rewritten(
    inst: Instance, target: Target
) -> None:
    """The unpinned ifcfg is the probe's text minus some lines: if the file changed since the
    audit (someone added a line), writing it would lose that change, so the step refuses."""
    session = Session(target)
    session.audit()
    changed = IFCFG_TEXT + "MTU=9001\n"
    inst.write(IFCFG, changed)
    try:
        outcome = session.apply({"system-traces": "truncate"})
        assert not outcome.ok
        assert any(IFCFG in e and "changed since the audit" in e for e in outcome.errors), (
            outcome.errors
        )
        assert inst.read(IFCFG) == changed.encode()
    finally:
        session.undo()
        inst.write(IFCFG, IFCFG_TEXT)
