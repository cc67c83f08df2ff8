"""Audit output formats: JSON (the public `ami-wizard/audit/v1` schema), Markdown, SARIF 2.1.0
and JUnit XML. Every renderer's text passes through `secrets.scrub` as a last line of defence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from xml.etree import ElementTree as ET

from checks.base import catalog
from wizard.facts import Facts
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status
from wizard.results import AuditResult
from wizard.secrets import clean_text, scrub

AUDIT_SCHEMA = "ami-wizard/audit/v1"
FORMATS = ("json", "md", "sarif", "junit")
_ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "info": "ℹ️", "skip": "⏭️", "error": "💥"}


def probe_notes(result: AuditResult) -> list[dict[str, str]]:
    """What the probe said about itself: searches that stopped early (kind "limit", with the
    search they concern) and other problems (kind "error"). Empty for the account chapter."""
    facts = result.facts
    if not isinstance(facts, Facts):
        return []
    notes = [{"kind": "limit", "search": n.search, "text": n.text} for n in facts.incomplete]
    notes += [{"kind": "error", "search": "", "text": text} for text in facts.probe_errors]
    return [{k: clean_text(v) for k, v in n.items()} for n in notes]


def audit_dict(result: AuditResult) -> dict[str, Any]:
    summary = result.summary.counts
    return {
        "schema": AUDIT_SCHEMA,
        "tool": {"name": "ami-wizard", "version": result.tool_version},
        "generated": result.started,
        "target": {
            k: v
            for k, v in result.target.to_dict().items()
            if k in ("uri", "hostname", "os", "instance_id", "ami_id", "account")
        },
        "checks": [f.to_dict() for f in result.findings],
        "summary": {
            k: summary.get(k, 0) for k in ("pass", "fail", "warn", "info", "skip", "error")
        },
        "probe_notes": probe_notes(result),  # additive to audit/v1
        **_account_regions(result),
    }


def _account_regions(result: AuditResult) -> dict[str, Any]:
    """The account chapter's region x check matrix (additive to audit/v1; absent otherwise)."""
    if not result.matrix:
        return {}
    regions = sorted({r for per in result.matrix.values() for r in per})
    return {"account_regions": {"regions": regions, "matrix": result.matrix}}


def to_json(result: AuditResult) -> str:
    return json.dumps(audit_dict(result), indent=2, ensure_ascii=False) + "\n"


def _evidence_line(e: Any) -> str:
    where = f"{e.path}:{e.line}" if e.line else e.path
    return f"`{where}` {e.detail}".rstrip()


def to_markdown(result: AuditResult) -> str:
    t = result.target
    counts = result.summary.counts
    out = [
        "# " + _("ami-wizard audit of {target}").format(target=t.hostname or t.uri),
        "",
        _("- Target: `{uri}`").format(uri=t.uri) + (f" ({t.os})" if t.os else ""),
    ]
    if t.instance_id or t.ami_id:
        out.append(
            _("- Instance: {instance}, AMI: {ami}").format(
                instance=t.instance_id or "?", ami=t.ami_id or "?"
            )
        )
    out += [
        _("- Generated: {time} by ami-wizard {version}").format(
            time=result.started, version=result.tool_version
        ),
        _("- Summary: ") + ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in Status),
        "",
        "| | {} | {} | {} | {} |".format(_("Check"), _("Status"), _("Severity"), _("Summary")),
        "|---|---|---|---|---|",
    ]
    for f in result.findings:
        summary = f.summary.replace("|", "\\|")
        out.append(
            f"| {_ICON[f.status.value]} | `{f.id}` | {f.status.value} | {f.severity.value} | {summary} |"
        )
    notes = probe_notes(result)
    if notes:
        out += ["", "## " + _("Probe notes"), ""]
        out += [f"- {n['kind']}: {n['text']}" for n in notes]
    for f in result.findings:
        if f.status in (Status.PASS, Status.SKIP) and not f.evidence:
            continue
        out += ["", f"## {f.title} (`{f.id}`): {f.status.value}", "", f.summary]
        if f.evidence:
            out.append("")
            out += [f"- {_evidence_line(e)}" for e in f.evidence]
        if f.options:
            marked = [
                _("**{option}** (recommended)").format(option=o) if o == f.recommended else o
                for o in f.options
            ]
            out += ["", _("Options: ") + ", ".join(marked)]
    return "\n".join(out) + "\n"


_SARIF_LEVEL = {"fail": "error", "warn": "warning", "info": "note", "error": "error"}
_SARIF_KIND = {
    "pass": "pass",
    "fail": "fail",
    "warn": "review",
    "info": "informational",
    "skip": "notApplicable",
    "error": "fail",
}


def _sarif_result(f: Finding, index: int) -> dict[str, Any]:
    res: dict[str, Any] = {
        "ruleId": f.id,
        "ruleIndex": index,
        "kind": _SARIF_KIND[f.status.value],
        "message": {"text": f.summary},
        "properties": {"status": f.status.value, "severity": f.severity.value},
    }
    res["level"] = _SARIF_LEVEL.get(f.status.value, "none")
    locations = []
    for e in f.evidence:
        if not e.path.startswith("/"):
            continue
        loc: dict[str, Any] = {"artifactLocation": {"uri": "file://" + e.path}}
        if e.line:
            loc["region"] = {"startLine": e.line}
        locations.append({"physicalLocation": loc, "message": {"text": e.detail or e.path}})
    if locations:
        res["locations"] = locations
    return res


def to_sarif(result: AuditResult) -> str:
    entries = catalog()
    rules = []
    for f in result.findings:
        entry = entries.get(f.id)
        rules.append(
            {
                "id": f.id,
                "name": f.title,
                "shortDescription": {"text": f.title},
                "fullDescription": {"text": entry.why if entry else f.title},
                "help": {"text": entry.learn or entry.why if entry else f.title},
                "properties": {"severity": f.severity.value, "group": entry.group if entry else ""},
            }
        )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ami-wizard",
                        "version": result.tool_version,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "startTimeUtc": result.started,
                        "toolExecutionNotifications": [
                            {
                                "level": "warning" if n["kind"] == "limit" else "error",
                                "message": {"text": n["text"]},
                                "descriptor": {"id": f"probe-{n['kind']}"},
                            }
                            for n in probe_notes(result)
                        ],
                    }
                ],
                "properties": {"target": result.target.to_dict()},
                "results": [_sarif_result(f, i) for i, f in enumerate(result.findings)],
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_junit(result: AuditResult) -> str:
    counts = result.summary.counts
    suite = ET.Element(
        "testsuite",
        {
            "name": f"ami-wizard audit {result.target.uri}",
            "tests": str(len(result.findings)),
            "failures": str(counts.get("fail", 0)),
            "errors": str(counts.get("error", 0)),
            "skipped": str(counts.get("skip", 0)),
            "timestamp": result.started,
            "time": f"{result.duration_s:.3f}",
        },
    )
    notes = probe_notes(result)
    if notes:
        props = ET.SubElement(suite, "properties")
        for n in notes:
            ET.SubElement(props, "property", {"name": f"probe-{n['kind']}", "value": n["text"]})
    for f in result.findings:
        case = ET.SubElement(suite, "testcase", {"classname": "ami-wizard", "name": f.id})
        body = f.summary + "".join("\n" + _evidence_line(e) for e in f.evidence)
        if f.status == Status.FAIL:
            ET.SubElement(
                case, "failure", {"message": f.summary, "type": f.severity.value}
            ).text = body
        elif f.status == Status.ERROR:
            ET.SubElement(case, "error", {"message": f.summary}).text = body
        elif f.status == Status.SKIP:
            ET.SubElement(case, "skipped", {"message": f.summary})
        else:
            ET.SubElement(case, "system-out").text = f"{f.status.value}: {body}"
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


RENDERERS: dict[str, Callable[[AuditResult], str]] = {
    "json": to_json,
    "md": to_markdown,
    "sarif": to_sarif,
    "junit": to_junit,
}


def _clean_finding(f: Finding) -> Finding:
    return replace(
        f,
        summary=clean_text(f.summary),
        evidence=tuple(
            Evidence(clean_text(e.path), e.line, clean_text(e.detail)) for e in f.evidence
        ),
    )


def render(result: AuditResult, fmt: str) -> str:
    """Render in `fmt`; target-supplied text is made printable and scrubbed of secrets first."""
    t = result.target
    target = replace(
        t,
        hostname=clean_text(t.hostname),
        os=clean_text(t.os),
        kernel=clean_text(t.kernel),
        instance_id=clean_text(t.instance_id),
        ami_id=clean_text(t.ami_id),
    )
    clean = replace(result, target=target, findings=tuple(map(_clean_finding, result.findings)))
    return scrub(RENDERERS[fmt](clean))
