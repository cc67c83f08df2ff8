"""The checklist report's optional `test_boot` section: what a test-boot of the image proved.

A test-boot (wizard/testboot.py) launches the prepared image twice under systemd-nspawn and
judges each launch. When one ran in the session (the wizard's finale, or `ami-wizard test-boot
--report`), the report carries its findings and the launches side by side; when the image
could not be booted, it says why and what was therefore not proven. The section is part of
the report dict, so the JSON signature covers it like everything else.

wizard/report.py calls `section` here; wizard/report_md.py and wizard/report_html.py render
the section (`side_by_side` gives them the launches' table).
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
