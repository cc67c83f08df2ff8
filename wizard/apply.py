"""Carry out planned actions on a target: journal first, then change, then prove nothing broke.

The Applier turns a check's planned actions (`wizard.actions`) into journaled `Step`s and hands
them to a backend: `backend_remote` for live targets (one POSIX-sh script per batch, rendered
by `shell_steps`), `backend_image` for image and practice targets (changed directly under
`target.root`; nothing from the image is ever executed). sshd edits are validated with
`sshd -t`, reloaded, and proven by a NEW login; if that login fails the edit is rolled back
over the still-open connection. Password hashes and private keys never reach the journal
(`never_journaled`). Undo is `wizard.undo`.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from wizard.actions import (
    Action,
    ClearTrace,
    DeleteFile,
    DisablePassword,
    ExportExcludeList,
    LockPassword,
    MoveFile,
    RemoveWorldWrite,
    RunCommand,
    SetSshd,
    ShredHistories,
    Symlink,
    WriteFile,
    WriteSudoers,
    ZeroFreeSpace,
)
from wizard.backend import Backend, FileState, StepsFailed
from wizard.backend_image import ImageBackend
from wizard.backend_remote import RemoteBackend
from wizard.errors import ApplyError, WizardError
from wizard.facts import FileInfo
from wizard.journal import Entry, Journal
from wizard.shell_steps import Step, restore_step, written
from wizard.sshd_config import SshdConfig
from wizard.targets.base import Target

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def backend_for(target: Target) -> Backend:
    return RemoteBackend(target) if target.live else ImageBackend(target.root)


@dataclass
class CheckResult:
    """What happened to one check's actions."""

    check_id: str
    done: list[str] = field(default_factory=list)  # action descriptions, in order
    error: str | None = None
    rolled_back: bool = False
    notes: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # history files still there (LAST)


def resolve_sshd(
    texts: dict[str, str], main: str, version: str | None, actions: Sequence[SetSshd]
) -> dict[str, str]:
    """The sshd files after the actions (only changed files differ): each keyword placed where
    it takes effect, and the Match-block lines the action names commented out."""
    texts = dict(texts)
    config = SshdConfig.parse(texts, main, version)
    for a in actions:
        texts.update(config.with_setting(a.keyword, a.args))
        config = SshdConfig.parse(texts, main, version)
        if not a.clear_in_match:
            continue
        for d in config.effective(a.keyword).overrides:
            if d.args and d.args[0].lower() in a.clear_in_match:
                lines = texts[d.path].split("\n")
                line = lines[d.line - 1]
                indent = line[: len(line) - len(line.lstrip(" \t"))]
                lines[d.line - 1] = f"{indent}# ami-wizard: {line[len(indent) :]}"
                texts[d.path] = "\n".join(lines)
        config = SshdConfig.parse(texts, main, version)
    return texts


# Files whose content (password hashes, private keys) must never reach the operator's
# journal, whichever check would change them.
_NEVER_JOURNALED = frozenset(
    {
        "/etc/shadow",
        "/etc/shadow-",
        "/etc/gshadow",
        "/etc/gshadow-",
        "/etc/security/opasswd",
        "/etc/security/opasswd.old",
    }
)
_NEVER_JOURNALED_UNDER = ("/etc/ssl/private/", "/etc/pki/tls/private/")


def never_journaled(path: str) -> bool:
    """True for files whose content may never be copied off the target."""
    norm = "/" + posixpath.normpath(path).lstrip("/")
    return norm in _NEVER_JOURNALED or norm.startswith(_NEVER_JOURNALED_UNDER)


class Applier:
    """Executes actions on one target, journaling every reversible change first."""

    def __init__(
        self,
        target: Target,
        journal: Journal,
        *,
        sshd_main: str = "/etc/ssh/sshd_config",
        sshd_version: str | None = None,
        sshd_files: Iterable[str] = (),
        new_login: Callable[[], str | None] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.target = target
        self.journal = journal
        self.backend = backend_for(target)
        self.sshd_main = sshd_main
        self.sshd_version = sshd_version
        self.sshd_paths: list[str] = list(dict.fromkeys([sshd_main, *sshd_files]))
        self.new_login = new_login
        self.progress = progress or (lambda _msg: None)

    # -- one check -------------------------------------------------------------------
    def apply(self, check_id: str, actions: Sequence[Action]) -> CheckResult:
        """Apply one check's actions: sshd settings as one validated transaction, the rest as
        one journaled batch. Raises nothing: errors are in the result."""
        result = CheckResult(check_id)
        sshd = [a for a in actions if isinstance(a, SetSshd)]
        rest = [a for a in actions if not isinstance(a, SetSshd)]
        try:
            if sshd:
                self._apply_sshd(check_id, sshd, result)
            if rest:
                self._apply_files(check_id, rest, result)
        except WizardError as exc:
            result.error = str(exc)
            self.journal.note(check_id, f"error: {exc}")
        return result

    def _record(self, check_id: str, state: FileState, sshd: bool = False) -> Entry:
        """Journal a file's state before it changes: the one door to the journal for file
        contents, so that password hashes and private keys never pass it, whatever check
        asks (the content was not even read: see `_read`)."""
        if state.kind == "file" and never_journaled(state.path):
            raise ApplyError(
                f"{state.path} holds password hashes or private keys: it is never copied to "
                "the journal, so it is not changed here"
            )
        return self.journal.record_file(check_id, state.record(), sshd=sshd)

    def _read(self, paths: Sequence[str], content: Iterable[str] = ()) -> dict[str, FileState]:
        """`backend.read`, never bringing the content of a never-journaled file over."""
        return self.backend.read(paths, [p for p in content if not never_journaled(p)])

    def _apply_files(self, check_id: str, actions: Sequence[Action], result: CheckResult) -> None:
        need: list[str] = []
        content: list[str] = []
        for a in actions:
            if isinstance(a, WriteFile | WriteSudoers | Symlink) or (
                isinstance(a, DeleteFile | ClearTrace) and a.reversible
            ):
                need.append(a.path)
                if a.reversible:
                    content.append(a.path)
        states = self._read(list(dict.fromkeys(need)), content)
        batch: list[tuple[Step, object, str]] = []  # step, journal entry, description
        for a in actions:
            self.progress(f"{check_id}: {a.describe()}")
            if isinstance(a, WriteFile):
                st = states[a.path]
                if st.kind == "link":
                    raise ApplyError(f"{a.path} is a symlink: not replaced (write it by hand)")
                if a.based_on is not None and (st.kind != "file" or st.content != a.based_on):
                    raise ApplyError(
                        f"{a.path} changed since the audit: not rewritten (audit again)"
                    )
                entry = self._record(check_id, st)
                mode, uid, gid = (
                    (st.mode, st.uid, st.gid) if st.kind == "file" else (a.mode, a.uid, a.gid)
                )
                batch.append(
                    (Step("write", a.path, a.content, mode, uid, gid), entry, a.describe())
                )
            elif isinstance(a, Symlink):
                entry = self._record(check_id, states[a.path])
                batch.append((Step("link", a.path, other=a.target), entry, a.describe()))
            elif isinstance(a, DeleteFile):
                if a.reversible:
                    entry = self._record(check_id, states[a.path])
                else:
                    # Never journaled: its content must not leave the target.
                    entry = self.journal.record_irreversible(check_id, a.describe(), a.path)
                step = Step("delete", a.path, shred=a.shred, recursive=a.recursive, expect=a.expect)
                batch.append((step, entry, a.describe()))
            elif isinstance(a, ClearTrace):
                batch.append(self._trace_step(check_id, a, states))
            elif isinstance(a, ZeroFreeSpace):
                entry = self.journal.record_irreversible(check_id, a.describe(), "/")
                argv = (str(a.max_seconds), str(a.max_bytes), str(a.reserve_bytes))
                batch.append((Step("zero", argv=argv), entry, a.describe()))
            elif isinstance(a, MoveFile):
                if not self.backend.live:
                    raise ApplyError(
                        f"cannot move {a.path} on an image: every place in it is part of the image"
                    )
                entry = self.journal.record_move(check_id, a.path, a.destination)
                step = Step("move", a.path, other=a.destination, expect=a.expect)
                batch.append((step, entry, a.describe()))
            elif isinstance(a, WriteSudoers):
                if not self.backend.live:
                    raise ApplyError(f"cannot check {a.path} with visudo on an image target")
                st = states[a.path]
                if st.kind not in ("file", "absent"):
                    raise ApplyError(f"{a.path} is not a regular file: not replaced")
                entry = self._record(check_id, st)
                batch.append((Step("sudoers", a.path, a.content, 0o440, 0, 0), entry, a.describe()))
            elif isinstance(a, RemoveWorldWrite):
                x = a.expect or FileInfo(a.path)
                entry = self.journal.record_mode(check_id, a.path, x.dev, x.ino, x.uid)
                batch.append(
                    (Step("chmod", a.path, other="o-w", expect=a.expect), entry, a.describe())
                )
            elif isinstance(a, DisablePassword):
                # Only the fact: the hash is gone for good, and never copied anywhere.
                entry = self.journal.record_irreversible(check_id, a.describe(), "/etc/shadow")
                batch.append((Step("disable", a.user), entry, a.describe()))
            elif isinstance(a, LockPassword):
                entry = self.journal.record_lock(check_id, a.user, a.was_empty)
                batch.append((Step("lock", a.user, flag=a.was_empty), entry, a.describe()))
            elif isinstance(a, RunCommand):
                if not self.backend.live:
                    raise ApplyError(f"cannot {a.describe()} on an image target")
                undo = list(a.undo_argv) if a.undo_argv else None
                entry = self.journal.record_command(check_id, list(a.argv), undo)
                batch.append((Step("run", argv=a.argv), entry, a.describe()))
            elif isinstance(a, ShredHistories):
                self._flush(check_id, batch, result)
                batch = []
                self.journal.note(check_id, a.describe())
                result.left = self.backend.shred_histories(a)
                result.done.append(a.describe())
            elif isinstance(a, ExportExcludeList):
                path = self.journal.write_text("exclude-list.txt", "\n".join(a.entries) + "\n")
                result.done.append(f"{a.describe()}: {path}")
            else:  # pragma: no cover - a new action type without an executor
                raise ApplyError(f"no way to apply {type(a).__name__}")
        self._flush(check_id, batch, result)

    def _trace_step(
        self, check_id: str, a: ClearTrace, states: dict[str, FileState]
    ) -> tuple[Step, object, str]:
        """A trace's step, journaled first when reversible (content, mode and owner, so that
        undo writes it back); otherwise only the fact and why nothing was kept."""
        mode, uid, gid = 0o644, 0, 0
        if a.reversible:
            st = states[a.path]
            entry: object = self._record(check_id, st)
            mode, uid, gid = st.mode, st.uid, st.gid
        else:
            entry = self.journal.record_irreversible(check_id, a.describe(), a.path)
        expect = replace(a.expect, size=-1) if a.any_size and a.expect else a.expect
        step = Step("trace", a.path, mode=mode, uid=uid, gid=gid, flag=a.truncate, expect=expect)
        return step, entry, a.describe()

    def _flush(
        self, check_id: str, batch: list[tuple[Step, object, str]], result: CheckResult
    ) -> None:
        if not batch:
            return
        try:
            self.backend.perform([s for s, _, _ in batch])
            done = len(batch)
        except StepsFailed as exc:
            done = exc.done
            self._mark(batch[:done], result)
            raise ApplyError(
                f"{exc} ({done} of {len(batch)} step(s) done"
                + (
                    ", undo with `ami-wizard undo " + self.journal.session_id + "`)"
                    if done
                    else ")"
                )
            ) from exc
        self._mark(batch[:done], result)

    def _mark(self, batch: list[tuple[Step, object, str]], result: CheckResult) -> None:
        for step, entry, text in batch:
            if isinstance(entry, Entry):
                self.journal.done(entry, written(step) if entry.op == "file" else None)
            result.done.append(text)

    # -- sshd ------------------------------------------------------------------------
    def _apply_sshd(self, check_id: str, actions: Sequence[SetSshd], result: CheckResult) -> None:
        states = self._read(self.sshd_paths, self.sshd_paths)
        texts = {
            p: s.content.decode("utf-8", "surrogateescape")
            for p, s in states.items()
            if s.kind == "file"
        }
        original = dict(texts)
        texts = resolve_sshd(texts, self.sshd_main, self.sshd_version, actions)
        changed = [p for p in texts if texts[p] != original.get(p)]
        if not changed:
            return
        new_paths = [p for p in changed if p not in states]
        if new_paths:
            states.update(self._read(new_paths, new_paths))
            present = [p for p in new_paths if states[p].kind == "file"]
            if present:
                # A file we did not know of (e.g. our drop-in from an earlier apply): start
                # again from its real content instead of overwriting it.
                self.sshd_paths = list(dict.fromkeys([*self.sshd_paths, *present]))
                self._apply_sshd(check_id, actions, result)
                return
        steps: list[Step] = []
        restore: list[Step] = []
        entries = []
        for path in changed:
            st = states[path]
            rec = st.record()
            if rec.kind == "link":
                raise ApplyError(f"{path} is a symlink: not replaced (edit it by hand)")
            entries.append(self._record(check_id, st, sshd=True))
            mode, uid, gid = (st.mode, st.uid, st.gid) if st.kind == "file" else (0o644, 0, 0)
            data = texts[path].encode("utf-8", "surrogateescape")
            steps.append(Step("write", path, data, mode, uid, gid))
            restore.append(restore_step(rec))
        words = ", ".join(f"{a.keyword} {' '.join(a.args)}" for a in actions)
        self.progress(f"{check_id}: write {', '.join(changed)}, check with sshd -t, reload")
        self.backend.sshd_commit(steps, restore)
        for entry, step in zip(entries, steps, strict=True):
            self.journal.done(entry, written(step))
        self.sshd_paths = list(dict.fromkeys([*self.sshd_paths, *changed]))
        if self.backend.live and self.new_login is not None:
            self.progress(f"{check_id}: proving that a new SSH login still works")
            failure = self.new_login()
            if failure is not None:
                self._sshd_rollback(check_id, restore, words, failure, result)
                return
            result.notes.append("a new SSH login works with the new setting")
        elif self.backend.live:
            result.notes.append("validated with sshd -t and reloaded (no new SSH login to prove)")
        result.done += [a.describe() for a in actions]

    def _sshd_rollback(
        self,
        check_id: str,
        restore: Sequence[Step],
        words: str,
        failure: str,
        result: CheckResult,
    ) -> None:
        self.progress(f"{check_id}: the new login failed — rolling back over this connection")
        self.backend.sshd_commit(restore, ())
        again = self.new_login() if self.new_login is not None else None
        result.rolled_back = True
        if again is None:
            msg = (
                f"a new SSH login failed after setting {words} ({failure}); rolled back over "
                "the open connection — new logins work again"
            )
        else:
            msg = (
                f"a new SSH login failed after setting {words} ({failure}); rolled back, but a "
                f"new login STILL fails ({again}) — keep this session open and check sshd"
            )
        self.journal.note(check_id, msg)
        raise ApplyError(msg)
