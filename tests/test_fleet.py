"""The fleet runner (bounded concurrency, deadlines, failures kept apart) and its summary."""

from __future__ import annotations

import json
import threading
import time

import pytest

from wizard import fleet
from wizard.errors import TargetError, UsageError
from wizard.inventory import FleetTarget
from wizard.report_fleet import FleetRow, fleet_doc, to_html, to_json, to_markdown

MEMBERS = [FleetTarget(f"t{i}", f"spec{i}") for i in range(6)]


def test_at_most_jobs_run_at_once_and_outcomes_keep_order() -> None:
    lock = threading.Lock()
    now = peak = 0

    def job(member: FleetTarget, handle: fleet.Handle) -> str:
        nonlocal now, peak
        handle.phase(fleet.WORKING)
        with lock:
            now += 1
            peak = max(peak, now)
        time.sleep(0.05)
        with lock:
            now -= 1
        return member.spec.upper()

    seen: list[tuple[str, str]] = []
    out = fleet.run_fleet(MEMBERS, job, 2, 10, lambda m, p: seen.append((m.name, p)))
    assert [o.value for o in out] == [f"SPEC{i}" for i in range(6)]
    assert {o.state for o in out} == {fleet.DONE}
    assert peak == 2
    assert seen.count(("t3", fleet.DONE)) == 1 and ("t3", fleet.WORKING) in seen


def test_a_stuck_target_times_out_and_frees_its_slot() -> None:
    release = threading.Event()

    def job(member: FleetTarget, handle: fleet.Handle) -> str:
        if member.name == "t0":
            release.wait(30)  # never notices: abandoned, not waited for
        return member.name

    t0 = time.monotonic()
    out = fleet.run_fleet(MEMBERS, job, 1, 0.3)
    elapsed = time.monotonic() - t0
    release.set()
    assert out[0].state == fleet.TIMEOUT
    assert out[0].error == "timed out after 0.3 s before it answered"
    assert [o.state for o in out[1:]] == [fleet.DONE] * 5
    assert elapsed < 3


def test_failures_are_told_apart() -> None:
    class Conn:
        closed = False

        def close(self) -> None:
            self.closed = True

    def job(member: FleetTarget, handle: fleet.Handle) -> str:
        if member.name == "t0":
            raise TargetError("cannot connect to h:22 — connection refused")
        if member.name == "t1":
            handle.attach(Conn())  # type: ignore[arg-type]
            raise TargetError("h: connection lost — reset")
        if member.name == "t2":
            raise ValueError("a bug\nin two lines")
        return "ok"

    out = fleet.run_fleet(MEMBERS[:4], job, 4, 10)
    assert [o.state for o in out] == [fleet.UNREACHABLE, fleet.FAILED, fleet.FAILED, fleet.DONE]
    assert out[2].error == "ValueError: a bug in two lines"


def test_abort_closes_the_attached_target_and_stops_the_job() -> None:
    class Conn:
        closed = False

        def close(self) -> None:
            self.closed = True

    handle = fleet.Handle(MEMBERS[0], lambda _m, _p: None)
    conn = Conn()
    handle.attach(conn)  # type: ignore[arg-type]
    handle.abort()
    assert conn.closed
    with pytest.raises(fleet.Aborted):
        handle.phase(fleet.WORKING)
    late = Conn()
    with pytest.raises(fleet.Aborted):
        handle.attach(late)  # type: ignore[arg-type]
    assert late.closed


def test_jobs_must_be_positive() -> None:
    with pytest.raises(UsageError):
        fleet.run_fleet(MEMBERS, lambda m, h: None, 0, 1)
    assert 1 <= fleet.default_jobs() <= fleet.MAX_JOBS


def _doc() -> dict[str, object]:
    rows = [
        FleetRow("web|1", "ssh://root@w", "done", "", 1.2, 1, {"a": "pass", "b": "fail"}, "w.json"),
        FleetRow("<b>x</b>", "ssh://x", "unreachable", "connection refused", 0.1, 2),
    ]
    return fleet_doc(
        "audit", rows, [("a", "Check A"), ("b", "Check <B>")], "2026-01-01T00:00:00+00:00"
    )


def test_summary_json_cells_totals_and_exit_code() -> None:
    doc = json.loads(to_json(_doc()))
    assert doc["schema"] == "ami-wizard/fleet/v1"
    assert doc["exit_code"] == 2
    assert doc["targets"][0]["statuses"] == {"a": "pass", "b": "fail"}
    assert doc["targets"][1]["statuses"] == {"a": "error", "b": "error"}
    assert doc["totals"]["b"]["fail"] == 1 and doc["totals"]["b"]["error"] == 1


def test_summary_markdown_and_html_escape_target_text() -> None:
    md = to_markdown(_doc())  # type: ignore[arg-type]
    assert "| web\\|1 | done | ✅ pass | ❌ fail | w.json |" in md
    assert "\\<b\\>x\\</b\\>" in md and "<b>" not in md
    assert "unreachable: connection refused" in md
    page = to_html(_doc())  # type: ignore[arg-type]
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert 'title="Check &lt;B&gt;"' in page
