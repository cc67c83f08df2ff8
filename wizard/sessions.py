"""The apply sessions on this machine, read from their journals: state, changes, events, and
one lock per target so two sessions never change the same machine at once.

A small typed API for the CLI (`ami-wizard sessions`, `undo`, `report SESSION_ID`) and the
report: `load_session(id).events` are the undo attempts, notes and irreversible steps.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard import config as wizard_config
from wizard.errors import UsageError
from wizard.journal import Entry, Journal, list_sessions, private_dir
from wizard.secrets import scrub_tree

if TYPE_CHECKING:
    from wizard.model import SessionEvent as ModelSessionEvent
    from wizard.report import ReportInput
    from wizard.results import AuditResult
    from wizard.targets.base import Target

REPORT_INPUT = "report-input.json"
REPORT_INPUT_SCHEMA = "ami-wizard/session-report-input/v1"

# Journal ops that announce a change to the target.
CHANGE_OPS = ("file", "lock", "move", "command", "irreversible", "mode")


class TargetBusy(UsageError):
    """Another ami-wizard process holds the target's lock (exit code 2)."""


@dataclass(frozen=True)
class SessionEvent:
    """Something that happened in a session, for the operator and the report.

    kind: "undo" (an undo that ran), "undo-refused", "note" (errors, rollbacks, shreds) or
    "irreversible" (a step undo cannot bring back).
    """

    time: str  # ISO 8601, UTC ("" in journals older than the time stamps)
    kind: str
    text: str
    check_id: str = ""
    restored: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionInfo:
    """One session as its journal tells it."""

    id: str
    target: str
    kind: str  # ssh | local | image | demo
    root: str
    started: str
    state: str  # applied | partial | undone | failed
    changes: int  # changes made (announced and done)
    events: tuple[SessionEvent, ...]
    undone_at: str = ""  # time of the undo that restored everything ("" unless undone)

    def same_target(self, other: SessionInfo) -> bool:
        return (self.kind, self.target, self.root) == (other.kind, other.target, other.root)


def _event(e: Entry) -> SessionEvent | None:
    if e.op == "undo":
        refused = str(e.data.get("refused") or "")
        restored = tuple(str(x) for x in e.data.get("restored", ()))
        errors = tuple(str(x) for x in e.data.get("errors", ()))
        if refused:
            return SessionEvent(e.time, "undo-refused", f"undo refused: {refused}")
        text = f"undo: {len(restored)} restored, {len(errors)} error(s)"
        return SessionEvent(e.time, "undo", text, restored=restored, errors=errors)
    if e.op == "note":
        return SessionEvent(e.time, "note", str(e.data.get("text", "")), e.check_id)
    if e.op == "irreversible":
        return SessionEvent(e.time, "irreversible", str(e.data.get("text", "")), e.check_id)
    return None


# How undo recorded itself before it wrote "undo" lines.
_OLD_UNDO_NOTE = re.compile(r"^undo: (\d+) restored, (\d+) error\(s\)$")


def _undo_attempts(entries: list[Entry]) -> list[Entry]:
    """Undo runs that started (refusals left out), old-style notes read as undo lines."""
    out = []
    for e in entries:
        if e.op == "undo" and not e.data.get("refused"):
            out.append(e)
        elif e.op == "note" and (m := _OLD_UNDO_NOTE.match(str(e.data.get("text", "")))):
            errors = ["(not recorded)"] * int(m.group(2))
            out.append(Entry(e.seq, "undo", "", {"restored": [], "errors": errors}, e.time))
    return out


def session_state(entries: list[Entry]) -> tuple[str, int, str]:
    """(state, number of changes made, time it was undone) from a session's journal lines."""
    undos = _undo_attempts(entries)
    done = {int(e.data["of"]) for e in entries if e.op == "done"}
    changes = [e for e in entries if e.op in CHANGE_OPS]
    made = [e for e in changes if e.seq in done]
    if undos and not undos[-1].data.get("errors"):
        return "undone", len(made), undos[-1].time
    errors = bool(undos) or any(
        e.op == "note" and str(e.data.get("text", "")).startswith("error:") for e in entries
    )
    if not made:
        return ("failed" if errors or changes else "applied"), 0, ""
    if errors or len(made) < len(changes):
        return "partial", len(made), ""
    return "applied", len(made), ""


def load_session(session_id: str) -> SessionInfo:
    """A session's journal read back (refused unless it is the operator's own, private)."""
    journal = Journal.open(session_id)
    return session_info(journal)


def session_info(journal: Journal) -> SessionInfo:
    """The state, changes and events of an open journal."""
    meta = journal.meta
    entries = list(journal.entries())
    state, changes, undone_at = session_state(entries)
    events = tuple(ev for ev in map(_event, entries) if ev is not None)
    return SessionInfo(
        id=journal.session_id,
        target=str(meta.get("target", "")),
        kind=str(meta.get("kind", "")),
        root=str(meta.get("root") or ""),
        started=str(meta.get("created", "")),
        state=state,
        changes=changes,
        events=events,
        undone_at=undone_at,
    )


def all_sessions() -> list[SessionInfo]:
    """Every session on this machine, oldest first."""
    return sorted((load_session(sid) for sid in list_sessions()), key=lambda s: s.started)


def later_sessions(session: SessionInfo) -> list[SessionInfo]:
    """Sessions on the same target started after `session`, oldest first (by their creation
    time: two ids of the same second sort by their random part)."""
    out = []
    for sid in list_sessions():
        if sid == session.id or sid[:16] < session.id[:16]:
            continue
        other = load_session(sid)
        if other.same_target(session) and (other.started, other.id) > (session.started, session.id):
            out.append(other)
    return sorted(out, key=lambda s: s.started)


def touched_paths(journal: Journal) -> set[str]:
    """Files a session announced changes to (its file records)."""
    return {e.file.path for e in journal.entries() if e.op == "file"}


# --- one lock per target ---------------------------------------------------------------


def _lock_path(target: Target) -> str:
    key = "\0".join((target.kind, target.uri, "" if target.live else target.root))
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    locks = private_dir(wizard_config.state_dir() / "locks")
    return str(locks / f"{digest}.lock")


@contextlib.contextmanager
def target_lock(target: Target) -> Iterator[None]:
    """Hold the target's lock for a block that changes it; a second holder gets TargetBusy.

    Not re-entrant: flock locks belong to the open file, so a nested call fails too.
    """
    path = _lock_path(target)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise UsageError(f"cannot lock {path}: {exc.strerror}") from None
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise TargetBusy(
                f"another ami-wizard session is changing {target.uri} (pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            # Emptied, never removed: removing a lock file races with the next flock.
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# --- what the report needs, kept beside the journal -------------------------------------


def _result_json(result: AuditResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    from wizard.facts import Facts

    # An account audit's facts (AccountFacts) carry none of these: empty, as a fresh Facts.
    facts = result.facts if isinstance(result.facts, Facts) else Facts()
    return {
        "target": result.target.to_dict(),
        "findings": [f.to_dict() for f in result.findings],
        "started": result.started,
        "duration_s": result.duration_s,
        "tool_version": result.tool_version,
        "identity": dict(facts.identity or {}),
        "limits_hit": list(facts.limits_hit or ()),
        "probe_errors": list(facts.probe_errors or ()),
    }


def _result_from(data: dict[str, Any] | None) -> AuditResult | None:
    from wizard.facts import Facts
    from wizard.model import Evidence, Finding, Severity, Status
    from wizard.results import AuditResult, TargetInfo

    if data is None:
        return None
    t = dict(data["target"])
    target = TargetInfo(
        uri=str(t["uri"]),
        hostname=str(t.get("hostname", "")),
        os=str(t.get("os", "")),
        kernel=str(t.get("kernel", "")),
        instance_id=str(t.get("instance_id", "")),
        ami_id=str(t.get("ami_id", "")),
        account=dict(t.get("account", {})),
    )
    findings = tuple(
        Finding(
            id=str(f["id"]),
            title=str(f["title"]),
            status=Status(f["status"]),
            severity=Severity(f["severity"]),
            summary=str(f["summary"]),
            evidence=tuple(
                Evidence(str(e["path"]), int(e["line"]), str(e["detail"])) for e in f["evidence"]
            ),
            options=tuple(str(o) for o in f["options"]),
            recommended=f.get("recommended"),
        )
        for f in data["findings"]
    )
    # Only what the report reads of the facts survives; the rest stays on the target.
    facts = Facts(
        identity=dict(data.get("identity", {})),
        limits_hit=tuple(data.get("limits_hit", ())),
        probe_errors=tuple(data.get("probe_errors", ())),
    )
    return AuditResult(
        target=target,
        facts=facts,
        findings=findings,
        started=str(data["started"]),
        duration_s=float(data["duration_s"]),
        tool_version=str(data.get("tool_version", "")),
    )


def store_report_input(session_id: str, inp: ReportInput) -> None:
    """Keep what the report of a session says (final findings, choices, actions) in its
    journal dir, so `ami-wizard report SESSION_ID` can write it again later."""
    doc = {
        "schema": REPORT_INPUT_SCHEMA,
        "before": _result_json(inp.before),
        "after": _result_json(inp.after),
        "choices": dict(inp.choices),
        "notes": dict(inp.notes),
        "actions": {
            k: {
                "commands": list(a.commands),
                "diff_summary": a.diff_summary,
                "error": a.error,
                "rolled_back": a.rolled_back,
                "notes": list(a.notes),
            }
            for k, a in inp.actions.items()
        },
        "operator": inp.operator,
        "started": inp.started,
        "finished": inp.finished,
        "tool_version": inp.tool_version,
        "session_id": inp.session_id or session_id,
        "exclude_list": None if inp.exclude_list is None else list(inp.exclude_list),
        "events": [e.to_dict() for e in inp.events],
        "warnings": list(inp.warnings),
        "errors": list(inp.errors),
    }
    # Masked like every report: a file name or evidence line may carry a token.
    doc = scrub_tree(doc)
    Journal.open(session_id).write_text(REPORT_INPUT, json.dumps(doc, indent=1) + "\n")


def load_report_input(session_id: str) -> ReportInput:
    """The report input a session stored when its apply ended, with its events added."""
    from wizard.model import SessionEvent as ModelEvent
    from wizard.report import CheckActions, ReportInput

    journal = Journal.open(session_id)
    text = journal.read_text(REPORT_INPUT)
    if text is None:
        raise UsageError(f"session {session_id} kept no result to report (nothing was applied)")
    try:
        doc = json.loads(text)
        if doc.get("schema") != REPORT_INPUT_SCHEMA:
            raise ValueError(f"schema is not {REPORT_INPUT_SCHEMA}")
        before = _result_from(doc["before"])
        if before is None:
            raise ValueError("no before state")
        actions = {
            str(k): CheckActions(
                commands=tuple(a["commands"]),
                diff_summary=str(a["diff_summary"]),
                error=a["error"],
                rolled_back=bool(a["rolled_back"]),
                notes=tuple(a["notes"]),
            )
            for k, a in doc["actions"].items()
        }
        inp = ReportInput(
            before=before,
            after=_result_from(doc["after"]),
            choices=dict(doc["choices"]),
            notes=dict(doc["notes"]),
            actions=actions,
            operator=str(doc["operator"]),
            started=str(doc["started"]),
            finished=str(doc["finished"]),
            tool_version=str(doc["tool_version"]),
            session_id=str(doc["session_id"]),
            exclude_list=None if doc["exclude_list"] is None else tuple(doc["exclude_list"]),
            events=tuple(
                ModelEvent(str(e["time"]), str(e["kind"]), str(e["session"]), str(e["summary"]))
                for e in doc.get("events", ())
            ),
            warnings=tuple(doc["warnings"]),
            errors=tuple(doc["errors"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"session {session_id}: its stored result is damaged ({exc})") from None
    return inp


def report_events(info: SessionInfo) -> tuple[ModelSessionEvent, ...]:
    """The undo attempts recorded in a session's journal, as the report's event list has them."""
    from wizard.model import SessionEvent as ModelEvent

    undo = [ev for ev in info.events if ev.kind in ("undo", "undo-refused")]
    lines = event_lines(info)
    return tuple(
        ModelEvent(ev.time, "undone" if ev.kind == "undo" else "undo-refused", info.id, line)
        for ev, line in zip(undo, lines, strict=True)
    )


def event_lines(info: SessionInfo) -> list[str]:
    """The session's undo attempts as one line each (for reports and `sessions show`)."""
    out = []
    for ev in info.events:
        if ev.kind not in ("undo", "undo-refused"):
            continue
        line = f"{ev.time or 'earlier'}: {ev.text}"
        if ev.restored:
            line += " (" + "; ".join(ev.restored) + ")"
        if ev.errors:
            line += " — errors: " + "; ".join(ev.errors)
        out.append(line)
    return out
