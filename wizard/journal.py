"""The write-ahead journal: what a session is about to change, recorded on the operator's machine.

Before any change to a target, the original bytes, mode and owner of every file it touches go
into `state_dir()/sessions/<SESSION_ID>/` (dir 0700, files 0600), so `ami-wizard undo` can put
them back byte for byte. Private keys, histories and credential files are never written here:
those steps are irreversible and say so. Nothing of the journal ever goes onto the target.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import secrets
import stat
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


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) mode 0700 whatever the umask; an existing one that is
    group/world-writable is tightened, one owned by someone else is refused (undo runs what
    a journal says, so nobody else may be able to write one)."""
    missing: list[Path] = []
    p = path
    while not os.path.lexists(p) and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise UsageError(f"cannot create {d}: {exc.strerror}") from None
        # mkdir honours the umask only to remove bits; chmod makes it exactly 0700.
        os.chmod(d, 0o700, follow_symlinks=False)
    check_private(path, tighten=True)
    return path


def check_private(path: Path, *, tighten: bool = False) -> None:
    """Refuse a journal file or directory that is a symlink, not the operator's, or writable by
    group or others (`tighten`: a directory of ours that is too open is made 0700 instead)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"refusing {path}: it is a symlink, not the journal itself")
    if st.st_uid != os.geteuid():
        raise UsageError(f"refusing {path}: owned by uid {st.st_uid}, not by you")
    if st.st_mode & 0o022:
        if tighten and stat.S_ISDIR(st.st_mode):
            os.chmod(path, 0o700, follow_symlinks=False)
            log.warning("%s was writable by others: made 0700", path)
            return
        raise UsageError(
            f"refusing {path}: writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
        )


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
    """One journal line. `op` is file | lock | move | command | irreversible | done | note
    | undo."""

    seq: int
    op: str
    check_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    time: str = ""  # ISO 8601, UTC (empty in journals written before it was kept)

    @property
    def file(self) -> FileRecord:
        return FileRecord.from_json(self.data["file"])


def written_state(record: FileRecord) -> dict[str, Any]:
    """What a step left at a path, to compare with later: kind, mode, owner and a SHA-256 of the
    content (never the content itself)."""
    out: dict[str, Any] = {"kind": record.kind}
    if record.kind == "file":
        out.update(
            mode=record.mode,
            uid=record.uid,
            gid=record.gid,
            sha256=hashlib.sha256(record.content).hexdigest(),
        )
    elif record.kind == "link":
        out["link"] = record.link
    return out


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
        private_dir(wizard_config.state_dir())
        private_dir(sessions_dir())
        private_dir(directory)
        meta_path = directory / META
        if os.path.lexists(meta_path):
            check_private(meta_path)
        else:
            record = {"session": session_id, "created": datetime.now(UTC).isoformat(), **meta}
            _write_private(meta_path, json.dumps(record, indent=2).encode() + b"\n")
        return cls(session_id, directory)

    @classmethod
    def open(cls, session_id: str) -> Journal:
        directory = session_dir(session_id)
        if not os.path.lexists(directory / META):
            raise UsageError(f"no session {session_id} in {sessions_dir()}")
        # Undo runs what the journal says: only the operator's own, unwritable by others.
        for path in (wizard_config.state_dir(), sessions_dir(), directory):
            check_private(path, tighten=True)
        for name in (META, ENTRIES):
            if os.path.lexists(directory / name):
                check_private(directory / name)
        return cls(session_id, directory)

    @property
    def meta(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.dir / META).read_text(encoding="utf-8"))
        return data

    def _append(self, op: str, check_id: str, data: dict[str, Any]) -> Entry:
        self._seq += 1
        entry = Entry(self._seq, op, check_id, data, datetime.now(UTC).isoformat())
        line = json.dumps(
            {"seq": entry.seq, "op": op, "check": check_id, "data": data, "time": entry.time}
        )
        _write_private(self.dir / ENTRIES, line.encode() + b"\n", append=True)
        return entry

    def record_file(self, check_id: str, record: FileRecord, sshd: bool = False) -> Entry:
        """Before changing a file: its original state (never for secrets: callers decide)."""
        return self._append("file", check_id, {"file": record.to_json(), "sshd": sshd})

    def record_lock(self, check_id: str, user: str, was_empty: bool) -> Entry:
        return self._append("lock", check_id, {"user": user, "was_empty": was_empty})

    def record_move(self, check_id: str, source: str, destination: str) -> Entry:
        return self._append("move", check_id, {"source": source, "destination": destination})

    def record_mode(self, check_id: str, path: str, dev: int, ino: int, uid: int) -> Entry:
        """Before `chmod o-w`: which file (device, inode, owner) gets the bit back on undo."""
        return self._append("mode", check_id, {"path": path, "dev": dev, "ino": ino, "uid": uid})

    def record_command(self, check_id: str, argv: list[str], undo: list[str] | None) -> Entry:
        return self._append("command", check_id, {"argv": argv, "undo": undo})

    def record_irreversible(self, check_id: str, text: str, path: str = "") -> Entry:
        """A step that cannot be undone: only what it was, never any content."""
        return self._append("irreversible", check_id, {"text": scrub(text), "path": scrub(path)})

    def done(self, entry: Entry, wrote: FileRecord | None = None) -> None:
        """The change `entry` announced has been made; `wrote` is what it left at the path
        (kept as a hash, so undo can tell whether the file changed since)."""
        data: dict[str, Any] = {"of": entry.seq}
        if wrote is not None:
            data["wrote"] = written_state(wrote)
        self._append("done", entry.check_id, data)

    def record_undo(
        self,
        restored: list[str],
        errors: list[str],
        *,
        refused: str = "",
        forced: list[str] | None = None,
    ) -> Entry:
        """One undo attempt: what it restored, what failed, or why it refused to start."""
        data = {"restored": restored, "errors": errors, "refused": refused, "forced": forced or []}
        return self._append("undo", "", data)

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
            yield Entry(
                int(raw["seq"]),
                str(raw["op"]),
                str(raw.get("check", "")),
                raw["data"],
                str(raw.get("time", "")),
            )

    def done_seqs(self) -> set[int]:
        return {int(e.data["of"]) for e in self.entries() if e.op == "done"}

    def write_text(self, name: str, text: str) -> Path:
        """A file beside the journal (e.g. the bundle exclude list), mode 0600."""
        if "/" in name or name in (META, ENTRIES):
            raise UsageError(f"bad journal file name {name!r}")
        path = self.dir / name
        _write_private(path, text.encode())
        return path

    def read_text(self, name: str) -> str | None:
        """A file written by `write_text` (None when absent), refused if others could write it."""
        path = self.dir / name
        if not os.path.lexists(path):
            return None
        check_private(path)
        return path.read_text(encoding="utf-8")


def list_sessions() -> list[str]:
    base = sessions_dir()
    if not base.is_dir():
        return []
    check_private(base)
    return sorted(p.name for p in base.iterdir() if SESSION_ID.match(p.name))
