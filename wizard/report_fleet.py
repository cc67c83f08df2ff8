"""The fleet summary: one row per target, one column per guideline, in JSON, Markdown and HTML.

Built from each target's final statuses (or why it has none: unreachable, failed, timed out),
never by running checks. Every text from a target or an inventory is escaped for the format
and passed through `secrets.clean_text`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard import __version__
from wizard.secrets import clean_text

FLEET_SCHEMA = "ami-wizard/fleet/v1"
STATUSES = ("pass", "fail", "warn", "info", "skip", "error")
_ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "info": "ℹ️", "skip": "⏭️", "error": "💥"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")


@dataclass(frozen=True)
class FleetRow:
    """One target in the summary. `statuses` maps check id to status (empty when the target
    never got a result); `report` is its own report file, relative to the summary."""

    name: str
    target: str
    state: str  # wizard.fleet: done | unreachable | failed | timeout
    error: str
    duration_s: float
    exit_code: int
    statuses: dict[str, str] = field(default_factory=dict)
    report: str = ""


def fleet_doc(
    command: str,
    rows: Sequence[FleetRow],
    checks: Sequence[tuple[str, str]],
    generated: str,
) -> dict[str, Any]:
    """The summary as JSON-ready data (`ami-wizard/fleet/v1`). `checks` are (id, title) in
    table order; a target without a result is `error` in every column."""
    ids = [c for c, _ in checks]
    targets = []
    totals = {c: dict.fromkeys(STATUSES, 0) for c in ids}
    for r in rows:
        if r.state == "done":
            cells = {c: r.statuses[c] for c in ids if c in r.statuses}
        else:
            cells = dict.fromkeys(ids, "error")
        for c, s in cells.items():
            totals[c][s] = totals[c].get(s, 0) + 1
        targets.append(
            {
                "name": clean_text(r.name),
                "target": clean_text(r.target),
                "state": r.state,
                "error": clean_text(r.error),
                "duration_s": round(r.duration_s, 3),
                "exit_code": r.exit_code,
                "statuses": cells,
                "report": clean_text(r.report),
            }
        )
    return {
        "schema": FLEET_SCHEMA,
        "tool": {"name": "ami-wizard", "version": __version__},
        "command": command,
        "generated": generated,
        "checks": [{"id": c, "title": clean_text(t)} for c, t in checks],
        "targets": targets,
        "totals": totals,
        "exit_code": max((r.exit_code for r in rows), default=0),
    }


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _md(text: object) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _state_text(t: dict[str, Any]) -> str:
    if t["state"] == "done":
        return "done"
    return f"{t['state']}: {t['error']}" if t["error"] else t["state"]


def _counts(doc: dict[str, Any]) -> dict[str, int]:
    states: dict[str, int] = {}
    for t in doc["targets"]:
        states[t["state"]] = states.get(t["state"], 0) + 1
    return states


def to_markdown(doc: dict[str, Any]) -> str:
    ids = [c["id"] for c in doc["checks"]]
    states = _counts(doc)
    out = [
        f"# ami-wizard {doc['command']} of {len(doc['targets'])} targets",
        "",
        f"- Generated: {doc['generated']} by ami-wizard {doc['tool']['version']}",
        "- Targets: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())),
        f"- Exit code: {doc['exit_code']}",
        "",
        "| Target | State | " + " | ".join(_md(i) for i in ids) + " | Report |",
        "|---|---|" + "---|" * len(ids) + "---|",
    ]
    for t in doc["targets"]:
        cells = [
            f"{_ICON.get(s, '')} {s}" if s else "—" for s in (t["statuses"].get(i, "") for i in ids)
        ]
        out.append(
            f"| {_md(t['name'])} | {_md(_state_text(t))} | "
            + " | ".join(cells)
            + f" | {_md(t['report']) if t['report'] else '—'} |"
        )
    out.append("")
    return "\n".join(out)


_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1b1f24; margin: 24px; }
table { border-collapse: collapse; } th, td { padding: 4px 8px; border-bottom: 1px solid #d0d7de;
  text-align: left; vertical-align: top; } th { background: #f6f8fa; }
th.c { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
.s { display: inline-block; min-width: 3.6em; text-align: center; border-radius: 9px;
  color: #fff; font-size: 12px; font-weight: 600; padding: 0 5px; }
.pass { background: #1a7f37; } .fail { background: #cf222e; } .warn { background: #9a6700; }
.info { background: #0969da; } .skip { background: #6e7781; } .error { background: #8250df; }
.bad { color: #cf222e; } .muted { color: #57606a; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def to_html(doc: dict[str, Any]) -> str:
    checks = doc["checks"]
    head = "".join(f'<th class="c" title="{_e(c["title"])}">{_e(c["id"])}</th>' for c in checks)
    rows = []
    for t in doc["targets"]:
        cells = "".join(
            f'<td><span class="s {_e(s)}">{_e(s)}</span></td>' if s else '<td class="muted">—</td>'
            for s in (t["statuses"].get(c["id"], "") for c in checks)
        )
        state_cls = "" if t["state"] == "done" else ' class="bad"'
        link = f'<a href="{_e(t["report"])}">{_e(t["report"])}</a>' if t["report"] else "—"
        rows.append(
            f'<tr><th>{_e(t["name"])}<br><span class="muted">{_e(t["target"])}</span></th>'
            f"<td{state_cls}>{_e(_state_text(t))}</td>{cells}<td>{link}</td></tr>"
        )
    title = f"ami-wizard {doc['command']} of {len(doc['targets'])} targets"
    states = ", ".join(f"{n} {s}" for s, n in sorted(_counts(doc).items()))
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body>\n<h1>{_e(title)}</h1>\n"
        f"<p>Generated {_e(doc['generated'])} by ami-wizard {_e(doc['tool']['version'])}."
        f" Targets: {_e(states)}. Exit code {_e(doc['exit_code'])}.</p>\n"
        f"<table><thead><tr><th>Target</th><th>State</th>{head}<th>Report</th></tr></thead>"
        f"<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n</body></html>\n"
    )


RENDERERS = {"json": to_json, "md": to_markdown, "html": to_html}
