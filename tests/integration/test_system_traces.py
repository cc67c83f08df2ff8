"""system-traces on a real instance: every category planted, reported with count and size,
removed, verified by a new probe; a socket and files held open by a running process survive;
nothing but the traces changed; undo puts back what was journaled and names the rest. Zeroing
the free space is proven on a small loop-mounted ext4 inside the instance, never the real disk.

One instance for the module (planting is the slow part); each test only reads it or changes
what it planted itself.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ClientKey, require
from tests.integration.instance import Instance, missing_requirements
from wizard.actions import ClearTrace, ZeroFreeSpace
from wizard.apply import Applier
from wizard.journal import Journal
from wizard.model import Status
from wizard.session import Session
from wizard.targets import ConnectOptions, Target, open_target

# path -> (category, content); every one must be reported, and gone (or emptied) after remove.
PLANTED = {
    "/var/log/planted.log": ("log", b"Accepted publickey for builder from 10.0.0.5\n" * 20),
    "/var/log/planted.log.1": ("rotated-log", b"older lines\n"),
    "/var/log/planted.log.2.gz": ("rotated-log", b"\x1f\x8b" + b"\0" * 40),
    "/var/log/journal/0123abcd/system.journal": ("journal", b"LPKSHHRH" + b"\0" * 200),
    "/var/log/audit/audit.log": ("audit-log", b"type=USER_LOGIN msg=audit(1.0:1)\n"),
    "/var/log/btmp": ("login-record", b"\0" * 384),
    "/var/tmp/build-artifact.tar": ("tmp", b"t" * 3000),
    "/var/tmp/deep/a/b/c/d/e/f/leftover": ("tmp", b"deep"),
    "/var/lib/dhcp/dhclient.eth0.leases": ("dhcp-lease", b"lease { fixed-address 10.0.0.5; }\n"),
    "/var/lib/NetworkManager/internal-abc-eth0.lease": ("dhcp-lease", b"ADDRESS=10.0.0.5\n"),
    "/etc/udev/rules.d/70-persistent-net.rules": ("udev-net-rules", b'SUBSYSTEM=="net"\n'),
    "/var/crash/_usr_bin_app.0.crash": ("crash-dump", b"ProblemType: Crash\n"),
    "/var/lib/systemd/coredump/core.app.0.zst": ("crash-dump", b"\x28\xb5\x2f\xfd"),
    "/root/core": ("core-dump", b"\x7fELF core"),
    "/var/cache/apt/archives/planted_1.0_all.deb": ("package-cache", b"!<arch>\n"),
    "/var/lib/systemd/random-seed": ("random-seed", b"\x01" * 512),
    "/var/lib/amazon/ssm/ipc/health": ("ssm-state", b"{}"),
    "/var/mail/root": ("mail-spool", b"From cron@build\n\nbuild done\n"),
    "/etc/.sshd_config.swp": ("editor-swap", b"b0VIM 9.0"),
    "/root/notes~": ("editor-backup", b"old notes\n"),
    "/root/.ssh/known_hosts": ("ssh-known-hosts", b"|1|abc= ssh-ed25519 AAAA\n"),
    "/root/anaconda-ks.cfg": ("installer-file", b"rootpw --iscrypted $6$x\n"),
    "/var/lib/rsyslog/imjournal.state": ("log-state", b"s=abc;i=1\n"),
    "/etc/.updated": ("update-stamp", b"TIMESTAMP_NSEC=1\n"),
    "/var/lib/sss/db/cache_example.ldb": ("service-state", b"TDB file"),
    "/srv/app/config.yml.bak": ("editor-backup", b"old: 1\n"),
}
HELD_FILE = "/var/tmp/held-open.bin"  # not a log: left alone
HELD_LOG = "/var/log/held.log"  # a log: emptied, never removed
SOCKET = "/var/tmp/agent.sock"
IN_TMPFS = "/tmp/in-tmpfs.txt"  # the instance's /tmp is a tmpfs: not part of the image


def _hashes(inst: Instance, skip: set[str]) -> dict[str, str]:
    """sha256 of the root-owned files (under 256 KiB) near the traces: /etc, /var/lib, /var/log,
    the spools, /var/tmp and /root's top two levels (other than `skip`)."""
    out = inst.exec(
        [
            "sh",
            "-c",
            "{ find /etc /var/lib /var/log /var/spool /var/mail /var/crash /var/tmp -xdev "
            "-type f -user 0 -size -256k -print0; find /root -maxdepth 2 -type f -print0; } "
            "| xargs -0 sha256sum 2>/dev/null; true",
        ]
    ).stdout.decode("utf-8", "surrogateescape")
    got = {}
    for line in out.splitlines():
        digest, _, path = line.partition("  ")
        if path not in skip:
            got[path] = digest
    return got


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey) -> Iterator[Instance]:
    require(missing_requirements())
    with Instance(tmp_path_factory.mktemp("traces")) as inst:
        inst.authorize("root", client_key.public_line)
        for path, (_cat, data) in PLANTED.items():
            inst.write(path, data, mode=0o600 if path == "/root/core" else 0o640)
        inst.write(HELD_FILE, b"held")
        inst.write(HELD_LOG, b"a service writes here\n")
        inst.write(IN_TMPFS, b"x")
        inst.exec(
            ["python3", "-c", f"import socket; socket.socket(socket.AF_UNIX).bind({SOCKET!r})"]
        )
        assert inst.pid
        holder = subprocess.Popen(
            [
                "nsenter",
                "-t",
                str(inst.pid),
                "-m",
                "-p",
                "-r",
                "-w",
                "--",
                "sh",
                "-c",
                f"exec 3<{HELD_FILE} 4>>{HELD_LOG}; exec sleep 600",
            ],
        )
        try:
            yield inst
        finally:
            holder.kill()
            holder.wait()


@pytest.fixture
def target(planted: Instance, ssh_options_for: ConnectOptions) -> Iterator[Target]:
    with open_target(f"ssh://root@127.0.0.1:{planted.port}", ssh_options_for) as t:
        yield t


@pytest.fixture
def ssh_options_for(planted: Instance, client_key: ClientKey, tmp_path: Path) -> ConnectOptions:
    known = tmp_path / "known_hosts"
    known.write_text(planted.host_key_line() + "\n")
    return ConnectOptions(
        identity=str(client_key.path), known_hosts=str(known), use_agent=False, timeout=10
    )


def test_every_category_is_found_removed_and_verified(planted: Instance, target: Target) -> None:
    inst = planted
    session = Session(target)
    before = session.audit()
    facts = before.facts
    traces = {t.file.path: t for t in facts.traces}
    for path, (category, data) in PLANTED.items():
        assert path in traces, path
        assert traces[path].category == category, path
        assert traces[path].file.size == len(data), path
    assert traces[HELD_FILE].held_open and traces[HELD_LOG].held_open
    assert SOCKET not in traces and IN_TMPFS not in traces
    assert "/tmp: tmpfs, not part of the image" in facts.traces_skipped
    finding = next(f for f in before.findings if f.id == "system-traces")
    assert finding.status is Status.FAIL
    details = [e.detail for e in finding.evidence]
    size = r"\d+, [\d.]+ (bytes|KiB|MiB|GiB)$"
    for label in ("rotated log", "file in /tmp or /var/tmp", "DHCP lease", "crash dump"):
        assert any(re.match(re.escape(label) + ": " + size, d) for d in details), label
    planned = {
        a.path
        for a in session.preview("system-traces", "remove").actions
        if isinstance(a, ClearTrace)
    }
    untouched = _hashes(inst, planned | {HELD_LOG})
    changes_before = {c.path for c in inst.upper_changes()}

    outcome = session.apply({"system-traces": "remove"}, confirm_irreversible=True)
    assert outcome.ok, outcome.errors
    result = outcome.checks[0]
    assert result.after is Status.PASS, result
    for path in PLANTED:
        assert not inst.exists(path), path
    # What the running system needs is still there.
    assert inst.read(HELD_FILE) == b"held"
    assert inst.exists(HELD_LOG) and inst.read(HELD_LOG) == b""
    assert inst.exec(["test", "-S", SOCKET], check=False).returncode == 0
    assert inst.exists(IN_TMPFS)
    assert inst.exec(["test", "-d", "/var/log/journal/0123abcd"], check=False).returncode == 0
    # Nothing else changed: root-owned files hash the same, and the overlay's new entries
    # are only the traces the plan named.
    assert _hashes(inst, planned | {HELD_LOG}) == untouched
    new = [c for c in inst.upper_changes() if c.path not in changes_before]
    stray = [c for c in new if c.kind != "dir" and c.path not in planned | {HELD_LOG}]
    assert stray == []

    undone = session.undo()
    assert undone.ok, undone.errors
    assert inst.read("/var/log/planted.log") == PLANTED["/var/log/planted.log"][1]
    assert inst.read("/root/.ssh/known_hosts") == PLANTED["/root/.ssh/known_hosts"][1]
    assert not inst.exists("/var/lib/systemd/random-seed")  # never journaled
    said = " ".join(undone.irreversible)
    assert "/etc/shadow-" in said and "password hashes" in said
    assert "/var/lib/systemd/random-seed" in said


def test_zero_free_space_fills_a_small_ext4_and_leaves_nothing(
    planted: Instance, target: Target
) -> None:
    inst = planted
    image, mnt = "/var/tmp/zero.img", "/srv/zerofs"
    inst.exec(["truncate", "-s", "24M", image])
    # No blocks reserved for root, and no journal: zeroing fills free blocks, and a file
    # system's own journal is not free space (it may keep a copy; the catalog says so).
    inst.exec(["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", image])
    inst.exec(["mkdir", "-p", mnt])
    if inst.exec(["mount", "-o", "loop", image, mnt], check=False).returncode:
        pytest.skip("no loop device for a test file system")
    fstab = inst.read("/etc/fstab") if inst.exists("/etc/fstab") else b""
    marker = b"AMI-WIZARD-DELETED-SECRET-" * 40 + b"\n"
    try:
        inst.write("/etc/fstab", fstab + f"{image} {mnt} ext4 rw,loop 0 0\n".encode())
        inst.write(f"{mnt}/secret", marker * 100)
        inst.exec(["sync"])
        inst.exec(["rm", f"{mnt}/secret"])
        inst.exec(["sync"])
        on_disk = inst.upper / image.lstrip("/")
        assert marker[:26] in on_disk.read_bytes()  # deleted, but its blocks still hold it
        journal = Journal.create(Session(target).id, {"target": target.uri, "kind": target.kind})
        result = Applier(target, journal).apply(
            "system-traces", [ZeroFreeSpace(check_id="system-traces", reserve_bytes=0)]
        )
        assert result.error is None, result.error
        assert inst.exec(["ls", "-A", mnt]).stdout.split() == [b"lost+found"]
    finally:
        inst.exec(["umount", mnt], check=False)
        inst.write("/etc/fstab", fstab)
    assert marker[:26] not in on_disk.read_bytes()
    assert not [c for c in inst.upper_changes() if ".ami-wizard." in c.path]
