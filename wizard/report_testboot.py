"""The checklist report's optional `test_boot` section: what a test-boot of the image proved.

A test-boot (wizard/testboot.py) launches the prepared image twice under systemd-nspawn and
judges each launch. When one ran in the session (the wizard's finale, or `ami-wizard test-boot
--report`), the report carries its findings and the launches side by side; when the image
could not be booted, it says why and what was therefore not proven. The section is part of
the report dict, so the JSON signature covers it like everything else.

wizard/report.py builds and renders the rest of the report and calls `section`,
`markdown` and `html_section` here (imported lazily there: this module uses its escaping).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.model import Finding, Summary

if TYPE_CHECKING:
    pass

# The rows of the side-by-side table, in order (keys of testboot.launch_rows).
ROWS = (
    ("instance_id", "Instance id"),
    ("user", "Launch key user"),
    ("boot_seconds", "Boot (s)"),
    ("state", "systemd state"),
    ("machine_id", "/etc/machine-id"),
    ("root_password", "Root password"),
    ("launch_key_login", "Launch key login"),
    ("reboot_seconds", "Reboot (s)"),
)


@dataclass(frozen=True)
class TestBootInput:
    """One test-boot for the report: its findings and launches, or why nothing was booted."""

    __test__ = False  # not a pytest test class, whatever its name says

    target: str  # what was booted: image:/path
    ran_at: str  # ISO 8601, UTC
    findings: tuple[Finding, ...] = ()
    launches: tuple[Mapping[str, Any], ...] = ()  # testboot.launch_rows
    not_proven: str = ""  # set when nothing was booted: why, and what that leaves unproven

    @property
    def booted(self) -> bool:
        return not self.not_proven


def section(tb: TestBootInput) -> dict[str, Any]:
    """The report's `test_boot` key (JSON-ready)."""
    return {
        "target": tb.target,
        "ran_at": tb.ran_at,
        "booted": tb.booted,
        "not_proven": tb.not_proven,
        "summary": Summary.of(tb.findings).counts,  # status -> how many findings
        "findings": [
            {
                "id": f.id,
                "title": f.title,
                "status": str(f.status),
                "severity": str(f.severity),
                "summary": f.summary,
                "evidence": [e.to_dict() for e in f.evidence],
            }
            for f in tb.findings
        ],
        "launches": [dict(row) for row in tb.launches],
    }


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def side_by_side(launches: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """(row label, one cell per launch) for the table of launches (the finale shows it too):
    the ROWS, then each host key's fingerprint, which must differ from launch to launch."""
    rows = [(label, [_cell(row.get(key)) for row in launches]) for key, label in ROWS]
    keys = [row.get("host_keys") or {} for row in launches]
    for path in sorted({p for k in keys for p in k}):
        rows.append((path.rsplit("/", 1)[-1], [_cell(k.get(path, "absent")) for k in keys]))
    return rows


def markdown(sec: Mapping[str, Any]) -> list[str]:
    """The section as Markdown lines (target data escaped or in code spans)."""
    from wizard.report import _counts_text, _evidence_where, _md, _md_code, _status_md

    out = ["", "## Test-boot", "", f"- **Image:** {_md_code(sec['target'])}"]
    out.append(f"- **Ran:** {_md(sec['ran_at'])}")
    if not sec["booted"]:
        out += ["", f"**Not booted:** {_md(sec['not_proven'])}"]
        return out
    out.append(f"- **Findings:** {_counts_text(sec['summary'])}")
    rows = sec["launches"]
    if rows:
        out += [
            "",
            "| | " + " | ".join(f"Launch {_md(r.get('launch', ''))}" for r in rows) + " |",
            "|---" * (len(rows) + 1) + "|",
        ]
        out += [
            f"| {_md(label)} | " + " | ".join(_md_code(v) for v in values) + " |"
            for label, values in side_by_side(rows)
        ]
    out.append("")
    for f in sec["findings"]:
        out.append(f"- {_status_md(f)} {_md_code(f['id'])} {_md(f['title'])}: {_md(f['summary'])}")
        out += [
            f"  - {_md_code(_evidence_where(e))} {_md(e['detail'])}".rstrip() for e in f["evidence"]
        ]
    return out


def html_section(sec: Mapping[str, Any]) -> str:
    """The section as HTML (every value escaped)."""
    from wizard.report import _badge, _counts_text, _e, _evidence_where

    meta = (
        f"<tr><th>Image</th><td><code>{_e(sec['target'])}</code></td></tr>"
        f"<tr><th>Ran</th><td>{_e(sec['ran_at'])}</td></tr>"
    )
    if sec["booted"]:
        meta += f"<tr><th>Findings</th><td>{_e(_counts_text(sec['summary']))}</td></tr>"
    if not sec["booted"]:
        return (
            f'<h2>Test-boot</h2><table class="meta">{meta}</table>'
            f"<p><strong>Not booted:</strong> {_e(sec['not_proven'])}</p>"
        )
    rows = sec["launches"]
    table = ""
    if rows:
        head = "".join(f"<th>Launch {_e(r.get('launch', ''))}</th>" for r in rows)
        body = "".join(
            f"<tr><th>{_e(label)}</th>"
            + "".join(f"<td><code>{_e(v)}</code></td>" for v in values)
            + "</tr>"
            for label, values in side_by_side(rows)
        )
        table = f'<table class="list"><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>'
    items = "".join(
        f"<li>{_badge(f)} <code>{_e(f['id'])}</code> {_e(f['title'])}: {_e(f['summary'])}"
        + (
            "<ul>"
            + "".join(
                f"<li><code>{_e(_evidence_where(e))}</code> {_e(e['detail'])}</li>"
                for e in f["evidence"]
            )
            + "</ul>"
            if f["evidence"]
            else ""
        )
        + "</li>"
        for f in sec["findings"]
    )
    return (
        f'<h2>Test-boot</h2><table class="meta">{meta}</table>{table}<ul class="open">{items}</ul>'
    )
