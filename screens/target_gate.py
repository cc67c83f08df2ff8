"""One call at a time touches the target.

The session is not made for two callers: an apply and a re-probe running together would
interleave commands on the target and race on the session's latest state. Every engine call
that reaches the target goes through the app's one `TargetGate`:

- what the operator starts (apply, re-probe, undo, the final phase) `claim`s it on the UI
  thread, so a second press is refused at once with "busy: …" and nothing changes;
- what the wizard does by itself (connect and probe, previews, the finale's look-ups) `wait`s
  for it in its worker thread, giving up if that worker is cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from textual.worker import get_current_worker


class TargetGate:
    """A lock that says what holds it; it may be released from another thread than the one
    that claimed it (a claim on the UI thread is released by the worker it started)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.doing = ""  # what holds the gate, for the "busy: …" notification

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def claim(self, doing: str) -> bool:
        """Take the gate now, or return False when something else holds it."""
        if not self._lock.acquire(blocking=False):
            return False
        self.doing = doing
        return True

    def release(self) -> None:
        self.doing = ""
        self._lock.release()

    @contextmanager
    def waiting(self, doing: str) -> Iterator[bool]:
        """Hold the gate for a block in a thread worker, waiting until it is free; yields
        False (without the gate) when that worker is cancelled first."""
        worker = get_current_worker()
        while not self._lock.acquire(timeout=0.1):
            if worker.is_cancelled:
                yield False
                return
        self.doing = doing
        try:
            yield True
        finally:
            self.release()
