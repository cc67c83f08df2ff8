"""The checklist report as one self-contained HTML page (inline CSS, no scripts, no external
assets) that prints well; every value is escaped: text from the target is hostile data.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from wizard.i18n import N_, _
from wizard.i18n import current as current_lang
from wizard.report import STATUS_ORDER
from wizard.report_doc import AccountCheckDoc, AccountDoc, CheckDoc, OpenDoc, ReportDoc, StateDoc
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

_CSS = """
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --bg:#ffffff; --soft:#f6f8fa;
  --pass:#1a7f37; --fail:#cf222e; --warn:#9a6700; --info:#0969da; --skip:#6e7781; --error:#8250df; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--fg); background: var(--bg); margin: 0 auto; padding: 24px; max-width: 1100px; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; }
table.meta th { width: 11em; background: none; color: var(--muted); font-weight: 500; }
code, pre { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  overflow-wrap: anywhere; word-break: break-word; }
pre { background: var(--soft); border: 1px solid var(--line); padding: 8px; white-space: pre-wrap; margin: 4px 0; }
td code { background: var(--soft); padding: 0 3px; border-radius: 3px; }
.badge { display: inline-block; min-width: 4.2em; text-align: center; padding: 1px 6px;
  border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
.s-pass { background: var(--pass); } .s-fail { background: var(--fail); }
.s-warn { background: var(--warn); } .s-info { background: var(--info); }
.s-skip { background: var(--skip); } .s-error { background: var(--error); }
.s-none { background: none; color: var(--muted); border: 1px solid var(--line); }
.check { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin: 10px 0; }
.check dl { display: grid; grid-template-columns: 9em 1fr; gap: 2px 10px; margin: 6px 0 0; }
.check dt { color: var(--muted); }
.check dd { margin: 0; }
.check ul { margin: 0; padding-left: 1.2em; }
.muted { color: var(--muted); }
.open li, .runbook li { margin: 2px 0; }
.runbook { list-style: none; padding-left: 0; }
.sig { margin-top: 28px; color: var(--muted); font-size: 12px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { padding: 0; max-width: none; font-size: 10.5pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr, .check, pre { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  .details { break-before: page; page-break-before: always; }
}
"""


_DASH = '<span class="muted">—</span>'

# Babel (on Python 3.11) cannot see a _() inside an f-string: the labels used only there
# are marked here for extraction.
_F_STRING_LABELS = (
    N_("Finding"),
    N_("Findings"),
    N_("Image"),
    N_("Ran"),
    N_("Steps done"),
    N_("Test-boot"),
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _badge(state: StateDoc | AccountCheckDoc | OpenDoc | None) -> str:
    if not state:
        return '<span class="badge s-none">—</span>'
    s = str(state["status"])
    cls = s if s in STATUS_ORDER else "none"
    return f'<span class="badge s-{cls}">{_e(s)}</span>'


def _html_list(items: Iterable[str], code: bool = False) -> str:
    wrap = (lambda x: f"<code>{_e(x)}</code>") if code else _e
    return "<ul>" + "".join(f"<li>{wrap(i)}</li>" for i in items) + "</ul>"


def _html_check(c: CheckDoc) -> str:
    rows: list[tuple[str, str]] = []
    for label, state in (("Before", c["before"]), ("After", c["after"])):
        if state:
            rows.append((label, f"{_badge(state)} {_e(state['summary'])}"))
    if c["choice"]:
        rows.append(
            ("Choice", f"{_e(choice_text(c['choice']))} <code>{_e(c['choice']['option'])}</code>")
        )
    if c["note"]:
        rows.append(("Operator's note", _e(c["note"])))
    acts = c["actions"]
    if acts["commands"]:
        rows.append(("Done", _html_list(acts["commands"], code=True)))
    if acts["diff_summary"]:
        rows.append(("Changes", f"<code>{_e(acts['diff_summary'])}</code>"))
    if acts["notes"]:
        rows.append(("Notes", _html_list(acts["notes"])))
    if acts["error"]:
        label = "Error (rolled back)" if acts["rolled_back"] else "Error"
        rows.append((label, _e(acts["error"])))
    for label, evidence in evidence_sets(c):
        items = "".join(
            f"<li><code>{_e(evidence_where(e))}</code> {_e(e['detail'])}</li>" for e in evidence
        )
        rows.append((label, f"<ul>{items}</ul>"))
    body = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f'<section class="check" id="c-{_e(c["id"])}"><h3>{_e(c["title"])} '
        f'<code class="muted">{_e(c["id"])}</code></h3><dl>{body}</dl></section>'
    )


def _account_html(acc: AccountDoc) -> str:
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in account_rows(acc))
    rows = "".join(
        "<tr>"
        f'<td>{_e(c["title"])}<br><code class="muted">{_e(c["id"])}</code></td>'
        f"<td>{_badge(c)}</td>"
        f"<td>{_e(c['summary'])}"
        + (
            "<ul>"
            + "".join(
                f"<li><code>{_e(evidence_where(e))}</code> {_e(e['detail'])}</li>"
                for e in c["evidence"]
            )
            + "</ul>"
            if c["evidence"]
            else ""
        )
        + (f'<br><span class="muted">Console:</span> {_e(c["console"])}' if c["console"] else "")
        + (f'<br><span class="muted">CLI:</span> <code>{_e(c["cli"])}</code>' if c["cli"] else "")
        + (f'<br><span class="muted">Note:</span> {_e(c["note"])}' if c["note"] else "")
        + "</td></tr>"
        for c in acc["checks"]
    )
    table = (
        f'<table class="list"><thead><tr><th>{_e(_("Check"))}</th><th>{_e(_("Status"))}</th><th>{_e(_("Finding"))}</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    runbook = ""
    if acc["runbook"]:
        items = "".join(
            f"<li>{'☑' if t['done'] else '☐'} {_e(t['step'])}. {_e(t['title'])} "
            f'<code class="muted">{_e(t["id"])}</code></li>'
            for t in acc["runbook"]
        )
        runbook = f'<h2>{_e(_("Compromised-account runbook"))}</h2><ul class="runbook">{items}</ul>'
    matrix = _matrix_html(acc)
    return (
        f'<h2>{_e(_("AWS account"))}</h2><table class="meta">{meta}</table>{table}{matrix}{runbook}'
    )


def _matrix_html(acc: AccountDoc) -> str:
    columns, rows = region_matrix(acc)
    if len(columns) < 2:
        return ""
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        f"<tr><td><code>{_e(c['id'])}</code></td>"
        + "".join(f'<td class="{_e(cell)}">{_e(cell or "·")}</td>' for cell in cells)
        + "</tr>"
        for c, cells in rows
    )
    return (
        f'<h3>{_e(_("By region"))}</h3><table class="list matrix"><thead><tr><th>{_e(_("Check"))}</th>'
        f"{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def to_html(report: ReportDoc) -> str:
    """One self-contained HTML page (inline CSS, no scripts, no external assets) that prints well.

    Every value is escaped: file names and text from the target are hostile data.
    """
    title = report_title(report)
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in target_rows(report))
    s = report["summary"]
    meta += f"<tr><th>{_e(_('Before'))}</th><td>{_e(counts_text(s['before']))}</td></tr>"
    meta += f"<tr><th>{_e(_('After'))}</th><td>{_e(counts_text(s['after']))}</td></tr>"
    rows = "".join(
        "<tr>"
        f'<td>{_e(c["title"])}<br><code class="muted">{_e(c["id"])}</code></td>'
        f"<td>{_badge(c['before'])}</td>"
        f"<td>{_e(choice_text(c['choice'])) or _DASH}</td>"
        f"<td>{len(c['actions']['commands']) or '—'}</td>"
        f"<td>{_badge(c['after'])}</td>"
        "</tr>"
        for c in report["checks"]
    )
    if report["open"]:
        left = "".join(
            f"<li>{_badge(o)} <code>{_e(o['id'])}</code> {_e(o['summary'])}</li>"
            for o in report["open"]
        )
        left_open = f'<ul class="open">{left}</ul>'
    else:
        left_open = "<p>Nothing: every guideline passes or does not apply.</p>"
    notices = ""
    for kind in ("errors", "warnings"):
        if report[kind]:
            notices += f"<h2>{_e(_(kind.capitalize()))}</h2>{_html_list(report[kind])}"
    if report["probe_notes"]:
        notes = [f"{n['kind']}: {n['text']}" for n in report["probe_notes"]]
        notices += f"<h2>{_e(_('Probe notes'))}</h2>{_html_list(notes)}"
    if report.get("events"):
        items = "".join(
            f"<li>{_e(e['time'])} <strong>{_e(e['kind'])}</strong> "
            f"<code>{_e(e['session'])}</code>: {_e(e['summary'])}</li>"
            for e in report["events"]
        )
        notices += f'<h2>{_e(_("Session events"))}</h2><ul class="events">{items}</ul>'
    excludes = (
        f"<pre>{_e(chr(10).join(report['bundle_excludes']))}</pre>"
        if report["bundle_excludes"]
        else f"<p>{_e(_('(none)'))}</p>"
    )
    details = "".join(_html_check(c) for c in report["checks"])
    account = _account_html(report["account"]) if report.get("account") is not None else ""
    if report.get("test_boot") is not None:
        account += test_boot_html(report["test_boot"])
    page = f"""<!DOCTYPE html>
<html lang="{current_lang()}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ami-wizard {_e(report["tool"]["version"])}">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{_e(title)}</h1>
<table class="meta">{meta}</table>
<h2>{_e(_("Checklist"))}</h2>
<table class="list">
<thead><tr><th>{_e(_("Guideline"))}</th><th>{_e(_("Before"))}</th><th>{_e(_("Choice"))}</th><th>{_e(_("Steps done"))}</th><th>{_e(_("After"))}</th></tr></thead>
<tbody>{rows}</tbody>
</table>
<h2>{_e(_("Left open"))}</h2>
{left_open}
{notices}
<h2>{_e(_("Bundle exclude list"))}</h2>
<p class="muted">For <code>ec2-bundle-vol --exclude</code> (join with commas).</p>
{excludes}
{account}
<div class="details">
<h2>{_e(_("Guidelines in detail"))}</h2>
{details}
</div>
<p class="sig">{_e(_(VERIFY_TEXT).replace("`", ""))}</p>
</body>
</html>
"""
    return scrub(page)


def test_boot_html(sec: Mapping[str, Any]) -> str:
    """The section as HTML (every value escaped)."""
    meta = (
        f"<tr><th>{_e(_('Image'))}</th><td><code>{_e(sec['target'])}</code></td></tr>"
        f"<tr><th>{_e(_('Ran'))}</th><td>{_e(sec['ran_at'])}</td></tr>"
    )
    if sec["booted"]:
        meta += f"<tr><th>{_e(_('Findings'))}</th><td>{_e(counts_text(sec['summary']))}</td></tr>"
    if not sec["booted"]:
        return (
            f'<h2>{_e(_("Test-boot"))}</h2><table class="meta">{meta}</table>'
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
                f"<li><code>{_e(evidence_where(e))}</code> {_e(e['detail'])}</li>"
                for e in f["evidence"]
            )
            + "</ul>"
            if f["evidence"]
            else ""
        )
        + "</li>"
        for f in sec["findings"]
    )
    return f'<h2>{_e(_("Test-boot"))}</h2><table class="meta">{meta}</table>{table}<ul class="open">{items}</ul>'
