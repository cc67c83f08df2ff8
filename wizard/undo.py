"""Undo of an apply session: put back, newest first, every reversible change its journal holds.

Undo knows history: it refuses a session already undone, a file changed since the session
wrote it (unless forced, file by file), and a file a later session on the same target changed
too (undo that one first). Every attempt, refused or not, is recorded in the journal.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wizard.apply import Progress, backend_for
from wizard.backend import FileState
from wizard.errors import ApplyError, WizardError
from wizard.facts import FileInfo
from wizard.journal import FileRecord, Journal, written_state
from wizard.sessions import later_sessions, session_info, target_lock, touched_paths
from wizard.shell_steps import Step, restore_step
from wizard.targets.base import Target

# Asked once per file changed since the session wrote it (with --force): restore it anyway?
Confirm = Callable[[str], bool]


class UndoRefused(ApplyError):
    """Undo did not start: the session is undone already, or the target moved on since."""


@dataclass
class UndoResult:
    restored: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    irreversible: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)  # restored over a later change (--force)


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


def _same_as_written(wrote: dict[str, Any], now: FileState, owners: bool) -> bool:
    """Is the file now what the session's last step on it left there?"""
    if now.kind not in ("file", "link", "absent"):
        return False
    current = written_state(
        FileRecord(now.path, now.kind, now.mode, now.uid, now.gid, now.content, now.link)
    )
    if not owners:
        # An image changed by a non-root operator keeps the operator as owner.
        for key in ("uid", "gid"):
            current.pop(key, None)
            wrote = {k: v for k, v in wrote.items() if k != key}
    return current == wrote


def _history(journal: Journal) -> tuple[dict[str, FileRecord], dict[str, dict[str, Any] | None]]:
    """Per path: the state before the session (its first record) and what the session's last
    step on it left (None when that step did not report back: unknown)."""
    first: dict[str, FileRecord] = {}
    last: dict[str, dict[str, Any] | None] = {}
    by_seq: dict[int, str] = {}
    for e in sorted(journal.entries(), key=lambda e: e.seq):
        if e.op == "file":
            first.setdefault(e.file.path, e.file)
            by_seq[e.seq] = e.file.path
            last[e.file.path] = None  # announced; known once its done line says what it wrote
        elif e.op == "done" and int(e.data["of"]) in by_seq:
            wrote = e.data.get("wrote")
            last[by_seq[int(e.data["of"])]] = dict(wrote) if isinstance(wrote, dict) else None
    return first, last


def _refuse(journal: Journal, reason: str) -> UndoRefused:
    journal.record_undo([], [], refused=reason)
    return UndoRefused(reason)


def undo_journal(
    journal: Journal,
    target: Target,
    progress: Progress | None = None,
    *,
    force: bool = False,
    confirm: Confirm | None = None,
) -> UndoResult:
    """Put back every reversible change of a session, newest first, byte for byte, holding
    the target's lock. Raises UndoRefused (and changes nothing) when the session was undone
    already, when a later session changed one of its files, or when a file changed since the
    session wrote it — with `force`, `confirm(question)` decides file by file instead."""
    with target_lock(target):
        return _undo(journal, target, progress, force=force, confirm=confirm)


def _undo(
    journal: Journal,
    target: Target,
    progress: Progress | None,
    *,
    force: bool,
    confirm: Confirm | None,
) -> UndoResult:
    info = session_info(journal)
    if info.state == "undone":
        raise _refuse(
            journal,
            f"session {journal.session_id} was already undone ({info.undone_at or 'earlier'}); "
            "undoing it again would put its old state back over later changes",
        )
    first, last = _history(journal)
    for later in reversed(later_sessions(info)):
        if later.state == "undone":
            continue
        both = sorted(set(first) & touched_paths(Journal.open(later.id)))
        if both:
            raise _refuse(
                journal,
                f"{both[0]} was changed later by session {later.id}: undo that one first "
                f"(ami-wizard undo {later.id})",
            )

    say = progress or (lambda _msg: None)
    backend = backend_for(target)
    entries = sorted(journal.entries(), key=lambda e: e.seq, reverse=True)
    done = journal.done_seqs()
    result = UndoResult()
    sshd_touched = any(e.op == "file" and e.data.get("sshd") for e in entries)
    paths = list(first)
    now = backend.read(paths, paths) if paths else {}
    owners = bool(getattr(target, "is_root", True)) or backend.live
    # Which files to put back: unchanged ones need nothing; ones that are still what the
    # session wrote are restored; anything else changed since (a later fix by hand, another
    # tool) and is only overwritten when forced and confirmed.
    restore: set[str] = set()
    changed: list[str] = []
    for path, rec in first.items():
        if not _differs(rec, now[path]):
            continue
        wrote = last[path]
        if wrote is not None and _same_as_written(wrote, now[path], owners):
            restore.add(path)
        else:
            changed.append(path)
    if changed and not force:
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        raise _refuse(
            journal,
            f"{changed[0]}{more} changed since session {journal.session_id} wrote it; nothing "
            "was undone (--force asks file by file)",
        )
    for path in changed:
        question = f"{path} changed since session {journal.session_id} wrote it: restore it anyway"
        if confirm is not None and confirm(question):
            restore.add(path)
            result.forced.append(path)
        else:
            result.errors.append(f"kept {path}: it changed since the session wrote it")
    handled: set[str] = set()
    for e in entries:
        step: Step | None = None
        text = ""
        if e.op == "file":
            rec = first[e.file.path]
            if rec.path in handled:
                continue
            handled.add(rec.path)
            if rec.path not in restore:
                continue
            step = restore_step(rec)
            text = f"restored {rec.path}" if rec.kind != "absent" else f"removed {rec.path}"
            if now[rec.path].kind == "link" and rec.kind == "file":
                # We put a symlink there (e.g. dbus machine-id): remove it, never follow it.
                backend.perform([Step("delete", rec.path)])
        elif e.op == "lock":
            step = Step("unlock", e.data["user"], flag=bool(e.data.get("was_empty")))
            text = f"unlocked the password of {e.data['user']}"
        elif e.op == "mode" and e.seq in done:
            d = e.data
            expect = FileInfo(d["path"], dev=int(d["dev"]), ino=int(d["ino"]), uid=int(d["uid"]))
            step = Step("chmod", d["path"], other="o+w", expect=expect, flag=True)
            text = f"gave others write access to {d['path']} again"
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
    journal.record_undo(result.restored, result.errors, forced=result.forced)
    return result
