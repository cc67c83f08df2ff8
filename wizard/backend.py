"""What every backend offers the Applier and undo: read files as `FileState`s, perform
`Step`s (raising `StepsFailed` with how many completed), commit sshd files, shred histories.

`backend_remote.RemoteBackend` runs rendered step scripts on a live target (SSH or local);
`backend_image.ImageBackend` changes an image or practice tree with Python and runs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wizard.actions import ShredHistories
from wizard.errors import ApplyError
from wizard.journal import FileRecord
from wizard.shell_steps import Step
from wizard.targets.base import CommandResult


@dataclass(frozen=True)
class FileState:
    """A path on the target right now: kind file | link | dir | absent | other, or linked
    (a directory above it is a symlink)."""

    path: str
    kind: str
    mode: int = 0
    uid: int = 0
    gid: int = 0
    content: bytes = b""
    link: str = ""

    def record(self) -> FileRecord:
        if self.kind == "linked":
            raise ApplyError(f"a directory above {self.path} is a symlink: left alone")
        if self.kind not in ("file", "link", "absent"):
            raise ApplyError(f"{self.path} is a {self.kind}, not a file: left alone")
        return FileRecord(
            self.path, self.kind, self.mode, self.uid, self.gid, self.content, self.link
        )


class StepsFailed(ApplyError):
    """A batch of steps stopped; `done` of them completed (they are journaled, so undoable)."""

    def __init__(self, message: str, done: int) -> None:
        super().__init__(message)
        self.done = done


class Backend:
    """How files of a target are read and changed. `RemoteBackend` or `ImageBackend`."""

    live: bool = True

    def reload_sshd(self) -> None:
        """Validate and reload sshd (images: nothing to reload)."""

    def read(self, paths: Sequence[str], content: Iterable[str] = ()) -> dict[str, FileState]:
        raise NotImplementedError

    def perform(self, steps: Sequence[Step]) -> None:
        raise NotImplementedError

    def sshd_commit(self, steps: Sequence[Step], restore: Sequence[Step]) -> None:
        """Write sshd files, validate with `sshd -t`, reload; on failure put `restore` back."""
        raise NotImplementedError

    def shred_histories(self, action: ShredHistories) -> list[str]:
        """Shred histories; return the history files still there afterwards."""
        raise NotImplementedError

    def run(self, argv: Sequence[str]) -> CommandResult:
        raise NotImplementedError
