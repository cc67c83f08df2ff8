"""The probe's system-traces section under dash, bash and busybox sh (and where find has no
-printf) on an image root: every category found with its size, hostile names kept as data,
a backup that is a symlink never reported (it would lead the fix to /etc/shadow), what
cloud-init-state owns left out, and a walk that stops at its file limit said."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.test_probe import SHELLS, _have, run
from wizard import probe
from wizard.facts import Facts

PLANT = {
    "var/log/syslog": "log",
    "var/log/syslog.1": "rotated-log",
    "var/log/journal/x/system.journal": "journal",
    "var/log/wtmp": "login-record",
    "var/tmp/a b\n$(touch PWNED)": "tmp",
    "var/lib/dhclient/dhclient.leases": "dhcp-lease",
    "etc/udev/rules.d/70-persistent-net.rules": "udev-net-rules",
    "etc/passwd-": "account-backup",
    "var/crash/x.crash": "crash-dump",
    "var/cache/apt/archives/x.deb": "package-cache",
    "var/lib/systemd/random-seed": "random-seed",
    "var/lib/amazon/ssm/state": "ssm-state",
    "var/mail/bob": "mail-spool",
    "etc/.hosts.swp": "editor-swap",
    "home/bob/notes~": "editor-backup",
    "home/bob/.ssh/known_hosts": "ssh-known-hosts",
    "root/anaconda-ks.cfg": "installer-file",
    "var/spool/cron/crontabs/bob": "user-crontab",
    "var/spool/cron/atjobs/a0000101a2b3c4": "at-job",
    "var/spool/at/a00002": "at-job",
    "var/cache/fontconfig/x-le64.cache-8": "desktop-cache",
    "var/lib/fprint/bob/synaptics/7": "fingerprint",
    "etc/ipa/default.conf": "ipa-enrolment",
    "var/lib/ipa-client/sysrestore/sysrestore.state": "ipa-enrolment",
    "etc/NetworkManager/system-connections/Wired 1.nmconnection": "network-profile",
    "etc/hostname": "hostname",
    "etc/aliases.db": "aliases-db",
}


def _image(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n"
    )
    (root / "etc/shadow").write_text("root:$6$secret:1::::::\n")
    for rel in PLANT:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (len(rel) + 1))
    (root / "var/log/cloud-init.log").write_text("cloud-init-state's\n")
    (root / "var/cache/apt/archives/lock").write_text("")
    (root / "var/spool/cron/atjobs/.SEQ").write_text("3\n")  # at's counter: the system's
    (root / "etc/gshadow-").symlink_to("/etc/shadow")  # not a backup: never reported
    os.mkfifo(root / "var/tmp/fifo")
    return root


def _facts(root: Path, out: bytes) -> Facts:
    return probe.parse(out, root=str(root), live=False, target_kind="image")


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_every_category_in_every_shell(tmp_path: Path, shell: list[str]) -> None:
    if not _have(shell):
        pytest.fail(f"{shell[0]} is needed for this test (install it)")
    root = _image(tmp_path)
    out, proc = run(root, shell)
    assert proc.returncode == 0, proc.stderr
    facts = _facts(root, out)
    got = {t.file.path: t for t in facts.traces}
    for rel, category in PLANT.items():
        assert got["/" + rel].category == category, rel
        assert got["/" + rel].file.size == len(rel) + 1, rel
    assert set(got) == {"/" + rel for rel in PLANT}  # no cloud-init log, lock, fifo, link
    assert not [n for n in facts.incomplete if n.search == "traces"]
    assert not list(root.rglob("PWNED")) and not (Path.cwd() / "PWNED").exists()


def test_same_traces_where_find_has_no_printf(tmp_path: Path) -> None:
    root = _image(tmp_path)
    reference = _facts(root, run(root, ["dash"])[0])
    script = probe.script().replace(b"-maxdepth 0 -printf ''", b"-maxdepth 0 -no-such-test")
    cfg = probe.ProbeConfig(imds_mode="never")
    proc = subprocess.run(
        ["dash", "-s", "--", *probe.probe_args(str(root), False, cfg)],
        input=script,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert _facts(root, proc.stdout).traces == reference.traces


def test_a_walk_cut_at_its_file_limit_is_said(tmp_path: Path) -> None:
    root = _image(tmp_path)
    for i in range(30):
        (root / "var/tmp" / f"f{i}").write_text("x")
    out, _ = run(root, ["dash"], max_files=10)
    notes = [n.reason for n in _facts(root, out).incomplete if n.search == "traces"]
    assert "(trees) stopped after 10 files (probe.max_files)" in notes


def test_network_files_pinned_to_the_builder_come_with_their_text(tmp_path: Path) -> None:
    root = _image(tmp_path)
    scripts = root / "etc/sysconfig/network-scripts"
    scripts.mkdir(parents=True)
    pinned = "DEVICE=eth0\nHWADDR=02:00:00:aa:bb:cc\nUUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n"
    (scripts / "ifcfg-eth0").write_text(pinned)
    (scripts / "ifcfg-lo").write_text("DEVICE=lo\nONBOOT=yes\n")  # nothing pinned: no trace
    (root / "etc/sysconfig/network").write_text("NETWORKING=yes\nHOSTNAME=builder-7\n")
    facts = _facts(root, run(root, ["dash"])[0])
    got = {t.file.path: t for t in facts.traces if t.category == "pinned-network-id"}
    assert set(got) == {"/etc/sysconfig/network-scripts/ifcfg-eth0", "/etc/sysconfig/network"}
    assert got["/etc/sysconfig/network-scripts/ifcfg-eth0"].text == pinned
    assert got["/etc/sysconfig/network"].file.size == len("NETWORKING=yes\nHOSTNAME=builder-7\n")
