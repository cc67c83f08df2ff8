"""The probe script under dash, bash and busybox sh, on image roots seeded with hostile data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard import probe, probe_records
from wizard.demo import EXAMPLE_KEY_ID, EXAMPLE_SECRET, seed_practice_image
from wizard.errors import ProbeError
from wizard.facts import PasswordState, SearchNote

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


def test_depth_is_not_a_budget(image: Path) -> None:
    deep = image / "home" / "bob" / "a" / "b" / "c" / "d" / "e" / "f" / "g" / "h"
    deep.mkdir(parents=True)
    (deep / ".bash_history").write_text("deep\n")
    (deep / ".aws").mkdir()
    (deep / ".aws" / "credentials").write_text(f"aws_access_key_id = {EXAMPLE_KEY_ID}\n")
    # probe.depth is still accepted (deprecated) and changes nothing.
    facts = probe.parse(run(image, ["dash"], depth=3)[0], root=str(image), live=False)
    assert "/home/bob/a/b/c/d/e/f/g/h/.bash_history" in {h.path for h in facts.histories}
    assert "/home/bob/a/b/c/d/e/f/g/h/.aws/credentials" in {c.file.path for c in facts.credentials}
    assert facts.incomplete == ()


def test_file_size_is_bounded(image: Path) -> None:
    (image / "etc" / "ssh" / "sshd_config.d" / "99-big.conf").write_text("# x\n" * 100_000)
    big_keys = image / "home" / "admin" / ".ssh" / "authorized_keys"
    big_keys.write_text("# padding\n" * 200 + big_keys.read_text())
    facts = probe.parse(run(image, ["dash"], max_size=1000)[0], root=str(image), live=False)
    assert len(facts.sshd_files["/etc/ssh/sshd_config.d/99-big.conf"]) == 1000
    assert (
        SearchNote(
            "sshd_config",
            "read only the first 1000 bytes of /etc/ssh/sshd_config.d/99-big.conf (probe.max_size)",
        )
        in facts.incomplete
    )
    # The keys past the cut are unknown: the check says so instead of trusting what it read.
    from checks import run_checks

    finding = next(iter(run_checks(facts, ["authorized-keys"])))
    assert "search incomplete: " in finding.summary
    assert "/home/admin/.ssh/authorized_keys" in finding.summary


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


# ---- issue 10: framing, limits, symlinks, AuthorizedKeysFile, file identity ----------------

AWS_FILE = f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\n".encode()


def mini_root(base: Path) -> Path:
    """A small image root: two accounts, an sshd_config, and the usual drop places."""
    root = base / "root"
    for d in ("etc/ssh", "root", "home/u", "tmp", "var/tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n"
    )
    (root / "etc" / "ssh" / "sshd_config").write_text("PermitRootLogin no\n")
    (root / "etc" / "skel").mkdir()
    (root / "etc" / "skel" / ".bashrc").write_text("# skel\n")
    (root / "root" / ".profile").write_text("# root profile\n")
    return root


def probe_bytes(root: Path, **config: object) -> tuple[bytes, probe.Facts]:
    out, proc = run(root, ["dash"], **config)
    assert proc.returncode == 0, proc.stderr
    return out, probe.parse(out, root=str(root), live=False, target_kind="image")


def plant_credentials(root: Path, name: bytes) -> str:
    """/tmp/NAME/.aws/credentials with an AWS key id; its path as the facts spell it."""
    d = os.path.join(os.fsencode(root), b"tmp", name, b".aws")
    os.makedirs(d)
    with open(os.path.join(d, b"credentials"), "wb") as fh:
        fh.write(AWS_FILE)
    return "/tmp/" + name.decode("utf-8", "surrogateescape") + "/.aws/credentials"


ODD_NAMES = [
    b"x\rY",
    b"x\vY",
    b"x\fY",
    b"x\x1cY",
    b"x\x1dY",
    b"x\x1eY",
    b"\x1e",
    b"x\xc2\x85Y",  # U+0085
    b"x\xe2\x80\xa8Y",  # U+2028
    b"x\nY",
    b"x\tY\\t\\n\\x0d",
    b"latin1-\xe9",
    b" lead and trail ",
]


@pytest.mark.parametrize("name", ODD_NAMES, ids=repr)
def test_odd_bytes_in_a_directory_name_do_not_shift_secrets(tmp_path: Path, name: bytes) -> None:
    # Before issue 10 the secrets section was split with splitlines(): "\r" and friends
    # attributed the key to other files (/etc/skel/.bashrc, /root/.profile).
    root = mini_root(tmp_path)
    expected = plant_credentials(root, name)
    _, facts = probe_bytes(root)
    creds = {c.file.path: c for c in facts.credentials}
    assert set(creds) == {expected}
    hits = creds[expected].hits
    assert [(h.path, h.line, h.kind, h.prefix) for h in hits] == [
        (expected, 2, "aws-access-key-id", "AKIA")
    ]
    assert creds[expected].file.ino == os.stat(os.fsencode(root) + os.fsencode(expected)).st_ino


_PRUNED = {
    b"node_modules",
    b".cache",
    b".git",
    b".npm",
    b".rustup",
    b".cargo",
    b"proc",
    b".",
    b"..",
}
path_component = (
    st.lists(
        st.one_of(
            st.integers(1, 255).filter(lambda b: b != ord("/")),
            st.sampled_from([0x0A, 0x0D, 0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x5C, 0x09, 0x20, 0x85]),
        ),
        min_size=1,
        max_size=40,
    )
    .map(bytes)
    .filter(lambda b: b not in _PRUNED)
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=path_component)
def test_any_path_component_survives_probe_and_parse(name: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = mini_root(Path(tmp))
        expected = plant_credentials(root, name)
        _, facts = probe_bytes(root)
        creds = {c.file.path: c for c in facts.credentials}
        assert set(creds) == {expected}
        assert [h.path for h in creds[expected].hits] == [expected]


def test_records_are_byte_stuffed() -> None:
    data = (
        b"probe\x001\x00/\x000\x000\x00\x1e\x00uname\x00\x1e\x1e\x00k\x00\x1e\x00done\x00\x1e\x00"
    )
    assert list(probe_records.records(data))[1] == ["uname", "\x1e", "k"]


def test_passwd_and_keys_split_on_newline_only(tmp_path: Path) -> None:
    root = mini_root(tmp_path)
    # "\x1c" and U+2028 are line breaks to str.splitlines(), data to libc and sshd.
    (root / "etc" / "passwd").write_bytes(
        b"root:x:0:0:root\x1cx:/root:/bin/sh\nu:x:1000:1000:a\xe2\x80\xa8b:/home/u:/bin/sh\n"
    )
    _, facts = probe_bytes(root)
    assert [a.name for a in facts.accounts] == ["root", "u"]


def test_file_identity_is_reported(tmp_path: Path) -> None:
    root = mini_root(tmp_path)
    (root / "home" / "u" / ".bash_history").write_text("ls\n")
    (root / "home" / "u" / ".bashrc").write_text("export TOKEN=abcdefgh\n")
    ssh = root / "home" / "u" / ".ssh"
    ssh.mkdir()
    pub = (Path(__file__).parent / "data").glob("*.pub")
    line = next((x.read_text() for x in pub), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== k\n")
    (ssh / "authorized_keys").write_text(line)
    _, facts = probe_bytes(root)
    files = [
        *facts.histories,
        *(c.file for c in facts.credentials),
        *(a.file for a in facts.authorized_keys),
    ]
    assert {f.path for f in files} >= {
        "/home/u/.bash_history",
        "/home/u/.bashrc",
        "/home/u/.ssh/authorized_keys",
    }
    for info in files:
        st_ = os.lstat(str(root) + info.path)
        assert (info.dev, info.ino, info.size, info.uid) == (
            st_.st_dev,
            st_.st_ino,
            st_.st_size,
            st_.st_uid,
        ), info.path


def test_same_facts_where_find_has_no_printf(image: Path) -> None:
    reference = probe.parse(run(image, ["dash"])[0], root=str(image), live=False)
    # The fallback (busybox find): stat -c for the metadata, awk counts the scanned files.
    script = probe.script().replace(b"-maxdepth 0 -printf ''", b"-maxdepth 0 -no-such-test")
    cfg = probe.ProbeConfig(imds_mode="never")
    proc = subprocess.run(
        ["dash", "-s", "--", *probe.probe_args(str(image), False, cfg)],
        input=script,
        capture_output=True,
        timeout=60,
        check=True,
    )
    facts = probe.parse(proc.stdout, root=str(image), live=False)
    assert facts == reference


def _many_files(root: Path, n: int) -> None:
    # Listed by name (an AWS CLI config) and read for secrets, but holding none.
    for i in range(n):
        d = root / "home" / "u" / f"d{i}" / ".aws"
        d.mkdir(parents=True)
        (d / "config").write_text("[default]\nregion = eu-west-1\n")


def _rendered(facts: probe.Facts) -> dict[str, str]:
    from checks import run_checks
    from wizard.formats import FORMATS, render
    from wizard.results import AuditResult, TargetInfo

    info = TargetInfo("image:/x", "h", "", "", "", "")
    result = AuditResult(info, facts, tuple(run_checks(facts, None)), "2026-01-01T00:00:00", 0.0)
    return {fmt: render(result, fmt) for fmt in FORMATS}


@pytest.mark.parametrize("limit", ["count", "time"])
def test_a_search_that_stops_early_is_never_a_pass(tmp_path: Path, limit: str) -> None:
    root = mini_root(tmp_path)
    (root / "etc" / "skel" / ".bashrc").unlink()
    (root / "root" / ".profile").unlink()
    _many_files(root, 3000 if limit == "time" else 12)
    config: dict[str, object] = {"max_files": 5} if limit == "count" else {"timeout": 0.001}
    _, facts = probe_bytes(root, **config)
    _, complete = probe_bytes(root)
    assert complete.incomplete == ()
    assert {n.search for n in facts.incomplete} >= {"history", "credential", "secrets"}
    from checks import run_checks

    before = {f.id: f for f in run_checks(complete, None)}
    after = {f.id: f for f in run_checks(facts, None)}
    for cid in ("shell-history", "bundle-credentials"):
        assert before[cid].status.value == "pass", before[cid]
        assert after[cid].status.value == "warn", after[cid]
        assert after[cid].summary.startswith("search incomplete: ")
    reason = "probe.max_files" if limit == "count" else "probe.timeout"
    out = _rendered(facts)
    notes = json.loads(out["json"])["probe_notes"]
    assert any(n["kind"] == "limit" and reason in n["text"] for n in notes)
    for fmt in ("md", "sarif", "junit"):
        assert reason in out[fmt], fmt
    assert "## Probe notes" in out["md"]


def test_image_symlinks_never_lead_onto_the_host(tmp_path: Path) -> None:
    host = tmp_path / "host"
    (host / "home" / "u" / ".aws").mkdir(parents=True)
    (host / "home" / "u" / ".aws" / "credentials").write_bytes(AWS_FILE)
    (host / "home" / "u" / ".bash_history").write_text("HOSTLEAK history\n")
    (host / "ssh").mkdir()
    (host / "ssh" / "sshd_config").write_text("Banner HOSTLEAK\n")
    (host / "ssh" / "ssh_host_ed25519_key.pub").write_text("ssh-ed25519 HOSTLEAK\n")
    (host / "hostname").write_text("HOSTLEAK\n")
    (host / "profile").write_text("export TOKEN=HOSTLEAK\n")
    root = mini_root(tmp_path)
    shutil.rmtree(root / "home")
    shutil.rmtree(root / "etc" / "ssh")
    (root / "home").symlink_to(host / "home")  # absolute: inside the image, no such dir
    (root / "etc" / "ssh").symlink_to(host / "ssh")
    (root / "etc" / "hostname.real").write_text("img-host\n")
    (root / "etc" / "hostname").symlink_to("/etc/hostname.real")  # absolute, inside the image
    (root / "usr" / "lib").mkdir(parents=True)
    (root / "usr" / "lib" / "os-release").write_text("ID=imgos\n")
    (root / "etc" / "os-release").symlink_to("../usr/lib/os-release")
    (root / "etc" / "shadow").symlink_to("/etc/shadow")
    (root / "root" / ".bash_history").symlink_to(host / "home" / "u" / ".bash_history")
    (root / "tmp" / "x").mkdir()
    (root / "tmp" / "x" / ".bashrc").symlink_to(host / "profile")
    (root / "tmp" / "up").symlink_to("../../../../../../../../" + str(host).lstrip("/"))
    (root / "srv").symlink_to("/srv")  # a loop inside the image (and the host's /srv outside)
    out, facts = probe_bytes(root)
    assert b"HOSTLEAK" not in out
    assert "resolve: /srv: too many symbolic links, not searched" in facts.probe_errors
    assert facts.hostname == "img-host"  # absolute links resolve inside the image
    assert facts.os_id == "imgos"
    assert facts.histories == ()
    assert facts.credentials == ()
    assert facts.host_keys == ()
    assert str(host) not in repr(facts)
    assert all(a.password is PasswordState.UNKNOWN for a in facts.accounts)


def test_authorized_keys_file_outside_homes_is_never_read(tmp_path: Path) -> None:
    root = mini_root(tmp_path)
    (root / "etc" / "ssh" / "sshd_config").write_text(
        "AuthorizedKeysFile /etc/shadow .ssh/authorized_keys .ssh/id_ed25519\n"
    )
    (root / "etc" / "shadow").write_text("root:$6$SHADOWSALT$hash:19000::::::\nu:!:19000::::::\n")
    ssh = root / "home" / "u" / ".ssh"
    ssh.mkdir()
    (ssh / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nPRIVATEBODY\n")
    (ssh / "authorized_keys").symlink_to("/etc/shadow")  # resolves to the image's shadow
    out, facts = probe_bytes(root)
    assert b"SHADOWSALT" not in out
    assert b"PRIVATEBODY" not in out
    assert facts.authorized_keys == ()
    refused = {(r.user, r.path, r.resolved) for r in facts.authorized_keys_refused}
    assert ("root", "/etc/shadow", "/etc/shadow") in refused
    assert ("u", "/home/u/.ssh/authorized_keys", "/etc/shadow") in refused
    assert ("u", "/home/u/.ssh/id_ed25519", "/home/u/.ssh/id_ed25519") in refused
    from checks import run_checks

    finding = next(f for f in run_checks(facts, ["authorized-keys"]))
    assert finding.status.value == "warn"
    assert finding.summary.startswith("search incomplete: ")
    assert "/etc/shadow" in {e.path for e in finding.evidence}
    from checks.authorized_keys import plan

    assert plan(facts, "clear") == ()  # nothing refused is ever planned for deletion


def test_config_keeps_depth_and_reads_max_files(tmp_path: Path) -> None:
    from wizard.config import load_config
    from wizard.errors import UsageError

    cfg = tmp_path / "config.yaml"
    cfg.write_text("probe:\n  depth: 3\n  max_files: 50\n  timeout: 4\n")
    probe_cfg = load_config(cfg).probe
    assert (probe_cfg.max_files, probe_cfg.timeout) == (50, 4)
    assert probe.probe_args("/", True, probe_cfg)[4:6] == ["50", "4"]  # depth is not sent
    cfg.write_text("probe:\n  max_files: 0\n")
    with pytest.raises(UsageError, match="max_files"):
        load_config(cfg)


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_first_boot_stamps_are_reported_by_path(tmp_path: Path, shell: list[str]) -> None:
    """The builder's stamps in the image are named (paths only, never their text); one reached
    through an absolute symlink is resolved inside the image (on the host it leads nowhere)."""
    if not _have(shell):
        pytest.fail(f"{shell[0]} is needed for this test (install it)")
    from checks import _plans

    root = mini_root(tmp_path)
    (root / "var" / "lib" / "ami-wizard").mkdir(parents=True)
    (root / "var" / "lib" / "root-password-firstboot.done").write_text("")
    (root / "var" / "lib" / "ami-wizard" / "launch-key.instance-id").write_text("i-0builder\n")
    out, proc = run(root, shell)
    assert proc.returncode == 0, proc.stderr
    facts = probe.parse(out, root=str(root), live=False, target_kind="image")
    assert facts.stamps == (_plans.LEGACY_ROOT_PASSWORD_STAMP, _plans.LAUNCH_KEY_STAMP)
    assert b"i-0builder" not in out

    # /var/lib as an absolute link inside the image: the stamps are found where it points.
    os.rename(root / "var" / "lib", root / "var" / "lib.real")
    (root / "var" / "lib").symlink_to("/var/lib.real")
    (root / "var" / "lib.real" / "ami-wizard" / "root-password.machine-id").write_text("x\n")
    _, facts = probe_bytes(root)
    assert set(facts.stamps) == set(_plans.FIRST_BOOT_STAMPS)


def test_no_stamps_in_a_clean_image(image: Path) -> None:
    _, facts = probe_bytes(image)
    assert facts.stamps == ()
