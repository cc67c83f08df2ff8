"""Progress events of long engine operations (test-boot, apply): plain data the engine sends
and the screens turn into progress bars (`done` of `total` steps, what runs now)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    done: int  # steps finished
    total: int  # steps in all (known before the first starts)
    text: str  # what runs now ("" when done)


ProgressFn = Callable[[ProgressEvent], None]


class Steps:
    """Counts the steps of one operation and reports each start to `report` (or nowhere)."""

    def __init__(self, report: ProgressFn | None, total: int) -> None:
        self.report = report
        self.total = total
        self.done = 0

    def start(self, text: str) -> None:
        if self.report is not None:
            self.report(ProgressEvent(self.done, self.total, text))
        self.done = min(self.done + 1, self.total)

    def finish(self) -> None:
        self.done = self.total
        if self.report is not None:
            self.report(ProgressEvent(self.total, self.total, ""))
