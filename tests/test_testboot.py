"""test-boot's pieces that need no boot: the IMDSv2 stub, path resolution inside an image, the
one-line errors, and the judging of observed launches."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from checks import _plans
from wizard import testboot, testboot_nspawn
from wizard.cli import main
from wizard.errors import UsageError
from wizard.facts import Facts
from wizard.model import Status
from wizard.testboot import resolve_inside
from wizard.testboot_imds import TOKEN_HEADER, TTL_HEADER, LaunchMetadata, MetadataStub
from wizard.testboot_judge import Boot, Launch, Login, _compare, _reboot_findings

META = LaunchMetadata("i-0123456789abcdef0", "ami-0123456789abcdef0", "ssh-ed25519 AAAA test")


def _loopback() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    return sock


def _call(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_the_stub_speaks_imdsv2_only() -> None:
    with MetadataStub(META, _loopback) as stub:
        port = stub.server.socket.getsockname()[1]
        base = f"http://127.0.0.1:{port}/latest"
        assert _call(f"{base}/meta-data/instance-id")[0] == 401  # IMDSv1: refused
        assert _call(f"{base}/api/token", "PUT")[0] == 400  # the TTL header is required
        status, token = _call(f"{base}/api/token", "PUT", {TTL_HEADER: "60"})
        assert status == 200 and token
        got = _call(f"{base}/meta-data/public-keys/0/openssh-key", headers={TOKEN_HEADER: token})
        assert got == (200, META.public_key + "\n")
        assert _call(f"{base}/meta-data/ami-id", headers={TOKEN_HEADER: "forged"})[0] == 401
        log = stub.log.snapshot()
    assert [(r.method, r.status, r.token) for r in log] == [
        ("GET", 401, False),
        ("PUT", 400, False),
        ("PUT", 200, False),
        ("GET", 200, True),
        ("GET", 401, False),
    ]


def test_paths_resolve_inside_the_image_never_on_the_host(tmp_path: Path) -> None:
    root = tmp_path / "image"
    (root / "var/lib").mkdir(parents=True)
    (root / "var/lib/stamp").write_text("")
    (root / "etc").mkdir()
    # An absolute symlink means "/" of the image, not of the host.
    (root / "etc/up").symlink_to("/var/lib")
    (root / "etc/escape").symlink_to("../../../../../../tmp")
    assert resolve_inside(root, "/etc/up/stamp") == root / "var/lib/stamp"
    assert resolve_inside(root, "/etc/escape") is None  # /tmp of the image does not exist
    assert resolve_inside(root, "/var/lib/absent") is None


def test_not_root_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(testboot_nspawn.os, "geteuid", lambda: 1000)
    assert main(["test-boot", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err


def test_missing_nspawn_names_the_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(testboot_nspawn.os, "geteuid", lambda: 0)
    real = testboot_nspawn.shutil.which
    monkeypatch.setattr(
        testboot_nspawn.shutil,
        "which",
        lambda tool: None if tool == "systemd-nspawn" else real(tool),
    )
    assert main(["test-boot", "/nonexistent"]) == 2
    assert "systemd-container" in capsys.readouterr().err


def test_an_image_without_systemd_says_what_was_not_proven(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    with pytest.raises(UsageError, match="NOT proven") as exc:
        testboot.require_systemd(tmp_path)
    assert "first-boot units" in str(exc.value) and "\n" not in str(exc.value)


def _boot(**changes: object) -> Boot:
    base = dict(
        seconds=1.0,
        state="running",
        failed_units=(),
        units=(),
        sshd="SSH-2.0-OpenSSH_9.2",
        server_key="SHA256:x",
        methods=("publickey",),
        logins=(),
        host_keys={"/etc/ssh/ssh_host_ed25519_key.pub": "SHA256:a"},
        machine_id="m1",
        root_state="locked",
        root_digest="d1",
        key_holders=(),
        imds=(),
    )
    base.update(changes)
    return Boot(**base)  # type: ignore[arg-type]


def test_a_key_back_after_a_reboot_fails() -> None:
    launch = Launch(1, META, "admin", _boot(), _boot(key_holders=("admin",)), key_removed=True)
    key, identity = _reboot_findings(launch)
    assert key.status is Status.FAIL and identity.status is Status.PASS


def test_shared_host_keys_or_machine_ids_fail_side_by_side() -> None:
    one = Launch(1, META, "admin", _boot())
    two = Launch(2, META, "admin", _boot(root_digest="d2"))
    found = {f.id: f for f in _compare([one, two], Facts())}
    assert found["launches/host-keys"].status is Status.FAIL
    assert found["launches/machine-id"].status is Status.FAIL
    assert found["launches/root-password"].status is Status.PASS  # locked, and differs
    assert (
        "launch 1: SHA256:a; launch 2: SHA256:a" in found["launches/host-keys"].evidence[0].detail
    )
    usable = Launch(2, META, "admin", _boot(root_state="usable", machine_id="m2"))
    shared = {
        f.id: f
        for f in _compare([Launch(1, META, "a", _boot(root_state="usable")), usable], Facts())
    }
    assert shared["launches/root-password"].status is Status.FAIL


def _directive(text: str, key: str) -> list[str]:
    return [
        w
        for line in text.splitlines()
        if line.startswith(f"{key}=")
        for w in line[len(key) + 1 :].split()
    ]


def test_first_boot_units_run_before_sshd_on_debian_and_rhel_and_once_per_instance() -> None:
    launch_key = _plans.launch_key_text("http://127.0.0.1:8775", "admin")
    for text in (_plans.KEYGEN_TEXT, launch_key):
        # Debian/Ubuntu call the unit ssh.service, Fedora/RHEL sshd.service.
        assert {"ssh.service", "sshd.service"} <= set(_directive(text, "Before"))
    # No bare "done" stamp: each remembers the instance it ran for.
    assert _plans.LEGACY_ROOT_PASSWORD_STAMP not in _plans.ROOT_PASSWORD_TEXT
    assert "Condition" not in _plans.ROOT_PASSWORD_TEXT
    assert "/etc/machine-id" in _plans.ROOT_PASSWORD_TEXT
    assert "meta-data/instance-id" in launch_key and _plans.LAUNCH_KEY_STAMP in launch_key


@pytest.mark.parametrize("kind", ["missing", "no-systemd", "not-a-tarball"])
def test_bad_targets_are_one_line_and_exit_2(
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(testboot, "preflight", lambda: None)  # root and tools: not the point
    target = tmp_path / "image"
    if kind == "no-systemd":
        (target / "etc").mkdir(parents=True)
    elif kind == "not-a-tarball":
        target.write_text("hello")
    assert main(["test-boot", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    expected = {"missing": "does not exist", "no-systemd": "NOT proven", "not-a-tarball": "tarball"}
    assert expected[kind] in err


def test_a_removed_key_must_be_refused_after_the_reboot_to_pass() -> None:
    refused = Login("launch key", "admin", False, "Authentication failed.")
    gone = Launch(1, META, "admin", _boot(), _boot(logins=(refused,)), key_removed=True)
    assert _reboot_findings(gone)[0].status is Status.PASS
    untried = Launch(1, META, "admin", _boot(), _boot(), key_removed=True)
    assert _reboot_findings(untried)[0].status is Status.ERROR  # no proof, no pass
    accepted = Login("launch key", "admin", True, "admin")
    back = Launch(1, META, "admin", _boot(), _boot(logins=(accepted,)), key_removed=True)
    assert _reboot_findings(back)[0].status is Status.FAIL
