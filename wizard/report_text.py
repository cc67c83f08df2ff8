"""Plain-text pieces both report renderers (Markdown and HTML) say the same way: the target's
rows, the choice, the counts, where evidence was found, the signature hint.
"""

from __future__ import annotations

from collections.abc import Mapping

from wizard.i18n import N_, _
from wizard.report import STATUS_ORDER
from wizard.report_doc import (
    AccountCheckDoc,
    AccountDoc,
    CheckDoc,
    ChoiceDoc,
    EvidenceDoc,
    ReportDoc,
)


def choice_text(choice: ChoiceDoc | None) -> str:
    if not choice:
        return ""
    label = choice.get("label") or choice["option"]
    extra = " (recommended)" if choice.get("recommended") else ""
    return f"{label}{extra}"


def counts_text(counts: Mapping[str, int] | None) -> str:
    if not counts:
        return "—"
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in STATUS_ORDER)


def target_rows(report: ReportDoc) -> list[tuple[str, str]]:
    t = report["target"]
    rows = [
        (_("Target"), t.get("uri", "")),
        (_("Hostname"), t.get("hostname", "")),
        (_("OS"), t.get("os", "")),
        (_("Kernel"), t.get("kernel", "")),
        (_("Instance id"), t.get("instance_id", "")),
        (_("AMI id"), t.get("ami_id", "")),
    ]
    rows += [
        (_("Account {key}").format(key=k), v) for k, v in sorted((t.get("account") or {}).items())
    ]
    rows += [
        (_("Publisher"), report["image"]["publisher"] or _("(not set)")),
        (_("Description"), report["image"]["description"] or _("(not set)")),
        (_("Contact"), report["image"].get("contact") or _("(not set)")),
        (_("Operator"), report["operator"]),
        (_("Started"), report["started"]),
        (_("Finished"), report["finished"]),
        (_("Tool"), f"ami-wizard {report['tool']['version']}"),
    ]
    if report.get("session"):
        rows.append((_("Session"), report["session"]))
    return [(k, v) for k, v in rows if v]


def report_title(report: ReportDoc) -> str:
    t = report["target"]
    return _("AMI checklist report: {target}").format(
        target=t.get("hostname") or t.get("uri") or _("target")
    )


def evidence_where(e: EvidenceDoc) -> str:
    return f"{e['path']}:{e['line']}" if e.get("line") else str(e["path"])


def evidence_sets(check: CheckDoc) -> list[tuple[str, list[EvidenceDoc]]]:
    """One evidence list when nothing changed, else what was found before and what is after."""
    was, now = check["before"], check["after"]
    before = was["evidence"] if was else []
    after = now["evidence"] if now else []
    if now is None or before == after:
        return [(_("Evidence"), before)] if before else []
    return [
        (label, ev)
        for label, ev in ((_("Evidence before"), before), (_("Evidence after"), after))
        if ev
    ]


def account_rows(acc: AccountDoc) -> list[tuple[str, str]]:
    rows = [
        ("Account", acc.get("account_id", "")),
        ("Region", acc.get("region", "")),
        ("Read as", acc.get("caller_arn", "")),
        ("Read at", acc.get("read_at", "")),
        ("Could not read", acc.get("error", "")),
    ]
    if acc.get("regions"):
        rows.insert(2, ("Regions read", ", ".join(acc["regions"])))
    if acc.get("summary"):
        rows.append(("Checks", counts_text(acc["summary"])))
    return [(k, v) for k, v in rows if v]


GLOBAL_COLUMN = "global"


def region_matrix(acc: AccountDoc) -> tuple[list[str], list[tuple[AccountCheckDoc, list[str]]]]:
    """The region x check matrix: its columns ("global" first, then each region read) and,
    per check, the status in each column ("" where the check does not apply)."""
    columns = [GLOBAL_COLUMN, *acc.get("regions", [])]
    rows = []
    for c in acc["checks"]:
        per = c.get("regions", {})
        rows.append((c, [per.get(col, "") for col in columns]))
    used = [i for i, col in enumerate(columns) if any(r[1][i] for r in rows)]
    return [columns[i] for i in used], [(c, [cells[i] for i in used]) for c, cells in rows]


VERIFY_TEXT = N_(
    "Verify the signature: `ssh-keygen -Y verify -f allowed_signers -I SIGNER -n ami-wizard "
    "-s REPORT.json.sig < REPORT.json` or `ami-wizard report verify REPORT.json "
    "--allowed-signers allowed_signers`."
)
