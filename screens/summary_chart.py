"""The summary chart: every status as a share of one bar, the words and counts beside it
(so it reads the same with NO_COLOR). The overview shows it under its progress bar; once
every guideline is done it is the final summary of the image."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rich.text import Text

from screens.badges import BADGE
from wizard.model import Finding, Status

# Worst first, so the bar starts with what is left to do; each status its own fill.
ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.INFO, Status.SKIP, Status.PASS)
FILL = {
    Status.FAIL: "█",
    Status.ERROR: "█",
    Status.WARN: "▓",
    Status.INFO: "▒",
    Status.SKIP: "░",
    Status.PASS: "█",
}


def shares(counts: Counter[Status], width: int) -> dict[Status, int]:
    """Cells per status: every status present gets at least one, the total is `width`
    (largest remainders get the rest)."""
    total = sum(counts.values())
    present = [s for s in ORDER if counts[s]]
    if not total or width < len(present):
        return {s: 0 for s in ORDER}
    exact = {s: counts[s] * (width - len(present)) / total for s in present}
    cells = {s: 1 + int(exact[s]) for s in present}
    rest = width - sum(cells.values())
    for s in sorted(present, key=lambda s: exact[s] - int(exact[s]), reverse=True)[:rest]:
        cells[s] += 1
    return {s: cells.get(s, 0) for s in ORDER}


def summary_chart(findings: Iterable[Finding], width: int = 24) -> Text:
    counts: Counter[Status] = Counter(f.status for f in findings)
    if not counts:
        return Text("Summary: waiting for the probe…", style="dim")
    text = Text("Summary ")
    for status, cells in shares(counts, width).items():
        if cells:
            text.append(FILL[status] * cells, style=BADGE[status][1])
    text.append(" ")
    words = [f"{counts[s]} {BADGE[s][0].lower().rstrip('!')}" for s in ORDER if counts[s]]
    text.append(", ".join(words))
    return text
