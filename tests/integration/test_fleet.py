"""Many targets in one command, against a small fleet of real sshd instances.

One module-scoped fleet: two healthy instances, one whose probe is held up (forced command:
a sleep) so the test can kill it mid-audit, one that never answers its probe (time-out),
one port nobody listens on, and one healthy instance named so that its host key is not in
known_hosts (refused, never accepted). The healthy ones must finish and be reported; the
others must be reported as what they are; the exit code is the worst of all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import ClientKey, require
from tests.integration.instance import SESSION_OPEN, Instance, free_port, missing_requirements

pytestmark = pytest.mark.sshd

HOLD = 'command="sleep 4; exec sh -c \\"$SSH_ORIGINAL_COMMAND\\"" '
NEVER = 'command="sleep 120" '
TIMEOUT_S = 6.0


@dataclass
class Fleet:
    good: list[Instance]
    victim: Instance
    slow: Instance
    dead_port: int
    known_hosts: Path
    key: ClientKey
    dir: Path


def fresh_builder(inst: Instance) -> Instance:
    """A builder's root home is nearly empty; this host's is huge (caches): a tmpfs over it
    keeps every probe short, so the time-outs below only catch the ones made slow."""
    inst.exec(["mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", "/root"])
    return inst


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey) -> Iterator[Fleet]:
    require(missing_requirements())
    base = tmp_path_factory.mktemp("fleet")
    started: list[Instance] = []
    try:
        for _ in range(4):
            started.append(fresh_builder(Instance(base).start()))
        good, victim, slow = started[:2], started[2], started[3]
        for inst in good:
            inst.authorize("root", client_key.public_line)
        victim.authorize("root", HOLD + client_key.public_line)
        slow.authorize("root", NEVER + client_key.public_line)
        known = base / "known_hosts"
        known.write_text("".join(i.host_key_line() + "\n" for i in started))
        yield Fleet(good, victim, slow, free_port(), known, client_key, base)
    finally:
        for inst in started:
            inst.stop()


def _ssh(f: Fleet) -> list[str]:
    return ["-i", str(f.key.path), "--known-hosts", str(f.known_hosts)]


def _wait_for_session(inst: Instance, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while SESSION_OPEN not in inst.log():
        if time.monotonic() > deadline:
            raise AssertionError("the probe never reached the victim")
        time.sleep(0.02)


def test_audit_fleet_reports_killed_slow_and_unreachable_and_finishes_the_rest(
    fleet: Fleet, tmp_path: Path
) -> None:
    f = fleet
    a, b = f.good
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text(
        "schema: ami-wizard/inventory/v1\n"
        "defaults: {user: root}\n"
        "targets:\n"
        f"  - {{name: victim, host: 127.0.0.1, port: {f.victim.port}}}\n"
        f"  - {{name: slow, host: 127.0.0.1, port: {f.slow.port}}}\n"
        f"  - {{name: nobody, host: 127.0.0.1, port: {f.dead_port}}}\n"
        f"  - {{name: stranger, target: 'ssh://root@localhost:{b.port}'}}\n"
    )
    listed = tmp_path / "more.txt"
    listed.write_text(f"# one a line\nssh://root@127.0.0.1:{b.port}\n")
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "wizard.cli", "audit",
            f"ssh://root@127.0.0.1:{a.port}", f"@{listed}",
            "--inventory", str(inventory), "--jobs", "6",
            "--target-timeout", str(TIMEOUT_S), "--out-dir", str(out), "--format", "json",
            *_ssh(f),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    _wait_for_session(f.victim)
    f.victim.stop()  # killed mid-audit: its sshd and the held probe die with the namespace
    stdout, stderr = proc.communicate(timeout=120)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2, stderr
    summary = json.loads(stdout)
    assert summary == json.loads((out / "summary.json").read_text())
    rows = {t["name"]: t for t in summary["targets"]}
    assert list(rows) == [
        f"ssh://root@127.0.0.1:{a.port}",
        f"ssh://root@127.0.0.1:{b.port}",
        "victim",
        "slow",
        "nobody",
        "stranger",
    ]
    good = [rows[f"ssh://root@127.0.0.1:{p}"] for p in (a.port, b.port)]
    for row in good:
        assert row["state"] == "done", row
        assert row["exit_code"] == 1  # the host's own image has findings to fix
        assert row["statuses"]["root-ssh-login"] in ("pass", "fail")
        doc = json.loads((out / row["report"]).read_text())
        assert doc["schema"] == "ami-wizard/audit/v1"
        assert {c["id"]: c["status"] for c in doc["checks"]} == row["statuses"]
        assert row["duration_s"] < TIMEOUT_S
    assert rows["victim"]["state"] == "failed"
    assert any(
        why in rows["victim"]["error"] for why in ("connection lost", "connection was closed")
    ), rows["victim"]
    assert rows["slow"]["state"] == "timeout"
    assert "timed out after 6 s while working" in rows["slow"]["error"]
    assert rows["nobody"]["state"] == "unreachable"
    assert "connection refused" in rows["nobody"]["error"]
    assert rows["stranger"]["state"] == "unreachable"
    assert "host key" in rows["stranger"]["error"] and "unknown" in rows["stranger"]["error"]
    for name in ("victim", "slow", "nobody", "stranger"):
        assert set(rows[name]["statuses"].values()) == {"error"}
        assert rows[name]["report"] == ""
        assert f"ami-wizard: {name}: " in stderr
    # Nothing waited on the slow one longer than its time-out.
    assert elapsed < TIMEOUT_S + 20
    assert summary["exit_code"] == 2
    md = (out / "summary.md").read_text()
    assert "| slow | timeout: timed out after 6 s while working |" in md
    html = (out / "summary.html").read_text()
    assert html.count("</tr>") == 1 + 6  # the head, then one row per target
    # The stranger's key was refused, never recorded.
    assert "localhost" not in f.known_hosts.read_text()


def test_apply_plan_on_many_targets(fleet: Fleet, tmp_path: Path) -> None:
    f = fleet
    plan = tmp_path / "plan.yaml"
    plan.write_text("schema: ami-wizard/plan/v1\nchoices:\n  machine-id: empty\n")
    targets = [f"ssh://root@127.0.0.1:{i.port}" for i in f.good]
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable, "-m", "wizard.cli", "apply", *targets,
            f"ssh://root@127.0.0.1:{f.dead_port}", "--plan", str(plan), "--out-dir", str(out),
            *_ssh(f),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    rows = {t["name"]: t for t in summary["targets"]}
    assert summary["command"] == "apply"
    for name, inst in zip(targets, f.good, strict=True):
        assert rows[name]["state"] == "done", rows[name]
        assert rows[name]["statuses"]["machine-id"] == "pass"
        log = (out / rows[name]["report"]).read_text()
        assert "machine-id: fail -> pass" in log
        assert "ami-wizard undo " in log
        assert inst.read("/etc/machine-id") == b""
    dead = rows[f"ssh://root@127.0.0.1:{f.dead_port}"]
    assert dead["state"] == "unreachable"
    assert "| Target | State | " in proc.stdout and " machine-id " in proc.stdout
    assert f"ami-wizard: ssh://root@127.0.0.1:{f.dead_port}: unreachable: " in proc.stderr
