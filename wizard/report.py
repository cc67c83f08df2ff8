"""The signed checklist report: every guideline before, the choice and why, what was done, after.

`build_report` turns plain session data into one dict (schema `ami-wizard/report/v1`); it is
rendered as canonical JSON (the signed bytes), Markdown and one self-contained printable HTML.
The report only reads findings and events it is given (the session's final state): it never
runs a check itself, so it cannot say two different things about one target.
"""

from __future__ import annotations

import getpass
import html
import logging
import os
import re
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checks import registry
from checks.base import catalog
from wizard import __version__
from wizard.errors import UsageError
from wizard.facts import Facts
from wizard.model import Finding, SessionEvent
from wizard.results import AuditResult
from wizard.secrets import clean_text, scrub
from wizard.ssh_keys import PassphraseCallback
from wizard.sshsig import canonical_json

if TYPE_CHECKING:
    from wizard.report_testboot import TestBootInput

log = logging.getLogger(__name__)

REPORT_SCHEMA = "ami-wizard/report/v1"
FORMATS = ("json", "md", "html")
# A check is "left open" when its last known status is one of these (pass and skip are done).
OPEN_STATUSES = ("fail", "error", "warn", "info")
_STATUS_ORDER = ("pass", "fail", "warn", "info", "skip", "error")
_ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "info": "ℹ️", "skip": "⏭️", "error": "💥"}


# --- input ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckActions:
    """What was done for one check, as plain text: the commands/steps and a summary of diffs."""

    commands: tuple[str, ...] = ()
    diff_summary: str = ""
    error: str | None = None
    rolled_back: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportInput:
    """Everything a report says, as plain data (no session internals).

    Empty `operator`, `started` or `finished` are filled in by `build_report` (the current
    user@host, the before audit's time, now); pass them for reproducible bytes.
    """

    before: AuditResult
    after: AuditResult | None = None
    choices: Mapping[str, str] = field(default_factory=dict)  # check id -> option id
    notes: Mapping[str, str] = field(default_factory=dict)  # check id -> the operator's note
    actions: Mapping[str, CheckActions] = field(default_factory=dict)
    operator: str = ""  # "user@host" of the operator's machine
    started: str = ""  # ISO 8601, UTC
    finished: str = ""  # ISO 8601, UTC
    tool_version: str = __version__
    session_id: str = ""
    # The session's final exclude list; None: the evidence paths of the latest bundle-excludes
    # finding (the same list, read from the finding, never computed here).
    exclude_list: tuple[str, ...] | None = None
    events: tuple[SessionEvent, ...] = ()  # what the session did, in order (applied, undone)
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    account: AccountInput | None = None  # None: the report has no "account" key
    test_boot: TestBootInput | None = None  # None: no "test_boot" key (wizard/report_testboot.py)


@dataclass(frozen=True)
class RunbookTick:
    """One step of the compromised-account runbook and whether the operator ticked it."""

    number: int
    id: str
    title: str
    done: bool = False


@dataclass(frozen=True)
class AccountInput:
    """The AWS account chapter for the report: the account audit and the runbook's state.

    `result` is None when the account was not read (then `error` says why, if it was tried).
    """

    result: AuditResult | None = None
    error: str = ""
    runbook: tuple[RunbookTick, ...] = ()


def operator_identity() -> str:
    """`user@host` of the machine the wizard runs on (not the target)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# --- content ----------------------------------------------------------------------------


def _clean(obj: Any) -> Any:
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, dict):
        return {clean_text(str(k)): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _state(f: Finding | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {
        "status": str(f.status),
        "summary": f.summary,
        "evidence": [e.to_dict() for e in f.evidence],
    }


def _counts(result: AuditResult | None) -> dict[str, int] | None:
    if result is None:
        return None
    counts = result.summary.counts
    return {k: counts.get(k, 0) for k in _STATUS_ORDER}


def build_report(inp: ReportInput) -> dict[str, Any]:
    """The report as a JSON-ready dict (schema `ami-wizard/report/v1`), scrubbed of secrets."""
    entries = catalog()
    before = {f.id: f for f in inp.before.findings}
    after = {f.id: f for f in inp.after.findings} if inp.after else {}
    order = [f.id for f in inp.before.findings] + [
        i for i in (*after, *inp.choices) if i not in before
    ]
    latest = inp.after or inp.before
    checks: list[dict[str, Any]] = []
    left_open: list[dict[str, str]] = []
    for check_id in dict.fromkeys(order):
        fb, fa = before.get(check_id), after.get(check_id)
        last = fa or fb
        entry = entries.get(check_id)
        option_id = inp.choices.get(check_id)
        option = entry.option(option_id) if entry and option_id else None
        acts = inp.actions.get(check_id, CheckActions())
        is_open = last is not None and str(last.status) in OPEN_STATUSES
        checks.append(
            {
                "id": check_id,
                "title": last.title if last else (entry.title if entry else check_id),
                "group": entry.group if entry else "",
                "severity": str(last.severity) if last else "",
                "before": _state(fb),
                "choice": (
                    {
                        "option": option_id,
                        "label": option.label if option else "",
                        "recommended": bool(option and option.recommended),
                        "reversible": bool(option.reversible) if option else True,
                    }
                    if option_id
                    else None
                ),
                "note": inp.notes.get(check_id, ""),
                "actions": {
                    "commands": list(acts.commands),
                    "diff_summary": acts.diff_summary,
                    "error": acts.error,
                    "rolled_back": acts.rolled_back,
                    "notes": list(acts.notes),
                },
                "after": _state(fa),
                "open": is_open,
            }
        )
        if is_open and last is not None:
            left_open.append(
                {
                    "id": check_id,
                    "title": last.title,
                    "status": str(last.status),
                    "summary": last.summary,
                }
            )
    if inp.exclude_list is not None:
        excludes = list(inp.exclude_list)
    else:
        derived = next((f for f in latest.findings if f.id == registry.exclude_list_check()), None)
        excludes = [e.path for e in derived.evidence] if derived is not None else []
    identity = dict(latest.facts.identity) if isinstance(latest.facts, Facts) else {}
    target = latest.target.to_dict()
    report = {
        "schema": REPORT_SCHEMA,
        "tool": {"name": "ami-wizard", "version": inp.tool_version},
        "session": inp.session_id,
        "operator": inp.operator or operator_identity(),
        "started": inp.started or inp.before.started,
        "finished": inp.finished or utc_now(),
        "target": target,
        "image": {
            "publisher": identity.get("publisher", ""),
            "description": identity.get("description", ""),
        },
        "summary": {"before": _counts(inp.before), "after": _counts(inp.after)},
        "checks": checks,
        "open": left_open,
        "bundle_excludes": excludes,
        "events": [e.to_dict() for e in inp.events],
        "warnings": list(inp.warnings),
        "errors": list(inp.errors),
    }
    if inp.account is not None:
        report["account"] = _account(inp.account, inp.notes)
    if inp.test_boot is not None:
        from wizard.report_testboot import section

        report["test_boot"] = section(inp.test_boot)
    cleaned: dict[str, Any] = _clean(report)
    return cleaned


def _account(acc: AccountInput, notes: Mapping[str, str]) -> dict[str, Any]:
    """The optional "account" key: each account check as read, and the runbook checklist."""
    entries = catalog()
    checks = []
    target: dict[str, Any] = {}
    if acc.result is not None:
        target = acc.result.target.to_dict()
        for f in acc.result.findings:
            entry = entries.get(f.id)
            checks.append(
                {
                    "id": f.id,
                    "title": f.title,
                    "severity": str(f.severity),
                    "status": str(f.status),
                    "summary": f.summary,
                    "evidence": [e.to_dict() for e in f.evidence],
                    "console": entry.console if entry else "",
                    "cli": entry.cli if entry else "",
                    "note": notes.get(f.id, ""),
                }
            )
    return {
        "uri": target.get("uri", ""),
        **{k: str(v) for k, v in (target.get("account") or {}).items()},
        "read_at": acc.result.started if acc.result is not None else "",
        "error": acc.error,
        "summary": _counts(acc.result),
        "checks": checks,
        "runbook": [
            {"step": t.number, "id": t.id, "title": t.title, "done": t.done} for t in acc.runbook
        ],
    }


# --- JSON -------------------------------------------------------------------------------


def to_json_bytes(report: Mapping[str, Any]) -> bytes:
    """The canonical bytes (sorted keys, compact, UTF-8): exactly what is signed."""
    return canonical_json(report)


# --- Markdown ---------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")


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


def _status_md(state: Mapping[str, Any] | None) -> str:
    if not state:
        return "—"
    s = state["status"]
    return f"{_ICON.get(s, '')} {s}"


def _choice_text(choice: Mapping[str, Any] | None) -> str:
    if not choice:
        return ""
    label = choice.get("label") or choice["option"]
    extra = " (recommended)" if choice.get("recommended") else ""
    return f"{label}{extra}"


def _counts_text(counts: Mapping[str, int] | None) -> str:
    if not counts:
        return "—"
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in _STATUS_ORDER)


def _target_rows(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    t = report["target"]
    rows = [
        ("Target", t.get("uri", "")),
        ("Hostname", t.get("hostname", "")),
        ("OS", t.get("os", "")),
        ("Kernel", t.get("kernel", "")),
        ("Instance id", t.get("instance_id", "")),
        ("AMI id", t.get("ami_id", "")),
    ]
    rows += [(f"Account {k}", v) for k, v in sorted((t.get("account") or {}).items())]
    rows += [
        ("Publisher", report["image"]["publisher"] or "(not set)"),
        ("Description", report["image"]["description"] or "(not set)"),
        ("Operator", report["operator"]),
        ("Started", report["started"]),
        ("Finished", report["finished"]),
        ("Tool", f"ami-wizard {report['tool']['version']}"),
    ]
    if report.get("session"):
        rows.append(("Session", report["session"]))
    return [(k, v) for k, v in rows if v]


def _title(report: Mapping[str, Any]) -> str:
    t = report["target"]
    return f"AMI checklist report: {t.get('hostname') or t.get('uri') or 'target'}"


def _evidence_where(e: Mapping[str, Any]) -> str:
    return f"{e['path']}:{e['line']}" if e.get("line") else str(e["path"])


def _evidence_sets(check: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    """One evidence list when nothing changed, else what was found before and what is after."""
    before = (check["before"] or {}).get("evidence") or []
    after = (check["after"] or {}).get("evidence") or []
    if check["after"] is None or before == after:
        return [("Evidence", before)] if before else []
    return [
        (label, ev) for label, ev in (("Evidence before", before), ("Evidence after", after)) if ev
    ]


def to_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown; target data is escaped or in code spans, never markup."""
    out = [f"# {_md(_title(report))}", ""]
    out += [f"- **{k}:** {_md(v)}" for k, v in _target_rows(report)]
    s = report["summary"]
    out += [
        f"- **Before:** {_counts_text(s['before'])}",
        f"- **After:** {_counts_text(s['after'])}",
        "",
        "## Checklist",
        "",
        "| Guideline | Before | Choice | Done | After |",
        "|---|---|---|---|---|",
    ]
    for c in report["checks"]:
        done = len(c["actions"]["commands"])
        out.append(
            f"| {_md(c['title'])} ({_md_code(c['id'])}) | {_status_md(c['before'])} | "
            f"{_md(_choice_text(c['choice'])) or '—'} | {done or '—'} | {_status_md(c['after'])} |"
        )
    out += ["", "## Left open", ""]
    if report["open"]:
        out += [f"- {_md_code(o['id'])} {o['status']}: {_md(o['summary'])}" for o in report["open"]]
    else:
        out.append("Nothing: every guideline passes or does not apply.")
    for kind in ("errors", "warnings"):
        if report[kind]:
            out += ["", f"## {kind.capitalize()}", ""]
            out += [f"- {_md(w)}" for w in report[kind]]
    if report.get("events"):
        out += ["", "## Session events", ""]
        out += [
            f"- {_md(e['time'])} **{_md(e['kind'])}** {_md_code(e['session'])}: {_md(e['summary'])}"
            for e in report["events"]
        ]
    out += ["", "## Guidelines in detail"]
    for c in report["checks"]:
        out += ["", f"### {_md(c['title'])} ({_md_code(c['id'])})", ""]
        for label, state in (("Before", c["before"]), ("After", c["after"])):
            if state:
                out.append(f"- **{label}:** {_status_md(state)}: {_md(state['summary'])}")
        if c["choice"]:
            out.append(
                f"- **Choice:** {_md(_choice_text(c['choice']))} ({_md_code(c['choice']['option'])})"
            )
        if c["note"]:
            out.append(f"- **Operator's note:** {_md(c['note'])}")
        acts = c["actions"]
        if acts["commands"]:
            out.append("- **Done:**")
            out += [f"  - {_md_code(cmd)}" for cmd in acts["commands"]]
        if acts["diff_summary"]:
            out.append(f"- **Changes:** {_md_code(acts['diff_summary'])}")
        if acts["error"]:
            rolled = " (rolled back)" if acts["rolled_back"] else ""
            out.append(f"- **Error{rolled}:** {_md(acts['error'])}")
        for label, evidence in _evidence_sets(c):
            out.append(f"- **{label}:**")
            out += [
                f"  - {_md_code(_evidence_where(e))} {_md(e['detail'])}".rstrip() for e in evidence
            ]
    out += ["", "## Bundle exclude list", ""]
    if report["bundle_excludes"]:
        out += [f"- {_md_code(p)}" for p in report["bundle_excludes"]]
    else:
        out.append("(none)")
    if report.get("account") is not None:
        out += _account_md(report["account"])
    if report.get("test_boot") is not None:
        from wizard.report_testboot import markdown

        out += markdown(report["test_boot"])
    out += ["", _VERIFY_TEXT, ""]
    return scrub("\n".join(out))


def _account_rows(acc: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("Account", acc.get("account_id", "")),
        ("Region", acc.get("region", "")),
        ("Read as", acc.get("caller_arn", "")),
        ("Read at", acc.get("read_at", "")),
        ("Could not read", acc.get("error", "")),
    ]
    if acc.get("summary"):
        rows.append(("Checks", _counts_text(acc["summary"])))
    return [(k, v) for k, v in rows if v]


def _account_md(acc: Mapping[str, Any]) -> list[str]:
    out = ["", "## AWS account", ""]
    out += [f"- **{k}:** {_md(v)}" for k, v in _account_rows(acc)]
    if acc["checks"]:
        out += ["", "| Check | Status | Finding |", "|---|---|---|"]
        out += [
            f"| {_md(c['title'])} ({_md_code(c['id'])}) | {_status_md(c)} | {_md(c['summary'])} |"
            for c in acc["checks"]
        ]
    for c in acc["checks"]:
        if c["status"] not in OPEN_STATUSES and not c["note"]:
            continue
        out += ["", f"### {_md(c['title'])} ({_md_code(c['id'])})", ""]
        out.append(f"- **Status:** {_status_md(c)}: {_md(c['summary'])}")
        if c["evidence"]:
            out.append("- **Evidence:**")
            out += [
                f"  - {_md_code(_evidence_where(e))} {_md(e['detail'])}".rstrip()
                for e in c["evidence"]
            ]
        if c["console"]:
            out.append(f"- **Console:** {_md(c['console'])}")
        if c["cli"]:
            out.append(f"- **CLI:** {_md_code(c['cli'])}")
        if c["note"]:
            out.append(f"- **Operator's note:** {_md(c['note'])}")
    if acc["runbook"]:
        out += ["", "## Compromised-account runbook", ""]
        out += [
            f"- [{'x' if t['done'] else ' '}] {t['step']}. {_md(t['title'])} ({_md_code(t['id'])})"
            for t in acc["runbook"]
        ]
    return out


_VERIFY_TEXT = (
    "Verify the signature: `ssh-keygen -Y verify -f allowed_signers -I SIGNER -n ami-wizard "
    "-s REPORT.json.sig < REPORT.json` or `ami-wizard report verify REPORT.json "
    "--allowed-signers allowed_signers`."
)


# --- HTML -------------------------------------------------------------------------------

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


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _badge(state: Mapping[str, Any] | None) -> str:
    if not state:
        return '<span class="badge s-none">—</span>'
    s = str(state["status"])
    cls = s if s in _STATUS_ORDER else "none"
    return f'<span class="badge s-{cls}">{_e(s)}</span>'


def _html_list(items: Iterable[str], code: bool = False) -> str:
    wrap = (lambda x: f"<code>{_e(x)}</code>") if code else _e
    return "<ul>" + "".join(f"<li>{wrap(i)}</li>" for i in items) + "</ul>"


def _html_check(c: Mapping[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    for label, state in (("Before", c["before"]), ("After", c["after"])):
        if state:
            rows.append((label, f"{_badge(state)} {_e(state['summary'])}"))
    if c["choice"]:
        rows.append(
            ("Choice", f"{_e(_choice_text(c['choice']))} <code>{_e(c['choice']['option'])}</code>")
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
    for label, evidence in _evidence_sets(c):
        items = "".join(
            f"<li><code>{_e(_evidence_where(e))}</code> {_e(e['detail'])}</li>" for e in evidence
        )
        rows.append((label, f"<ul>{items}</ul>"))
    body = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f'<section class="check" id="c-{_e(c["id"])}"><h3>{_e(c["title"])} '
        f'<code class="muted">{_e(c["id"])}</code></h3><dl>{body}</dl></section>'
    )


def _account_html(acc: Mapping[str, Any]) -> str:
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _account_rows(acc))
    rows = "".join(
        "<tr>"
        f'<td>{_e(c["title"])}<br><code class="muted">{_e(c["id"])}</code></td>'
        f"<td>{_badge(c)}</td>"
        f"<td>{_e(c['summary'])}"
        + (
            "<ul>"
            + "".join(
                f"<li><code>{_e(_evidence_where(e))}</code> {_e(e['detail'])}</li>"
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
        '<table class="list"><thead><tr><th>Check</th><th>Status</th><th>Finding</th></tr>'
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
        runbook = f'<h2>Compromised-account runbook</h2><ul class="runbook">{items}</ul>'
    return f'<h2>AWS account</h2><table class="meta">{meta}</table>{table}{runbook}'


def to_html(report: Mapping[str, Any]) -> str:
    """One self-contained HTML page (inline CSS, no scripts, no external assets) that prints well.

    Every value is escaped: file names and text from the target are hostile data.
    """
    title = _title(report)
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _target_rows(report))
    s = report["summary"]
    meta += f"<tr><th>Before</th><td>{_e(_counts_text(s['before']))}</td></tr>"
    meta += f"<tr><th>After</th><td>{_e(_counts_text(s['after']))}</td></tr>"
    rows = "".join(
        "<tr>"
        f'<td>{_e(c["title"])}<br><code class="muted">{_e(c["id"])}</code></td>'
        f"<td>{_badge(c['before'])}</td>"
        f"<td>{_e(_choice_text(c['choice'])) or _DASH}</td>"
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
            notices += f"<h2>{kind.capitalize()}</h2>{_html_list(report[kind])}"
    if report.get("events"):
        items = "".join(
            f"<li>{_e(e['time'])} <strong>{_e(e['kind'])}</strong> "
            f"<code>{_e(e['session'])}</code>: {_e(e['summary'])}</li>"
            for e in report["events"]
        )
        notices += f'<h2>Session events</h2><ul class="events">{items}</ul>'
    excludes = (
        f"<pre>{_e(chr(10).join(report['bundle_excludes']))}</pre>"
        if report["bundle_excludes"]
        else "<p>(none)</p>"
    )
    details = "".join(_html_check(c) for c in report["checks"])
    account = _account_html(report["account"]) if report.get("account") is not None else ""
    if report.get("test_boot") is not None:
        from wizard.report_testboot import html_section

        account += html_section(report["test_boot"])
    page = f"""<!DOCTYPE html>
<html lang="en">
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
<h2>Checklist</h2>
<table class="list">
<thead><tr><th>Guideline</th><th>Before</th><th>Choice</th><th>Steps done</th><th>After</th></tr></thead>
<tbody>{rows}</tbody>
</table>
<h2>Left open</h2>
{left_open}
{notices}
<h2>Bundle exclude list</h2>
<p class="muted">For <code>ec2-bundle-vol --exclude</code> (join with commas).</p>
{excludes}
{account}
<div class="details">
<h2>Guidelines in detail</h2>
{details}
</div>
<p class="sig">{_e(_VERIFY_TEXT.replace("`", ""))}</p>
</body>
</html>
"""
    return scrub(page)


# --- writing and signing ----------------------------------------------------------------

_RENDER: dict[str, Callable[[Mapping[str, Any]], bytes]] = {
    "json": to_json_bytes,
    "md": lambda r: to_markdown(r).encode("utf-8"),
    "html": lambda r: to_html(r).encode("utf-8"),
}


def _stem(path_stem: str | os.PathLike[str]) -> Path:
    """`report`, `report.json` and `report.html` all name the same set of files."""
    path = Path(os.path.expanduser(os.fspath(path_stem)))
    if path.suffix in (".json", ".md", ".html"):
        path = path.with_suffix("")
    return path


def _remembering(cb: PassphraseCallback | None) -> PassphraseCallback | None:
    """Ask for the key's passphrase once, not once per signed file."""
    if cb is None:
        return None
    answers: dict[str, str | None] = {}

    def ask(label: str) -> str | None:
        if label not in answers:
            answers[label] = cb(label)
        return answers[label]

    return ask


def write_report(
    report: Mapping[str, Any],
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = FORMATS,
    sign_key: str | None = None,
    sign_agent: bool = False,
    passphrase_cb: PassphraseCallback | None = None,
) -> list[str]:
    """Write STEM.json / STEM.md / STEM.html atomically; with a key, sign each into FILE.sig.

    Returns the paths written, signatures after their file. The JSON is the canonical bytes,
    so its signature covers exactly what `ami-wizard report verify` and ssh-keygen read.
    """
    from wizard.fsutil import write_atomic
    from wizard.signing import sign_file

    unknown = [f for f in formats if f not in _RENDER]
    if unknown:
        raise UsageError(f"unknown report format {unknown[0]!r} (known: {', '.join(FORMATS)})")
    if sign_key and sign_agent:
        raise UsageError("sign with either a key file or ssh-agent, not both")
    stem = _stem(path_stem)
    if not stem.parent.is_dir():
        raise UsageError(f"cannot write the report: {stem.parent} is not a directory")
    ask = _remembering(passphrase_cb)
    written: list[str] = []
    for fmt in dict.fromkeys(formats):
        path = stem.with_name(f"{stem.name}.{fmt}")
        try:
            write_atomic(path, _RENDER[fmt](report))
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        written.append(str(path))
        if sign_key:
            written.append(
                sign_file(str(path), key_file=os.path.expanduser(sign_key), passphrase_cb=ask)
            )
        elif sign_agent:
            written.append(sign_file(str(path)))
    log.info("report written: %s", ", ".join(written))
    return written
