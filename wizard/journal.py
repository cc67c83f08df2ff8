"""The write-ahead journal: what a session is about to change, recorded on the operator's machine.

Before any change to a target, the original bytes, mode and owner of every file it touches go
into `state_dir()/sessions/<SESSION_ID>/` (dir 0700, files 0600), so `ami-wizard undo` can put
them back byte for byte. Private keys, histories and credential files are never written here:
those steps are irreversible and say so. Nothing of the journal ever goes onto the target.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard import config as wizard_config
from wizard.errors import UsageError
from wizard.secrets import scrub

log = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
META = "session.json"
ENTRIES = "journal.jsonl"


def new_session_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(4)}"


def sessions_dir() -> Path:
    return wizard_config.state_dir() / "sessions"


def session_dir(session_id: str) -> Path:
    """The journal directory of a session; refuses ids that are not ours (no path games)."""
    if not SESSION_ID.match(session_id):
        raise UsageError(f"bad session id {session_id!r} (expected e.g. 20250101T120000Z-0a1b2c3d)")
    return sessions_dir() / session_id


@dataclass(frozen=True)
class FileRecord:
    """A file as it was before the session changed it (`kind` "absent" when it did not exist)."""

    path: str
    kind: str  # "file" | "link" | "absent"
    mode: int = 0
    uid: int = 0
    gid: int = 0
    content: bytes = b""
    link: str = ""  # symlink target

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "mode": self.mode,
            "uid": self.uid,
            "gid": self.gid,
            "content": base64.b64encode(self.content).decode(),
            "link": self.link,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileRecord:
        return cls(
            path=str(data["path"]),
            kind=str(data["kind"]),
            mode=int(data["mode"]),
            uid=int(data["uid"]),
            gid=int(data["gid"]),
            content=base64.b64decode(data.get("content", "")),
            link=str(data.get("link", "")),
        )


@dataclass(frozen=True)
class Entry:
    """One journal line. `op` is file | lock | move | command | done | note."""

    seq: int
    op: str
    check_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def file(self) -> FileRecord:
        return FileRecord.from_json(self.data["file"])


def _write_private(path: Path, data: bytes, append: bool = False) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        # Write-ahead means it must be on disk before the target changes.
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """The journal of one session: create it with `Journal.create`, reopen with `Journal.open`."""

    def __init__(self, session_id: str, directory: Path) -> None:
        self.session_id = session_id
        self.dir = directory
        self._seq = 0
        for entry in self.entries():
            self._seq = max(self._seq, entry.seq)

    @classmethod
    def create(cls, session_id: str, meta: dict[str, Any]) -> Journal:
        directory = session_dir(session_id)
        directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory.parent, 0o700)
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        meta_path = directory / META
        if not meta_path.exists():
            record = {"session": session_id, "created": datetime.now(UTC).isoformat(), **meta}
            _write_private(meta_path, json.dumps(record, indent=2).encode() + b"\n")
        return cls(session_id, directory)

    @classmethod
    def open(cls, session_id: str) -> Journal:
        directory = session_dir(session_id)
        if not (directory / META).is_file():
            raise UsageError(f"no session {session_id} in {sessions_dir()}")
        return cls(session_id, directory)

    @property
    def meta(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.dir / META).read_text(encoding="utf-8"))
        return data

    def _append(self, op: str, check_id: str, data: dict[str, Any]) -> Entry:
        self._seq += 1
        entry = Entry(self._seq, op, check_id, data)
        line = json.dumps({"seq": entry.seq, "op": op, "check": check_id, "data": data})
        _write_private(self.dir / ENTRIES, line.encode() + b"\n", append=True)
        return entry

    def record_file(self, check_id: str, record: FileRecord, sshd: bool = False) -> Entry:
        """Before changing a file: its original state (never for secrets: callers decide)."""
        return self._append("file", check_id, {"file": record.to_json(), "sshd": sshd})

    def record_lock(self, check_id: str, user: str, was_empty: bool) -> Entry:
        return self._append("lock", check_id, {"user": user, "was_empty": was_empty})

    def record_move(self, check_id: str, source: str, destination: str) -> Entry:
        return self._append("move", check_id, {"source": source, "destination": destination})

    def record_command(self, check_id: str, argv: list[str], undo: list[str] | None) -> Entry:
        return self._append("command", check_id, {"argv": argv, "undo": undo})

    def record_irreversible(self, check_id: str, text: str, path: str = "") -> Entry:
        """A step that cannot be undone: only what it was, never any content."""
        return self._append("irreversible", check_id, {"text": scrub(text), "path": scrub(path)})

    def done(self, entry: Entry) -> None:
        """The change `entry` announced has been made."""
        self._append("done", entry.check_id, {"of": entry.seq})

    def note(self, check_id: str, text: str) -> None:
        """Something the operator should know later (irreversible steps, rollbacks, undo);
        masked, as an error line may quote a secret."""
        self._append("note", check_id, {"text": scrub(text)})

    def entries(self) -> Iterator[Entry]:
        path = self.dir / ENTRIES
        if not path.exists():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                # A torn last line (crash while appending) is the only way to get here.
                log.warning("journal %s: skipping a damaged line", path)
                continue
            yield Entry(int(raw["seq"]), str(raw["op"]), str(raw.get("check", "")), raw["data"])

    def done_seqs(self) -> set[int]:
        return {int(e.data["of"]) for e in self.entries() if e.op == "done"}

    def write_text(self, name: str, text: str) -> Path:
        """A file beside the journal (e.g. the bundle exclude list), mode 0600."""
        if "/" in name or name in (META, ENTRIES):
            raise UsageError(f"bad journal file name {name!r}")
        path = self.dir / name
        _write_private(path, text.encode())
        return path


def list_sessions() -> list[str]:
    base = sessions_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if SESSION_ID.match(p.name))
