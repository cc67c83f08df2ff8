"""The command line as a user runs it: exit codes, one-line errors, every format, masking."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from checks import INSTANCE_CHECKS
from wizard.demo import EXAMPLE_KEY_ID, EXAMPLE_SECRET, seed_practice_image


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **env} if env else None,
        check=False,
    )


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return seed_practice_image(tmp_path / "img")


def assert_one_line_error(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 2, proc
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("ami-wizard")


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "image:/nonexistent/volume"],
        ["audit", "ssh://127.0.0.1:1"],
        ["audit", "ssh://user@:22"],
        ["audit", "demo", "--check", "no-such-check"],
        ["audit", "demo", "--format", "pdf"],
        ["audit"],
        ["frobnicate"],
        ["report", "verify", "/nonexistent.json", "--public-key", "/nonexistent.pub"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str]) -> None:
    assert_one_line_error(cli(*args))


def test_audit_json_contract(image: Path) -> None:
    proc = cli("audit", f"image:{image}", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "ami-wizard/audit/v1"
    assert set(doc["target"]) == {"uri", "hostname", "os", "instance_id", "ami_id"}
    assert doc["target"]["uri"] == f"image:{image}"
    assert [c["id"] for c in doc["checks"]] == list(INSTANCE_CHECKS)
    for c in doc["checks"]:
        assert set(c) == {
            "id",
            "title",
            "status",
            "severity",
            "summary",
            "evidence",
            "options",
            "recommended",
        }
        assert c["status"] in {"pass", "fail", "warn", "info", "skip", "error"}
        assert c["recommended"] is None or c["recommended"] in c["options"]
        for e in c["evidence"]:
            assert set(e) == {"path", "line", "detail"}
    assert sum(doc["summary"].values()) == len(doc["checks"])
    assert doc["summary"]["error"] == 0, [c for c in doc["checks"] if c["status"] == "error"]
    status = {c["id"]: c["status"] for c in doc["checks"]}
    for failing in (
        "root-ssh-login",
        "ssh-password-auth",
        "root-password",
        "user-passwords",
        "authorized-keys",
        "ssh-host-keys",
        "shell-history",
        "bundle-credentials",
        "machine-id",
    ):
        assert status[failing] == "fail", failing


@pytest.mark.parametrize("fmt", ["json", "md", "sarif", "junit"])
def test_no_secret_in_any_format(image: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    proc = cli("audit", f"image:{image}", "--format", fmt, "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    text = out.read_text()
    assert EXAMPLE_KEY_ID not in text and EXAMPLE_SECRET not in text
    assert EXAMPLE_KEY_ID[:4] + "****" in text  # reported, masked
    assert "5f1c7a0e2b8d4c39a6e1f0d2b3c4a5e6" not in text  # machine id masked too
    if fmt == "sarif":
        doc = json.loads(text)
        assert doc["version"] == "2.1.0"
        results = doc["runs"][0]["results"]
        assert {r["ruleId"] for r in results} == set(INSTANCE_CHECKS)
        assert any(r["level"] == "error" for r in results)
    if fmt == "junit":
        suite = ET.fromstring(text)
        assert suite.tag == "testsuite"
        assert int(suite.get("failures", "0")) >= 5
        assert len(suite.findall("testcase")) == len(INSTANCE_CHECKS)
    if fmt == "md":
        assert "| `shell-history` | fail |" in text


def test_hostile_history_name_reported_and_not_run(image: Path, tmp_path: Path) -> None:
    proc = cli(
        "audit", f"image:{image}", "--format", "json", "--check", "shell-history", cwd=tmp_path
    )
    doc = json.loads(proc.stdout)
    paths = {e["path"] for e in doc["checks"][0]["evidence"]}
    assert "/home/bob/.$(touch PWNED)history" in paths
    assert not list(tmp_path.rglob("PWNED"))


def test_check_subset_and_exit_0_when_all_pass(image: Path) -> None:
    proc = cli(
        "audit",
        f"image:{image}",
        "--format",
        "json",
        "--check",
        "launch-key",
        "--check",
        "identify",
    )
    assert proc.returncode == 0, proc.stderr
    assert [c["id"] for c in json.loads(proc.stdout)["checks"]] == ["launch-key", "identify"]


def test_demo_runs_and_cleans_up(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wizard.cli", "demo", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TMPDIR": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["target"]["uri"] == "demo"
    assert list(tmp_path.glob("ami-wizard-practice-*")) == []


def test_output_to_a_device_is_written_not_replaced(image: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    proc = cli("audit", f"image:{image}", "--format", "json", "-o", str(fifo))
    out, _ = reader.communicate(timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(out)["schema"] == "ami-wizard/audit/v1"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO, not replaced by a file
    assert list(tmp_path.iterdir()) == [fifo] or all(
        not p.name.startswith(".fifo") for p in tmp_path.iterdir()
    )


@pytest.mark.parametrize("fmt", ["json", "md", "sarif", "junit"])
def test_names_that_are_not_utf8_are_shown_not_crashed_on(
    image: Path, tmp_path: Path, fmt: str
) -> None:
    (image / "home" / "bob").joinpath(os.fsdecode(b".bad\xff\x1b[31m_history")).write_text("x\n")
    out = tmp_path / "out"
    proc = cli(
        "audit", f"image:{image}", "--format", fmt, "-o", str(out), "--check", "shell-history"
    )
    assert proc.returncode == 1, proc.stderr
    text = out.read_bytes().decode("utf-8")  # valid UTF-8
    assert "\x1b" not in text  # no terminal escape from a file name
    assert "bad\\xff\\x1b[31m_history" in text.replace("\\\\", "\\")
    stdout = cli("audit", f"image:{image}", "--format", fmt, "--check", "shell-history")
    assert stdout.returncode == 1 and "Traceback" not in stdout.stderr


# --- sessions, undo history, report SESSION_ID, the lock, the state dir (issue 10) --------

PLAN = "schema: ami-wizard/plan/v1\nchoices:\n  machine-id: empty\n  root-ssh-login: prohibit-password\n"


def _apply(image: Path, tmp_path: Path, *extra: str, **kw: object) -> str:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    proc = cli("apply", f"image:{image}", "--plan", str(plan), *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split("undo with `ami-wizard undo ", 1)[1].split("`", 1)[0]


def test_sessions_report_and_undo_twice(image: Path, tmp_path: Path) -> None:
    sid = _apply(image, tmp_path)
    listing = cli("sessions")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if line.startswith(sid))
    assert row.split()[1:3] == ["applied", "2"] and row.endswith(f"image:{image}")
    show = cli("sessions", "show", sid)
    assert "about to change /etc/machine-id (was file 444 0:0)" in show.stdout
    assert "state    applied" in show.stdout
    key = tmp_path / "signer"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    stem = tmp_path / "again"
    proc = cli("report", sid, "--report", str(stem), "--sign-key", str(key))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "again.json").read_text())
    rows = {c["id"]: c for c in doc["checks"]}
    assert doc["session"] == sid and rows["machine-id"]["after"]["status"] == "pass"
    assert rows["machine-id"]["choice"]["option"] == "empty"
    verify = cli("report", "verify", str(stem) + ".json", "--public-key", f"{key}.pub")
    assert verify.returncode == 0, verify.stderr  # `report verify` still is what it was
    assert cli("undo", sid).returncode == 0
    (image / "etc/machine-id").write_text("")  # a later fix by hand
    again = cli("undo", sid)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "already undone" in again.stderr, again.stderr
    assert (image / "etc/machine-id").read_text() == ""
    listing = cli("sessions")
    assert f"{sid}  undone" in listing.stdout
    cli("report", sid, "--report", str(stem))
    again_doc = json.loads((tmp_path / "again.json").read_text())
    events = [(e["kind"], e["summary"]) for e in again_doc["events"]]
    assert [k for k, _ in events] == ["applied", "undone", "undo-refused"], events
    assert "undo: 2 restored" in events[1][1] and "undo refused" in events[2][1]
    assert "was undone" in " ".join(again_doc["warnings"])


def test_undo_refuses_a_file_changed_since(image: Path, tmp_path: Path) -> None:
    sid = _apply(image, tmp_path)
    dropin = image / "etc/ssh/sshd_config.d/00-ami-wizard.conf"
    dropin.write_text(dropin.read_text() + "MaxAuthTries 3\n")
    proc = cli("undo", sid)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "00-ami-wizard.conf changed since session" in proc.stderr
    assert "MaxAuthTries 3" in dropin.read_text()
    assert (image / "etc/machine-id").read_text() == ""  # nothing at all was undone
    forced = cli("undo", sid, "--force")  # no terminal to ask: the changed file is kept
    assert forced.returncode == 1 and "kept /etc/ssh" in forced.stderr
    assert "MaxAuthTries 3" in dropin.read_text()
    assert cli("undo", sid, "--force", "--yes").returncode == 0
    assert not dropin.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["report", "20250101T000000Z-0a1b2c3d", "--report", "/tmp/x"],
        ["report", "20250101T000000Z-0a1b2c3d"],
        ["report", "../../etc", "--report", "/tmp/x"],
        ["sessions", "show", "../x"],
        ["sessions", "show"],
        ["undo", "20250101T000000Z-0a1b2c3d", "--yes"],
    ],
)
def test_session_commands_bad_input_is_one_line_and_exit_2(args: list[str]) -> None:
    assert_one_line_error(cli(*args))


def test_apply_on_a_busy_target_exits_2(image: Path, tmp_path: Path) -> None:
    from wizard.sessions import target_lock
    from wizard.targets.image import ImageTarget

    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    before = (image / "etc/machine-id").read_bytes()
    with target_lock(ImageTarget(str(image))):
        proc = cli("apply", f"image:{image}", "--plan", str(plan))
    assert_one_line_error(proc)
    assert (
        f"another ami-wizard session is changing image:{image} (pid {os.getpid()})" in proc.stderr
    )
    assert (image / "etc/machine-id").read_bytes() == before


def test_state_dir_private_under_umask_000(
    image: Path, tmp_path: Path, isolated_home: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    proc = subprocess.run(
        [sys.executable, "-m", "wizard.cli", "apply", f"image:{image}", "--plan", str(plan)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.umask(0),
    )
    assert proc.returncode == 0, proc.stderr
    state_dir = isolated_home / ".local/state/ami-wizard"
    dirs = [isolated_home / ".local/state", state_dir, *state_dir.rglob("*")]
    for p in dirs:
        want = 0o700 if p.is_dir() else 0o600
        assert stat.S_IMODE(p.stat().st_mode) == want, p


def test_undo_refuses_a_journal_others_can_write(
    image: Path, tmp_path: Path, isolated_home: Path
) -> None:
    sid = _apply(image, tmp_path)
    journal = isolated_home / ".local/state/ami-wizard/sessions" / sid / "journal.jsonl"
    os.chmod(journal, 0o666)
    proc = cli("undo", sid)
    assert_one_line_error(proc)
    assert "writable by group or others" in proc.stderr
    assert (image / "etc/machine-id").read_text() == ""


def test_audit_demo_leaves_no_practice_dir(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    for args in (["audit", "demo"], ["audit", "demo", "--format", "json"]):
        proc = subprocess.run(
            [sys.executable, "-m", "wizard.cli", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        assert list(tmp_path.glob("ami-wizard-practice-*")) == []


# -- bad files the operator names: one line, exit 2, fast (issue 10, item 14) -----------------


def _plan_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "binary": os.urandom(4096).replace(b"\n", b"x"),
        "nul": b"schema: ami-wizard/plan/v1\0\n",
        "duplicate": (
            b"schema: ami-wizard/plan/v1\nchoices:\n  machine-id: empty\n  machine-id: keep\n"
        ),
        "deep": b"[" * 5000 + b"]" * 5000,
        "deep-block": b"".join(b"  " * i + b"k%d:\n" % i for i in range(400)) + b"  " * 400 + b"x",
        "huge": b"# " + b"x" * (2 << 20) + b"\n",
        "latin1": b"schema: ami-wizard/plan/v1\n# caf\xe9\n",
    }
    out = {}
    for name, data in files.items():
        out[name] = tmp_path / f"{name}.yaml"
        out[name].write_bytes(data)
    return out


@pytest.mark.parametrize(
    "case",
    ["binary", "nul", "duplicate", "deep", "deep-block", "huge", "latin1", "/dev/zero", "dir"],
)
def test_bad_plan_file_is_one_line_exit_2_and_fast(image: Path, tmp_path: Path, case: str) -> None:
    plans = _plan_files(tmp_path)
    plan = {"/dev/zero": "/dev/zero", "dir": str(tmp_path)}.get(case) or str(plans[case])
    start = time.monotonic()
    proc = cli("apply", f"image:{image}", "--plan", plan, "--dry-run", timeout=30)
    assert time.monotonic() - start < 20
    assert_one_line_error(proc)
    assert "plan" in proc.stderr
    if case == "duplicate":
        assert "duplicate key 'machine-id'" in proc.stderr


@pytest.mark.parametrize("case", ["/dev/zero", "binary", "huge"])
def test_bad_config_file_is_one_line_exit_2(image: Path, tmp_path: Path, case: str) -> None:
    config = case if case.startswith("/") else str(_plan_files(tmp_path)[case])
    proc = cli("audit", f"image:{image}", env={"AMI_WIZARD_CONFIG": config}, timeout=30)
    assert_one_line_error(proc)
    assert "config" in proc.stderr


@pytest.mark.parametrize("key", ["/dev/zero", "binary", "huge"])
def test_bad_sign_key_is_one_line_exit_2_and_fast(image: Path, tmp_path: Path, key: str) -> None:
    path = key if key.startswith("/") else str(_plan_files(tmp_path)[key])
    out = tmp_path / "audit.json"
    proc = cli(
        "audit",
        f"image:{image}",
        "--format",
        "json",
        "-o",
        str(out),
        "--sign-key",
        path,
        timeout=30,
    )
    assert_one_line_error(proc)


def test_verify_with_dev_zero_is_one_line(tmp_path: Path) -> None:
    proc = cli("report", "verify", "/dev/zero", "--public-key", "/dev/zero", timeout=30)
    assert_one_line_error(proc)


@pytest.mark.parametrize(
    "spec",
    [
        "ssh://root@" + "a" * 64 + ".example.com",
        "root@" + "b" * 64,
        "root@" + ".".join(["c" * 60] * 5),
        "ssh://root@a..example.com",
    ],
)
def test_host_names_no_resolver_accepts_are_one_line(spec: str, tmp_path: Path) -> None:
    proc = cli("audit", spec, "--known-hosts", str(tmp_path / "kh"), timeout=30)
    assert_one_line_error(proc)
    assert "bad host name" in proc.stderr


def test_match_exec_in_ssh_config_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "RAN"
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host practice\n  HostName 127.0.0.1\n"
        f'Match exec "touch {marker}"\n  User nobody\n'
        f'Match host practice !EXEC "touch {marker}2"\n  User nobody\n'
    )
    proc = cli("audit", "practice", "-F", str(config), timeout=30)
    assert_one_line_error(proc)
    assert "Match exec" in proc.stderr
    assert not list(tmp_path.glob("RAN*"))


@pytest.mark.parametrize("config", ["/dev/zero", "dir"])
def test_unreadable_ssh_config_is_one_line(tmp_path: Path, config: str) -> None:
    path = str(tmp_path) if config == "dir" else config
    proc = cli("audit", "practice", "-F", path, timeout=30)
    assert_one_line_error(proc)
    assert "ssh config" in proc.stderr
