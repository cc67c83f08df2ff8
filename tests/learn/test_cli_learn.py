"""`ami-wizard learn` headless: the plan is reproducible, the completion record is signed with
the checklist report's SSHSIG machinery and verifies with `report verify` and `learn
--verify`; bad input is one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.learn_progress import FIX_POINTS, Course, load_course, save_course


def cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "XDG_STATE_HOME": str(state)},
        check=False,
    )


def test_plan_is_reproducible_and_seed_dependent(tmp_path: Path) -> None:
    one = cli("learn", "--seed", "7", "--level", "tricky", "--plan", state=tmp_path)
    two = cli("learn", "--seed", "7", "--level", "tricky", "--plan", state=tmp_path)
    other = cli("learn", "--seed", "8", "--level", "tricky", "--plan", state=tmp_path)
    assert one.returncode == two.returncode == other.returncode == 0, one.stderr
    assert one.stdout == two.stdout != other.stdout
    plan = json.loads(one.stdout)
    assert plan["seed"] == 7 and plan["level"] == "tricky" and plan["flaws"]
    assert plan["planted_tree"] != json.loads(other.stdout)["planted_tree"]
    assert all(f["where"] for f in plan["flaws"])


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = cli("learn", "--level", "expert", state=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    unsigned = cli("learn", "--seed", "1", "--report", str(tmp_path / "r.json"), state=tmp_path)
    assert unsigned.returncode == 2 and "--sign-key" in unsigned.stderr
    assert "Traceback" not in unsigned.stderr
    headless = cli("learn", "--seed", "1", state=tmp_path)
    assert headless.returncode == 2 and "terminal" in headless.stderr


def test_progress_resumes_the_last_course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    course = Course.new(5, "real-world")
    first = next(iter(course.lessons))
    course.lessons[first].fixed = True
    path = save_course(course)
    assert path == tmp_path / "ami-wizard" / "learn" / "progress.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    resumed = load_course(None, None)
    assert resumed.key == "real-world-5" and resumed.lessons[first].fixed
    assert load_course(5, "real-world").total() == (FIX_POINTS, course.total()[1])
    assert load_course(6, "basic").total()[0] == 0  # another course starts fresh


def test_signed_completion_record_verifies(tmp_path: Path) -> None:
    state = tmp_path / "state"
    course = Course.new(3, "basic")
    for check_id in course.lessons:
        course.lessons[check_id].fixed = True
        for q in course.quiz(check_id):
            course.answer(check_id, q.id, q.answer)
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(state)
    try:
        save_course(course)
    finally:
        if old is None:
            os.environ.pop("XDG_STATE_HOME")
        else:
            os.environ["XDG_STATE_HOME"] = old
    key = tmp_path / "trainer"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    record = tmp_path / "done.json"
    out = cli(
        "learn", "--report", str(record), "--learner", "Ana", "--sign-key", str(key), state=state
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(record.read_text())
    assert data["learner"] == "Ana" and data["finished"] is True
    assert data["course"] == {"seed": 3, "level": "basic"}
    assert data["score"] == data["out_of"] == course.total()[1]
    pub = str(key) + ".pub"
    verified = cli("report", "verify", str(record), "--public-key", pub, state=state)
    assert verified.returncode == 0 and "Good signature" in verified.stdout, verified.stderr
    shown = cli("learn", "--verify", str(record), "--public-key", pub, state=state)
    assert shown.returncode == 0 and "Ana: course basic #3" in shown.stdout, shown.stderr
    # ssh-keygen accepts what we signed (same namespace as the checklist report)
    signers = tmp_path / "allowed"
    signers.write_text("trainer@example " + Path(pub).read_text())
    with record.open("rb") as fh:
        check = subprocess.run(
            [
                "ssh-keygen",
                "-Y",
                "verify",
                "-f",
                str(signers),
                "-I",
                "trainer@example",
                "-n",
                "ami-wizard",
                "-s",
                str(record) + ".sig",
            ],
            stdin=fh,
            capture_output=True,
            check=False,
        )
    assert check.returncode == 0, check.stderr
    # a changed score no longer verifies
    record.write_text(record.read_text().replace('"learner": "Ana"', '"learner": "Bob"'))
    forged = cli("learn", "--verify", str(record), "--public-key", pub, state=state)
    assert forged.returncode == 1 and "NOT valid" in forged.stderr
