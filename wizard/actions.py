"""Planned changes as pure data: what a check's option would do to a target, before anything runs.

The checks' `plan(facts, option_id)` functions return tuples of these; `wizard.apply` carries
them out and `wizard.journal` records what is needed to undo them. Nothing here does I/O.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from enum import IntEnum

from wizard.errors import ApplyError
from wizard.facts import FileInfo

# Backup copies the shadow tools keep of the account files (`usermod`, `passwd`, `vipw` write
# them): they hold the hashes as they were before the last change.
ACCOUNT_BACKUPS = ("/etc/shadow-", "/etc/gshadow-", "/etc/passwd-", "/etc/group-")


def owner_text(info: FileInfo | None) -> str:
    """` (owner bob)` / ` (owner uid 1234)` for a probed file, else "". Destructive actions
    always name the owner: a file in /tmp may be anyone's, planted to be deleted."""
    if not probed(info) or info is None:
        return ""
    return f" (owner {info.owner})" if info.owner else f" (owner uid {info.uid})"


def probed(info: FileInfo | None) -> bool:
    """True when the probe stat'ed the file (its size and owner are known, not defaults)."""
    return info is not None and bool(info.mode or info.mtime or info.ino)


class Phase(IntEnum):
    """When an action runs. Later phases wait until everything earlier has been verified."""

    NORMAL = 0  # ordinary fixes, verified (new SSH login, re-probe) before going further
    FINAL = 1  # host keys, authorized_keys, credentials: new logins fail from here on
    LAST = 2  # the history shred: the very last command sent to the target


@dataclass(frozen=True)
class PlanContext:
    """What a plan may need besides the facts: operator settings, never read from the target."""

    imds_endpoint: str = ""  # metadata base URL for first-boot units (config.probe.imds_endpoint)
    login_user: str = ""  # the account the wizard is logged in as ("" when not over SSH)
    sudo_uses_password: bool = False  # that login's sudo asks for its password
    launch_key_user: str = ""  # who receives the launch key in the IMDS fetch unit ("" = pick)
    move_dir: str = "/mnt/ami-wizard-moved"  # where move-outside-bundle puts credentials


@dataclass(frozen=True, kw_only=True)
class Action:
    """One change. `reversible` is False when undo cannot bring it back (nothing journaled)."""

    check_id: str
    phase: Phase = Phase.NORMAL
    reversible: bool = True

    def describe(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @property
    def paths(self) -> tuple[str, ...]:
        """Target paths this action changes (journaled first when reversible)."""
        return ()


@dataclass(frozen=True, kw_only=True)
class WriteFile(Action):
    """Replace (or create) a file atomically. An existing file keeps its mode and owner;
    `mode`/`uid`/`gid` apply to a new file. `based_on`, for an edit of a file the probe read
    (its content with some lines dropped), is the content the edit was made from: the step
    refuses when the file no longer holds exactly that (changed since the audit)."""

    path: str
    content: bytes
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    based_on: bytes | None = None

    def describe(self) -> str:
        return f"write {self.path} ({len(self.content)} bytes)"

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,)


@dataclass(frozen=True, kw_only=True)
class DeleteFile(Action):
    """Remove a file (or, with `recursive`, a directory tree); `shred` overwrites it first.

    `expect` is the file as the probe saw it: the step refuses when the file on the target is
    no longer that one (device, inode, size, owner) or a path component became a symlink."""

    path: str
    shred: bool = False
    recursive: bool = False
    expect: FileInfo | None = None

    def describe(self) -> str:
        verb = "shred and delete" if self.shred else "delete"
        what = f"{self.path} and everything under it" if self.recursive else self.path
        owner = owner_text(self.expect)
        return f"{verb} {what}{owner}" + ("" if self.reversible else " (cannot be undone)")

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,)


@dataclass(frozen=True, kw_only=True)
class Symlink(Action):
    """Create a symbolic link `path` -> `target` (e.g. enable a unit via its wants/ link)."""

    path: str
    target: str

    def describe(self) -> str:
        return f"link {self.path} -> {self.target}"

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,)


@dataclass(frozen=True, kw_only=True)
class MoveFile(Action):
    """Move a file to another file system of the same machine (refused on the one mounted at
    `/`, which is what becomes the image); undo moves it back (no copy is journaled).
    `expect` as for DeleteFile."""

    path: str
    destination: str
    expect: FileInfo | None = None

    def describe(self) -> str:
        return f"move {self.path}{owner_text(self.expect)} to {self.destination}"

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, self.destination)


@dataclass(frozen=True, kw_only=True)
class WriteSudoers(Action):
    """A sudoers drop-in (mode 0440, root), written only if `visudo -cf` accepts it: a temp
    file in the same directory (its name holds a ".", so sudo never reads it), checked, then
    renamed; sudo's whole configuration is checked again after, and the file removed if it
    fails. Journaled like WriteFile (undo restores or removes it). Live targets only."""

    path: str
    content: bytes

    def describe(self) -> str:
        return f"write {self.path} ({len(self.content)} bytes, checked with visudo)"

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,)


@dataclass(frozen=True, kw_only=True)
class RemoveWorldWrite(Action):
    """`chmod o-w` on a file or directory, only if it is still the one probed (`expect`:
    device, inode, size, owner; never through a symlink). Undo gives others their write bit
    back on that same file. Only the mode is journaled, never the content."""

    path: str
    expect: FileInfo | None = None

    def describe(self) -> str:
        was = (
            f" (mode {self.expect.mode:o})" if self.expect is not None and self.expect.mode else ""
        )
        return f"remove write access for others from {self.path}{was}"

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,)


@dataclass(frozen=True, kw_only=True)
class RunCommand(Action):
    """Run an argv on a live target; `undo_argv` (if any) reverses it."""

    argv: tuple[str, ...]
    undo_argv: tuple[str, ...] | None = None
    live_only: bool = True  # an image target cannot run it (nothing in an image is executed)

    def describe(self) -> str:
        return "run " + shlex.join(self.argv) + ("" if self.reversible else " (cannot be undone)")


@dataclass(frozen=True, kw_only=True)
class _PasswordAction(Action):
    """A change to one account's /etc/shadow entry (and, in the same step, its backups)."""

    user: str

    @property
    def paths(self) -> tuple[str, ...]:
        return ("/etc/shadow",)


@dataclass(frozen=True, kw_only=True)
class LockPassword(_PasswordAction):
    """Lock one account's password (`usermod -L`; on an image: "!" before the /etc/shadow hash).

    Reversible without journaling the hash: undo removes the "!" again (`usermod -U`). The
    same step shreds the account files' backup copies (ACCOUNT_BACKUPS): usermod writes
    /etc/shadow- with the entry as it was, unlocked, and the image must not carry it.
    """

    was_empty: bool = False  # an empty password comes back empty on undo

    def describe(self) -> str:
        return (
            f"lock the password of {self.user} (usermod -L), and shred the backup copies "
            "/etc/shadow- and the like"
        )


@dataclass(frozen=True, kw_only=True)
class DisablePassword(_PasswordAction):
    """Replace one account's password hash with `!*`, which no password can ever match.

    The hash is gone for good: only the fact is journaled, never the hash, so undo cannot
    bring it back (it can only be set again with `passwd`). The backup copies are shredded
    in the same step, as for LockPassword."""

    reversible: bool = False

    def describe(self) -> str:
        return (
            f"disable the password of {self.user}: its hash is replaced, and the backup copies "
            "/etc/shadow- and the like shredded (cannot be undone)"
        )


@dataclass(frozen=True, kw_only=True)
class SetSshd(Action):
    """Set one sshd keyword globally where it takes effect (drop-in read first, or the main
    file before its first Match), commenting out lines that would still win. Resolved against
    the files as they are when applied, then validated, reloaded and proven by a new login."""

    keyword: str
    args: tuple[str, ...]
    # Match-block lines setting the keyword to one of these values are commented out too
    # (e.g. `PasswordAuthentication yes` under `Match User deploy`).
    clear_in_match: tuple[str, ...] = ()

    def describe(self) -> str:
        extra = (
            f", and disable {self.keyword} {'/'.join(self.clear_in_match)} in Match blocks"
            if self.clear_in_match
            else ""
        )
        return f"set {self.keyword} {' '.join(self.args)} in sshd's configuration{extra}"


@dataclass(frozen=True, kw_only=True)
class ShredHistories(Action):
    """Shred every shell/REPL history file: the listed ones and any found again at run time in
    every home directory, with history writing off in the same command. Always the LAST action."""

    files: tuple[str, ...] = ()
    # The listed files as probed (same order as `files` when given): a listed file is only
    # shredded when it is still the one probed; files found at run time only when owned by
    # the owner of the home they are in.
    expect: tuple[FileInfo, ...] = ()
    names: tuple[str, ...] = field(
        default=(
            ".bash_history",
            ".sh_history",
            ".zsh_history",
            ".zhistory",
            ".histfile",
            ".python_history",
            ".mysql_history",
            ".psql_history",
            ".sqlite_history",
            ".rediscli_history",
            ".node_repl_history",
            ".lesshst",
            ".viminfo",
            ".local/share/fish/fish_history",
        )
    )

    def describe(self) -> str:
        return (
            f"shred {len(self.files)} history file(s) and any other shell or REPL history in "
            "every home, with history writing off (the last command; cannot be undone)"
        )

    @property
    def paths(self) -> tuple[str, ...]:
        return self.files


def _size(n: int) -> str:
    """1536 -> "1.5 KiB" (sizes in descriptions)."""
    if n < 1024:
        return f"{n} bytes"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


@dataclass(frozen=True, kw_only=True)
class ClearTrace(Action):
    """Truncate (keep the file, zero its length) or remove one builder trace. The step checks
    in the same shell step that it is still the file probed (`expect`), a regular file reached
    without a symlink, and — to remove it — that no running process holds it open (a file
    held open is never removed; a truncated one keeps its open handles)."""

    path: str
    truncate: bool = False
    expect: FileInfo | None = None
    why_not: str = ""  # when not reversible: why nothing is journaled (said by describe/undo)
    any_size: bool = False  # the step accepts any size (a live log grows after the probe)

    def describe(self) -> str:
        verb = "truncate" if self.truncate else "remove"
        size = f", {_size(self.expect.size)}" if probed(self.expect) and self.expect else ""
        owner = owner_text(self.expect)
        tail = "" if self.reversible else f" (cannot be undone: {self.why_not or 'not journaled'})"
        return f"{verb} {self.path}{owner[:-1] + size + ')' if owner else ''}{tail}"

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,)


@dataclass(frozen=True, kw_only=True)
class ZeroFreeSpace(Action):
    """Fill the free space of each local writable file system with zeros, then remove the
    fill file; stops after `max_seconds` or `max_bytes` per file system and always leaves
    `reserve_bytes` free, so the running system never finds its disk full."""

    max_seconds: int = 600
    max_bytes: int = 64 * 1024**3
    reserve_bytes: int = 256 * 1024**2
    reversible: bool = False

    def describe(self) -> str:
        return (
            f"zero the free space of each local writable file system (at most "
            f"{self.max_seconds} s and {_size(self.max_bytes)} each, keeping "
            f"{_size(self.reserve_bytes)} free; nothing to undo)"
        )


@dataclass(frozen=True, kw_only=True)
class ExportExcludeList(Action):
    """Write the bundle exclude list on the operator's machine (nothing changes on the target)."""

    entries: tuple[str, ...]

    def describe(self) -> str:
        return (
            f"write the exclude list ({len(self.entries)} paths) for ec2-bundle-vol --exclude "
            "on your machine"
        )


class PlanRefused(ApplyError):
    """The option cannot be applied to this target as it is; the message says why and what to
    do instead. Raised by a check's `plan()` or by the session's own safety rules."""
