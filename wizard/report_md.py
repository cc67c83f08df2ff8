"""The checklist report as Markdown: target data is escaped or in code spans, never markup."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from wizard.i18n import N_, _
from wizard.report import OPEN_STATUSES
from wizard.report_doc import AccountCheckDoc, AccountDoc, ReportDoc, StateDoc
from wizard.report_testboot import side_by_side
from wizard.report_text import (
    VERIFY_TEXT,
    account_rows,
    choice_text,
    counts_text,
    evidence_sets,
    evidence_where,
    region_matrix,
    report_title,
    target_rows,
)
from wizard.secrets import scrub

_ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "info": "ℹ️", "skip": "⏭️", "error": "💥"}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")

# Babel (on Python 3.11) cannot see a _() inside an f-string: the labels used only there
# are marked here for extraction.
_F_STRING_LABELS = (N_("CLI"), N_("Changes"), N_("Console"), N_("Finding"))


def _md(text: str) -> str:
    """Plain Markdown text: no markup or raw HTML can come through, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _md_code(text: str) -> str:
    """A code span whose fence is longer than any backtick run inside (data shown verbatim)."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _status_md(state: StateDoc | AccountCheckDoc | None) -> str:
    if not state:
        return "—"
    s = state["status"]
    return f"{_ICON.get(s, '')} {s}"


def to_markdown(report: ReportDoc) -> str:
    """The report as Markdown; target data is escaped or in code spans, never markup."""
    out = [f"# {_md(report_title(report))}", ""]
    out += [f"- **{k}:** {_md(v)}" for k, v in target_rows(report)]
    s = report["summary"]
    out += [
        f"- **{_('Before')}:** {counts_text(s['before'])}",
        f"- **{_('After')}:** {counts_text(s['after'])}",
        "",
        "## " + _("Checklist"),
        "",
        "| {} | {} | {} | {} | {} |".format(
            _("Guideline"), _("Before"), _("Choice"), _("Done"), _("After")
        ),
        "|---|---|---|---|---|",
    ]
    for c in report["checks"]:
        done = len(c["actions"]["commands"])
        out.append(
            f"| {_md(c['title'])} ({_md_code(c['id'])}) | {_status_md(c['before'])} | "
            f"{_md(choice_text(c['choice'])) or '—'} | {done or '—'} | {_status_md(c['after'])} |"
        )
    out += ["", "## " + _("Left open"), ""]
    if report["open"]:
        out += [f"- {_md_code(o['id'])} {o['status']}: {_md(o['summary'])}" for o in report["open"]]
    else:
        out.append(_("Nothing: every guideline passes or does not apply."))
    for heading, notes in ((_("Errors"), report["errors"]), (_("Warnings"), report["warnings"])):
        if notes:
            out += ["", f"## {heading}", ""]
            out += [f"- {_md(w)}" for w in notes]
    if report["probe_notes"]:
        out += ["", "## " + _("Probe notes"), ""]
        out += [f"- **{_md(n['kind'])}** {_md(n['text'])}" for n in report["probe_notes"]]
    if report.get("events"):
        out += ["", "## " + _("Session events"), ""]
        out += [
            f"- {_md(e['time'])} **{_md(e['kind'])}** {_md_code(e['session'])}: {_md(e['summary'])}"
            for e in report["events"]
        ]
    out += ["", "## " + _("Guidelines in detail")]
    for c in report["checks"]:
        out += ["", f"### {_md(c['title'])} ({_md_code(c['id'])})", ""]
        for label, state in ((_("Before"), c["before"]), (_("After"), c["after"])):
            if state:
                out.append(f"- **{label}:** {_status_md(state)}: {_md(state['summary'])}")
        if c["choice"]:
            out.append(
                f"- **{_('Choice')}:** {_md(choice_text(c['choice']))} ({_md_code(c['choice']['option'])})"
            )
        if c["note"]:
            out.append("- **" + _("Operator's note") + f":** {_md(c['note'])}")
        acts = c["actions"]
        if acts["commands"]:
            out.append(f"- **{_('Done')}:**")
            out += [f"  - {_md_code(cmd)}" for cmd in acts["commands"]]
        if acts["diff_summary"]:
            out.append(f"- **{_('Changes')}:** {_md_code(acts['diff_summary'])}")
        if acts["error"]:
            label = _("Error (rolled back)") if acts["rolled_back"] else _("Error")
            out.append(f"- **{label}:** {_md(acts['error'])}")
        for label, evidence in evidence_sets(c):
            out.append(f"- **{label}:**")
            out += [
                f"  - {_md_code(evidence_where(e))} {_md(e['detail'])}".rstrip() for e in evidence
            ]
    out += ["", "## " + _("Bundle exclude list"), ""]
    if report["bundle_excludes"]:
        out += [f"- {_md_code(p)}" for p in report["bundle_excludes"]]
    else:
        out.append(_("(none)"))
    if report.get("account") is not None:
        out += _account_md(report["account"])
    if report.get("test_boot") is not None:
        out += test_boot_markdown(report["test_boot"])
    out += ["", _(VERIFY_TEXT), ""]
    return scrub("\n".join(out))


def _account_md(acc: AccountDoc) -> list[str]:
    out = ["", "## " + _("AWS account"), ""]
    out += [f"- **{k}:** {_md(v)}" for k, v in account_rows(acc)]
    if acc["checks"]:
        out += ["", f"| {_('Check')} | {_('Status')} | {_('Finding')} |", "|---|---|---|"]
        out += [
            f"| {_md(c['title'])} ({_md_code(c['id'])}) | {_status_md(c)} | {_md(c['summary'])} |"
            for c in acc["checks"]
        ]
    out += _matrix_md(acc)
    for c in acc["checks"]:
        if c["status"] not in OPEN_STATUSES and not c["note"]:
            continue
        out += ["", f"### {_md(c['title'])} ({_md_code(c['id'])})", ""]
        out.append(f"- **{_('Status')}:** {_status_md(c)}: {_md(c['summary'])}")
        if c["evidence"]:
            out.append(f"- **{_('Evidence')}:**")
            out += [
                f"  - {_md_code(evidence_where(e))} {_md(e['detail'])}".rstrip()
                for e in c["evidence"]
            ]
        if c["console"]:
            out.append(f"- **{_('Console')}:** {_md(c['console'])}")
        if c["cli"]:
            out.append(f"- **{_('CLI')}:** {_md_code(c['cli'])}")
        if c["note"]:
            out.append("- **" + _("Operator's note") + f":** {_md(c['note'])}")
    if acc["runbook"]:
        out += ["", "## " + _("Compromised-account runbook"), ""]
        out += [
            f"- [{'x' if t['done'] else ' '}] {t['step']}. {_md(t['title'])} ({_md_code(t['id'])})"
            for t in acc["runbook"]
        ]
    return out


def _matrix_md(acc: AccountDoc) -> list[str]:
    columns, rows = region_matrix(acc)
    if len(columns) < 2:
        return []
    out = ["", "### " + _("By region"), ""]
    out.append(f"| {_('Check')} | " + " | ".join(_md(c) for c in columns) + " |")
    out.append("|---|" + "---|" * len(columns))
    out += [
        f"| {_md_code(c['id'])} | " + " | ".join(cell or "·" for cell in cells) + " |"
        for c, cells in rows
    ]
    return out


def test_boot_markdown(sec: Mapping[str, Any]) -> list[str]:
    """The section as Markdown lines (target data escaped or in code spans)."""
    out = ["", "## Test-boot", "", f"- **Image:** {_md_code(sec['target'])}"]
    out.append(f"- **Ran:** {_md(sec['ran_at'])}")
    if not sec["booted"]:
        out += ["", f"**Not booted:** {_md(sec['not_proven'])}"]
        return out
    out.append(f"- **Findings:** {counts_text(sec['summary'])}")
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
            f"  - {_md_code(evidence_where(e))} {_md(e['detail'])}".rstrip() for e in f["evidence"]
        ]
    return out
