"""Undo of an apply session: put back, newest first, every reversible change its journal holds.

Reads the journal on the operator's machine (wizard.journal) and restores files, moves,
password locks and commands through the same step backends apply uses (wizard.apply).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from wizard.apply import FileState, Progress, Step, _restore_step, backend_for
from wizard.errors import WizardError
from wizard.journal import FileRecord, Journal
from wizard.targets.base import Target


@dataclass
class UndoResult:
    restored: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    irreversible: list[str] = field(default_factory=list)


def _differs(record: FileRecord, now: FileState) -> bool:
    if record.kind != now.kind:
        return True
    if record.kind == "file":
        return (record.content, record.mode, record.uid, record.gid) != (
            now.content,
            now.mode,
            now.uid,
            now.gid,
        )
    return record.kind == "link" and record.link != now.link


def undo_journal(journal: Journal, target: Target, progress: Progress | None = None) -> UndoResult:
    """Put back every reversible change of a session, newest first, byte for byte.

    Files are only rewritten when they differ from the journal, so undo is safe to repeat and
    to run after an apply that stopped half-way. Irreversible steps are listed, not undone.
    """
    say = progress or (lambda _msg: None)
    backend = backend_for(target)
    entries = sorted(journal.entries(), key=lambda e: e.seq, reverse=True)
    done = journal.done_seqs()
    result = UndoResult()
    # Earliest record per path wins: that is the state before the session touched it.
    first: dict[str, FileRecord] = {}
    sshd_touched = False
    for e in sorted(entries, key=lambda e: e.seq):
        if e.op == "file" and e.file.path not in first:
            first[e.file.path] = e.file
            sshd_touched = sshd_touched or bool(e.data.get("sshd"))
    paths = list(first)
    now = backend.read(paths, paths) if paths else {}
    handled: set[str] = set()
    for e in entries:
        step: Step | None = None
        text = ""
        if e.op == "file":
            rec = first[e.file.path]
            if rec.path in handled:
                continue
            handled.add(rec.path)
            if not _differs(rec, now[rec.path]):
                continue
            step = _restore_step(rec)
            text = f"restored {rec.path}" if rec.kind != "absent" else f"removed {rec.path}"
            if now[rec.path].kind == "link" and rec.kind == "file":
                # We put a symlink there (e.g. dbus machine-id): remove it, never follow it.
                backend.perform([Step("delete", rec.path)])
        elif e.op == "lock":
            step = Step("unlock", e.data["user"], flag=bool(e.data.get("was_empty")))
            text = f"unlocked the password of {e.data['user']}"
        elif e.op == "move":
            step = Step("unmove", e.data["source"], other=e.data["destination"])
            text = f"moved {e.data['source']} back"
        elif e.op == "command" and e.data.get("undo") and e.seq in done:
            step = Step("run", argv=tuple(e.data["undo"]))
            text = "ran " + shlex.join(e.data["undo"])
        elif e.op in ("irreversible", "command"):
            result.irreversible.append(e.data.get("text") or shlex.join(e.data.get("argv", [])))
            continue
        if step is None:
            continue
        say(text)
        try:
            backend.perform([step])
            result.restored.append(text)
        except WizardError as exc:
            result.errors.append(
                f"{text.split(' ', 1)[0]} failed for {step.path or step.argv}: {exc}"
            )
    if sshd_touched and backend.live:
        try:
            backend.reload_sshd()
        except WizardError as exc:
            result.errors.append(str(exc))
    journal.note("", f"undo: {len(result.restored)} restored, {len(result.errors)} error(s)")
    return result
