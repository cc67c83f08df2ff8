"""The probe script under dash, bash and busybox sh, on image roots seeded with hostile data."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wizard import probe
from wizard.demo import EXAMPLE_KEY_ID, EXAMPLE_SECRET, seed_practice_image
from wizard.errors import ProbeError
from wizard.facts import PasswordState

SHELLS = [["dash"], ["bash", "--posix"], ["busybox", "sh"]]


def _have(argv: list[str]) -> bool:
    return shutil.which(argv[0]) is not None


def run(
    root: Path, shell: list[str], **config: object
) -> tuple[bytes, subprocess.CompletedProcess[bytes]]:
    cfg = probe.ProbeConfig(imds_mode="never", **config)  # type: ignore[arg-type]
    proc = subprocess.run(
        [*shell, "-s", "--", *probe.probe_args(str(root), False, cfg)],
        input=probe.script(),
        capture_output=True,
        cwd=root,
        timeout=60,
        check=False,
    )
    return proc.stdout, proc


@pytest.fixture
def image(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    seed_practice_image(root)
    return root


HOSTILE = [
    ".$(touch PWNED)history",
    ".`touch PWNED2`_history",
    '.with space\'s "quote"_history',
    ".new\nline_history",
    ".tab\there_history",
    ".semi;rm -rf x;_history",
    ".latin1-\udce9_history",  # the byte 0xe9: not UTF-8
]


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_hostile_names_are_data(image: Path, shell: list[str]) -> None:
    if not _have(shell):
        pytest.fail(f"{shell[0]} is needed for this test (install it)")
    home = image / "home" / "bob"
    for name in HOSTILE:
        (home / os.fsencode(name).decode("utf-8", "surrogateescape")).write_bytes(b"ls\n")
    out, proc = run(image, shell)
    assert proc.returncode == 0, proc.stderr
    facts = probe.parse(out, root=str(image), live=False, target_kind="image")
    found = {h.path for h in facts.histories}
    for name in HOSTILE:
        assert f"/home/bob/{name}" in found, name
    for leftover in ("PWNED", "PWNED2"):
        assert not list(image.rglob(leftover))
        assert not (Path.cwd() / leftover).exists()


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_same_facts_in_every_shell(image: Path, shell: list[str]) -> None:
    if not _have(shell):
        pytest.fail(f"{shell[0]} is needed for this test (install it)")
    reference = probe.parse(run(image, ["dash"])[0], root=str(image), live=False)
    facts = probe.parse(run(image, shell)[0], root=str(image), live=False)
    assert facts == reference


def test_practice_image_facts(image: Path) -> None:
    out, _ = run(image, ["dash"])
    facts = probe.parse(out, root=str(image), live=False, target_kind="demo")
    assert facts.hostname == "practice-builder"
    assert facts.os_id == "practice"
    assert facts.sshd_version == "9.2p1"
    assert set(facts.sshd_files) == {
        "/etc/ssh/sshd_config",
        "/etc/ssh/sshd_config.d/50-cloud-init.conf",
    }
    root = facts.account("root")
    bob = facts.account("bob")
    assert root and root.password is PasswordState.USABLE and root.password_scheme == "6"
    assert bob and bob.password is PasswordState.EMPTY
    assert facts.account("deploy").password is PasswordState.LOCKED  # type: ignore[union-attr]
    assert {k.private.path for k in facts.host_keys if k.private} == {
        f"/etc/ssh/ssh_host_{t}_key" for t in ("ed25519", "ecdsa", "rsa")
    }
    assert {k.key.key_type for k in facts.host_keys if k.key} == {
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ssh-rsa",
    }
    ak = {a.file.path: a for a in facts.authorized_keys}
    assert set(ak) == {"/root/.ssh/authorized_keys", "/home/admin/.ssh/authorized_keys"}
    assert ak["/home/admin/.ssh/authorized_keys"].keys[1].options == 'from="10.0.0.0/8"'
    creds = {c.file.path: c for c in facts.credentials}
    assert creds["/home/admin/.aws/credentials"].kind == "aws-credentials"
    kinds = {h.kind: h.prefix for h in creds["/home/admin/.aws/credentials"].hits}
    assert kinds == {"aws-access-key-id": "AKIA", "aws-secret-access-key": "wJal"}
    assert "/tmp/pk-PRACTICE0123456789.pem" in creds
    assert "/home/admin/.aws/config" not in creds  # region only: no secret inside
    assert facts.machine_id and facts.machine_id.startswith("5f1c")
    assert facts.cloud_init.installed and facts.cloud_init.enabled
    assert "/var/lib/cloud/instances/i-0practice0000001" in facts.cloud_init.state_entries
    assert facts.package_manager == "apt"


def test_secrets_never_leave_the_target_in_full(image: Path) -> None:
    out, _ = run(image, ["dash"])
    assert EXAMPLE_KEY_ID.encode() not in out
    assert EXAMPLE_SECRET.encode() not in out
    assert b"$6$practice$" not in out  # shadow hashes are classified, never sent


def test_search_depth_is_bounded(image: Path) -> None:
    deep = image / "home" / "bob" / "a" / "b" / "c" / "d" / "e"
    deep.mkdir(parents=True)
    (deep / ".bash_history").write_text("deep\n")
    shallow = image / "home" / "bob" / "a" / ".zsh_history"
    shallow.write_text("x\n")
    facts = probe.parse(run(image, ["dash"], depth=3)[0], root=str(image), live=False)
    paths = {h.path for h in facts.histories}
    assert "/home/bob/a/.zsh_history" in paths
    assert "/home/bob/a/b/c/d/e/.bash_history" not in paths


def test_file_size_is_bounded(image: Path) -> None:
    (image / "etc" / "ssh" / "sshd_config.d" / "99-big.conf").write_text("# x\n" * 100_000)
    facts = probe.parse(run(image, ["dash"], max_size=1000)[0], root=str(image), live=False)
    assert len(facts.sshd_files["/etc/ssh/sshd_config.d/99-big.conf"]) == 1000


def test_fifos_do_not_hang_the_probe(image: Path) -> None:
    os.mkfifo(image / "home" / "bob" / ".bash_history")
    (image / "etc" / "hostname").unlink()
    os.mkfifo(image / "etc" / "hostname")
    out, proc = run(image, ["dash"])  # subprocess timeout (60 s) would fail the test
    assert proc.returncode == 0
    facts = probe.parse(out, root=str(image), live=False)
    assert "/home/bob/.bash_history" not in {h.path for h in facts.histories}


def test_include_in_sshd_config_is_followed(image: Path) -> None:
    cfg = image / "etc" / "ssh" / "sshd_config"
    cfg.write_text(cfg.read_text() + "Include extra/*.conf\n")
    (image / "etc" / "ssh" / "extra").mkdir()
    (image / "etc" / "ssh" / "extra" / "a b.conf").write_text("Include /etc/ssh/nested.conf\n")
    (image / "etc" / "ssh" / "nested.conf").write_text(
        "UseDNS no\nHostKey /etc/ssh/keys/custom_key\n"
    )
    (image / "etc" / "ssh" / "keys").mkdir()
    (image / "etc" / "ssh" / "keys" / "custom_key").write_text("private\n")
    facts = probe.parse(run(image, ["dash"])[0], root=str(image), live=False)
    assert "/etc/ssh/extra/a b.conf" in facts.sshd_files
    assert "/etc/ssh/nested.conf" in facts.sshd_files
    assert "/etc/ssh/keys/custom_key" in {k.private.path for k in facts.host_keys if k.private}


def test_authorized_keys_where_sshd_says(image: Path) -> None:
    cfg = image / "etc" / "ssh" / "sshd_config"
    cfg.write_text("AuthorizedKeysFile /etc/ssh/keys.d/%u .ssh/authorized_keys\n" + cfg.read_text())
    (image / "etc" / "ssh" / "keys.d").mkdir()
    pub = (image / "root" / ".ssh" / "authorized_keys").read_text()
    (image / "etc" / "ssh" / "keys.d" / "bob").write_text(pub)
    facts = probe.parse(run(image, ["dash"])[0], root=str(image), live=False)
    by_path = {a.file.path: a.user for a in facts.authorized_keys}
    assert by_path.get("/etc/ssh/keys.d/bob") == "bob"


def test_parse_rejects_what_is_not_a_probe() -> None:
    with pytest.raises(ProbeError):
        probe.parse(b"Welcome to Ubuntu!\n")
    with pytest.raises(ProbeError, match="cut short"):
        probe.parse(b"probe\x001\x00/\x000\x000\x00\x1e\x00uname\x00")


def test_first_boot_units_found_by_content(image: Path) -> None:
    unit = image / "etc" / "systemd" / "system" / "verify product*.service"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(
        "[Service]\nExecStart=/bin/sh -c 'curl -s $EP/latest/meta-data/product-codes'\n"
    )
    (image / "etc" / "systemd" / "system" / "unrelated.service").write_text(
        "[Service]\nExecStart=/bin/true\n"
    )
    facts = probe.parse(run(image, ["dash"])[0], root=str(image), live=False)
    paths = [u.path for u in facts.units]
    assert "/etc/systemd/system/verify product*.service" in paths
    assert "/etc/systemd/system/unrelated.service" not in paths
    assert len(paths) == len(set(paths))


def test_glob_characters_in_homes_and_configs_are_not_expanded(image: Path) -> None:
    passwd = image / "etc" / "passwd"
    passwd.write_text(passwd.read_text() + "star:x:1500:1500::/home/*:/bin/sh\n")
    (image / "home" / "*").mkdir()
    (image / "home" / "*" / ".bash_history").write_text("x\n")
    facts = probe.parse(run(image, ["dash"])[0], root=str(image), live=False)
    paths = [h.path for h in facts.histories]
    assert "/home/*/.bash_history" in paths
    assert len(paths) == len(set(paths))  # "/home/*" did not also expand to every home
