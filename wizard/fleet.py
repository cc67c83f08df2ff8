"""Run one job (an audit, an apply) on many targets at once, each on its own SSH connection.

At most `jobs` targets are worked on together. Each has a deadline: a target still busy when
it passes is reported as timed out, its connection is closed (which ends any read waiting on
it) and its slot goes to the next target, so one unreachable, killed or slow target never
stalls the others. A job thread that does not notice is abandoned (threads are daemons).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from wizard.errors import TargetError, UsageError, WizardError
from wizard.inventory import FleetTarget
from wizard.secrets import clean_text

if TYPE_CHECKING:  # the runner stays light: the CLI imports it before any target is opened
    from wizard.targets.base import Target

T = TypeVar("T")

MAX_JOBS = 64
DEFAULT_TARGET_TIMEOUT_S = 300.0

# What became of one target.
DONE, UNREACHABLE, FAILED, TIMEOUT = "done", "unreachable", "failed", "timeout"
# Phases a job reports while it runs (the live display shows them).
WAITING, CONNECTING, WORKING = "waiting", "connecting", "working"


def default_jobs() -> int:
    """Audits wait on the network, not the CPU: four per core, at most MAX_JOBS."""
    return max(1, min(MAX_JOBS, 4 * (os.cpu_count() or 1)))


class Aborted(WizardError):
    """The target's deadline passed; its job stops at the next thing it does."""


class Handle:
    """A job's side of the watchdog: say what it is doing, register its open target."""

    def __init__(self, member: FleetTarget, report: Callable[[FleetTarget, str], None]) -> None:
        self.member = member
        self._report = report
        self._lock = threading.Lock()
        self._target: Target | None = None
        self.aborted = False
        self.connected = False

    def phase(self, phase: str) -> None:
        if self.aborted:
            raise Aborted(f"{self.member.name}: stopped (time-out)")
        self._report(self.member, phase)

    def attach(self, target: Target) -> None:
        """The job opened its target: from now on an abort closes it."""
        with self._lock:
            self._target = target
            self.connected = True
            if self.aborted:
                target.close()
                raise Aborted(f"{self.member.name}: stopped (time-out)")

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            target = self._target
        if target is not None:
            # A read blocked on the connection ends with an error; closing a dying
            # connection may itself fail in any way.
            with contextlib.suppress(Exception):
                target.close()


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One target's end: `state` DONE with the job's `value`, or why not (`error`, one line)."""

    member: FleetTarget
    state: str
    value: T | None
    error: str
    duration_s: float


@dataclass
class _Run:
    member: FleetTarget
    handle: Handle
    started: float
    deadline: float


def run_fleet(
    members: Sequence[FleetTarget],
    job: Callable[[FleetTarget, Handle], T],
    jobs: int,
    target_timeout: float,
    progress: Callable[[FleetTarget, str], None] | None = None,
) -> list[Outcome[T]]:
    """Run `job` on every member, at most `jobs` at once; outcomes in the members' order.

    `progress(member, phase)` is called from job threads (phases, then the final state):
    it must be thread-safe. A job raises WizardError for an expected failure; any other
    exception is reported too (one line), never lost.
    """
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    report = progress or (lambda _m, _p: None)
    pending = list(enumerate(members))
    pending.reverse()
    running: dict[int, _Run] = {}
    outcomes: dict[int, Outcome[T]] = {}
    finished: queue.Queue[tuple[int, Outcome[T]]] = queue.Queue()
    for m in members:
        report(m, WAITING)
    while pending or running:
        while pending and len(running) < jobs:
            index, member = pending.pop()
            handle = Handle(member, report)
            now = time.monotonic()
            running[index] = _Run(member, handle, now, now + target_timeout)
            threading.Thread(
                target=_work,
                args=(index, member, handle, job, finished, now),
                name=f"fleet-{index}",
                daemon=True,
            ).start()
        next_deadline = min(r.deadline for r in running.values())
        try:
            index, outcome = finished.get(timeout=max(next_deadline - time.monotonic(), 0.001))
            if index in running:  # a late result of a target already timed out is dropped
                del running[index]
                outcomes[index] = outcome
                report(outcome.member, outcome.state)
        except queue.Empty:
            pass
        now = time.monotonic()
        for index, run in list(running.items()):
            if now >= run.deadline:
                del running[index]
                run.handle.abort()
                where = "while working" if run.handle.connected else "before it answered"
                outcomes[index] = Outcome(
                    run.member,
                    TIMEOUT,
                    None,
                    f"timed out after {target_timeout:g} s {where}",
                    now - run.started,
                )
                report(run.member, TIMEOUT)
    return [outcomes[i] for i in range(len(members))]


def _work(
    index: int,
    member: FleetTarget,
    handle: Handle,
    job: Callable[[FleetTarget, Handle], T],
    finished: queue.Queue[tuple[int, Outcome[T]]],
    started: float,
) -> None:
    state, value, error = DONE, None, ""
    try:
        value = job(member, handle)
    except Aborted as exc:
        state, error = TIMEOUT, str(exc)
    except TargetError as exc:
        state = FAILED if handle.connected else UNREACHABLE
        error = str(exc)
    except WizardError as exc:
        state, error = FAILED, str(exc)
    except Exception as exc:  # a bug in one target's job must not lose the others
        state, error = FAILED, f"{type(exc).__name__}: {exc}"
    line = clean_text(error.replace("\n", " "))
    finished.put((index, Outcome(member, state, value, line, time.monotonic() - started)))
