"""The backend of an image or the practice instance: files changed under its root with
Python, nothing from the image ever executed.

Paths resolve inside the image as `chroot` would; destructive steps walk the path with
directory descriptors and O_NOFOLLOW and check that the file is the one probed, as the
shell library does on a live target.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Sequence

from wizard.actions import ACCOUNT_BACKUPS, ShredHistories, probed
from wizard.backend import Backend, FileState, StepsFailed
from wizard.errors import ApplyError, WizardError
from wizard.shell_steps import Step, chmod_identity, identity, move_stop
from wizard.targets.base import CommandResult

# What a disabled password field holds: no crypt(3) output is ever "!*", so nothing matches.
DISABLED_HASH = b"!*"
# Symlinks followed while resolving one path inside an image (Linux's own limit).
_MAX_LINKS = 40
# The temp names we make on an image (Python's mkstemp and ours: 8 characters).
# File systems whose free space ZeroFreeSpace fills (the shell step's list too).
_ZERO_FS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs", "vfat"})
_TEMP_NAME = re.compile(r"\.ami-wizard\.[A-Za-z0-9_]{8}")


class ImageBackend(Backend):
    """An image or the practice instance: files changed under `root` with Python, nothing run.

    Paths resolve inside the image as `chroot` would (absolute link targets start at the
    image root, `..` stops there), never against the operator's own file system.
    Destructive steps go further: they walk the path with directory descriptors and
    O_NOFOLLOW, refusing any symlink on the way, and check the file is the one probed.
    """

    live = False

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)

    def resolve(self, path: str, *, follow_last: bool = False) -> str:
        """The operator-side path of a target path, every symlink on the way resolved inside
        the image; the last component is followed only when asked."""
        if not path.startswith("/") or "\0" in path:
            raise ApplyError(f"refusing a path that is not absolute: {path!r}")
        todo = [c for c in path.split("/") if c]
        done: list[str] = []
        links = 0
        while todo:
            name = todo.pop(0)
            if name == ".":
                continue
            if name == "..":
                if done:
                    done.pop()
                continue
            if not todo and not follow_last:
                done.append(name)
                break
            here = os.path.join(self.root, *done, name)
            try:
                st = os.lstat(here)
            except OSError:
                done.append(name)  # nothing there yet: the rest is taken as written
                continue
            if not stat.S_ISLNK(st.st_mode):
                done.append(name)
                continue
            links += 1
            if links > _MAX_LINKS:
                raise ApplyError(f"{path}: too many levels of symbolic links in the image")
            link = os.readlink(here)
            if link.startswith("/"):
                done = []
            todo = [c for c in link.split("/") if c] + todo
        return os.path.join(self.root, *done)

    def local(self, path: str) -> str:
        """The operator-side path of `path` itself (a symlink there is not followed)."""
        return self.resolve(path)

    def read(self, paths: Sequence[str], content: Iterable[str] = ()) -> dict[str, FileState]:
        want = set(content)
        out: dict[str, FileState] = {}
        for path in paths:
            local = self.local(path)
            try:
                st = os.lstat(local)
            except FileNotFoundError:
                out[path] = FileState(path, "absent")
                continue
            if stat.S_ISLNK(st.st_mode):
                out[path] = FileState(path, "link", link=os.readlink(local))
            elif stat.S_ISREG(st.st_mode):
                data = b""
                if path in want:
                    fd = os.open(local, os.O_RDONLY | os.O_NOFOLLOW)
                    with os.fdopen(fd, "rb") as fh:
                        data = fh.read()
                mode = stat.S_IMODE(st.st_mode)
                out[path] = FileState(path, "file", mode, st.st_uid, st.st_gid, data)
            else:
                out[path] = FileState(path, "dir" if stat.S_ISDIR(st.st_mode) else "other")
        return out

    def perform(self, steps: Sequence[Step]) -> None:
        for number, step in enumerate(steps):
            try:
                self._one(step)
            except (OSError, WizardError) as exc:
                raise StepsFailed(f"{step.describe()} failed — {exc}", number) from exc

    def _sweep(self, directory: str) -> None:
        """Remove temp files of ours that a killed earlier run left in `directory`."""
        with contextlib.suppress(OSError), os.scandir(directory) as entries:
            for entry in entries:
                if not _TEMP_NAME.fullmatch(entry.name):
                    continue
                st = entry.stat(follow_symlinks=False)
                old = st.st_mtime < time.time() - 60
                if old and st.st_uid == os.geteuid() and not stat.S_ISDIR(st.st_mode):
                    os.unlink(entry.path)

    def _write(self, path: str, content: bytes, mode: int, uid: int, gid: int) -> None:
        local = self.local(path)
        if os.path.islink(local) or os.path.isdir(local):
            raise ApplyError(f"{path} is a symlink or directory: left alone")
        directory = os.path.dirname(local)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        self._sweep(directory)
        fd, tmp = tempfile.mkstemp(prefix=".ami-wizard.", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            if os.geteuid() == 0:
                os.chown(tmp, uid, gid)
            os.replace(tmp, local)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _one(self, step: Step) -> None:
        if step.op == "write":
            self._write(step.path, step.content, step.mode, step.uid, step.gid)
        elif step.op == "link":
            local = self.local(step.path)
            if os.path.isdir(local) and not os.path.islink(local):
                raise ApplyError(f"{step.path} is a directory")
            directory = os.path.dirname(local)
            os.makedirs(directory, mode=0o755, exist_ok=True)
            self._sweep(directory)
            tmp = os.path.join(directory, f".ami-wizard.{secrets.token_hex(4)}")
            os.symlink(step.other, tmp)
            os.replace(tmp, local)
        elif step.op == "delete":
            self._delete(step)
        elif step.op == "move":
            raise ApplyError(
                f"cannot move {step.path} on an image: every place in it is part of the image"
            )
        elif step.op == "unmove":
            self._unmove(step)
        elif step.op == "chmod":
            self._chmod(step)
        elif step.op in ("lock", "unlock", "disable"):
            self._shadow(step.path, step.op, was_empty=step.flag)
        elif step.op == "trace":
            self._trace(step)
        elif step.op == "zero":
            self._zero(*(int(n) for n in step.argv))
        else:
            raise ApplyError(
                f"cannot {step.describe()} on an image: nothing inside an image is executed"
            )

    def _unmove(self, step: Step) -> None:
        """Put back a file an older version moved inside the image."""
        src, dst = self.local(step.path), self.local(step.other)
        if os.path.lexists(dst):
            if os.path.lexists(src):
                raise ApplyError(f"{step.path} exists again")
            os.rename(dst, src)
        stop = self.local(move_stop(step)) if move_stop(step) != "/" else self.root
        d = os.path.dirname(dst)
        while d not in (stop, self.root) and d.startswith(self.root):
            try:
                os.rmdir(d)
            except OSError:
                break
            d = os.path.dirname(d)

    def _chmod(self, step: Step) -> None:
        """chmod o-w (o+w on undo) on the file probed: opened without following a symlink,
        its identity checked on the open descriptor, then fchmod (no name is used twice)."""
        opened = self._parent(step.path)
        if opened is None:
            raise ApplyError(f"{step.path} is gone")
        dir_fd, name = opened
        try:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError as exc:
                raise ApplyError(f"refusing {step.path}: {exc.strerror}") from exc
            try:
                st = os.fstat(fd)
                if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                    raise ApplyError(f"refusing {step.path}: not a regular file or directory")
                want = chmod_identity(step)
                have = (str(st.st_dev), str(st.st_ino), str(st.st_size), str(st.st_uid))
                if any(w not in ("-", h) for w, h in zip(want, have, strict=True)):
                    raise ApplyError(
                        f"refusing {step.path}: it is not the file probed "
                        f"(device inode size uid now: {' '.join(have)})"
                    )
                mode = stat.S_IMODE(st.st_mode)
                os.fchmod(fd, mode | stat.S_IWOTH if step.other == "o+w" else mode & ~stat.S_IWOTH)
            finally:
                os.close(fd)
        finally:
            os.close(dir_fd)

    def _parent(self, path: str) -> tuple[int, str] | None:
        """A descriptor of `path`'s directory reached without following any symlink, and the
        last name; None when a directory on the way does not exist."""
        if not path.startswith("/") or "\0" in path:
            raise ApplyError(f"refusing a path that is not absolute: {path!r}")
        *dirs, name = path.split("/")[1:]
        if not name or any(c in ("", ".", "..") for c in [*dirs, name]):
            raise ApplyError(f"refusing {path}: not a plain path")
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        walked = ""
        for c in dirs:
            walked += "/" + c
            try:
                nfd = os.open(c, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                os.close(fd)
                return None
            except OSError as exc:
                is_link = exc.errno in (errno.ELOOP, errno.ENOTDIR) and stat.S_ISLNK(
                    os.stat(c, dir_fd=fd, follow_symlinks=False).st_mode
                )
                os.close(fd)
                if is_link:
                    raise ApplyError(f"refusing {path}: {walked} is a symlink") from exc
                raise
            os.close(fd)
            fd = nfd
        return fd, name

    def _delete(self, step: Step, owner: int | None = None) -> bool:
        """Delete (and shred) `step.path` if it is still the file probed; False when refused
        quietly (the history shred's "not this one")."""
        opened = self._parent(step.path)
        if opened is None:
            return True
        fd, name = opened
        try:
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return True
            want = identity(step.expect)
            if owner is not None:
                want = (*want[:3], str(owner))
            if stat.S_ISLNK(st.st_mode):
                if want != ("-", "-", "-", "-"):
                    raise ApplyError(f"refusing {step.path}: it is now a symlink")
                os.unlink(name, dir_fd=fd)  # the link itself, never what it points to
                return True
            have = (str(st.st_dev), str(st.st_ino), str(st.st_size), str(st.st_uid))
            if any(w not in ("-", h) for w, h in zip(want, have, strict=True)):
                raise ApplyError(
                    f"refusing {step.path}: it is not the file probed "
                    f"(device inode size uid now: {' '.join(have)})"
                )
            if os.fstat(fd).st_mode & stat.S_IWOTH and want[3] == "-":
                raise ApplyError(
                    f"refusing {step.path}: its directory is world-writable and its owner is unknown"
                )
            if stat.S_ISDIR(st.st_mode):
                if not step.recursive:
                    raise ApplyError(f"{step.path} is a directory")
                shutil.rmtree(name, dir_fd=fd)
                return True
            if step.shred and stat.S_ISREG(st.st_mode):
                self._shred(fd, name, st)
            os.unlink(name, dir_fd=fd)
            return True
        finally:
            os.close(fd)

    def _trace(self, step: Step) -> None:
        """Truncate (flag) or remove a builder trace if it is still the regular file probed.
        Nothing runs in an image, so no process can hold it open."""
        opened = self._parent(step.path)
        if opened is None:
            return
        fd, name = opened
        try:
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return
            if not stat.S_ISREG(st.st_mode):
                raise ApplyError(f"refusing {step.path}: not a regular file")
            want = identity(step.expect)
            have = (str(st.st_dev), str(st.st_ino), str(st.st_size), str(st.st_uid))
            if any(w not in ("-", h) for w, h in zip(want, have, strict=True)):
                raise ApplyError(
                    f"refusing {step.path}: it is not the file probed "
                    f"(device inode size uid now: {' '.join(have)})"
                )
            if os.fstat(fd).st_mode & stat.S_IWOTH and want[3] == "-":
                raise ApplyError(
                    f"refusing {step.path}: its directory is world-writable and its owner is unknown"
                )
            if not step.flag:
                os.unlink(name, dir_fd=fd)
                return
            ffd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW, dir_fd=fd)
            try:
                now = os.fstat(ffd)
                if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                    raise ApplyError(f"refusing {step.path}: it changed while being truncated")
                if now.st_nlink != 1:  # emptying it would empty the other name's file too
                    raise ApplyError(f"refusing to truncate {step.path}: it has another hard link")
                os.ftruncate(ffd, 0)
            finally:
                os.close(ffd)
        finally:
            os.close(fd)

    def zero_mounts(self) -> list[str]:
        """The image root and the writable local file systems mounted below it."""
        out = [self.root]
        with contextlib.suppress(OSError), open("/proc/self/mounts", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 4 or "\\" in parts[1]:
                    continue
                rw = "rw" in parts[3].split(",")
                if rw and parts[2] in _ZERO_FS and parts[1].startswith(self.root + "/"):
                    out.append(parts[1])
        return out

    def _zero(self, max_seconds: int, max_bytes: int, reserve: int) -> None:
        """Fill each file system's free space with zeros (keeping `reserve` free, within the
        time and size guards), then remove the fill file."""
        if not os.path.ismount(self.root):
            # A plain directory (the practice instance) sits on the operator's own disk.
            raise ApplyError("refusing to zero free space: the image root is not a mounted volume")
        chunk = b"\0" * (1 << 20)
        for mount in self.zero_mounts():
            deadline = time.monotonic() + max_seconds
            fd, tmp = tempfile.mkstemp(prefix=".ami-wizard.", dir=mount)
            try:
                written = 0
                while written < max_bytes and time.monotonic() < deadline:
                    vfs = os.statvfs(fd)
                    room = vfs.f_bavail * vfs.f_frsize - reserve
                    if room <= 0:
                        break
                    try:
                        written += os.write(fd, chunk[: min(len(chunk), room, max_bytes - written)])
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(tmp)

    @staticmethod
    def _shred(dir_fd: int, name: str, st: os.stat_result) -> None:
        """Overwrite through a descriptor proven to be the file checked; a file with another
        hard link is left to that link (only this name goes)."""
        ffd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
        try:
            now = os.fstat(ffd)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                raise ApplyError(f"refusing {name}: it changed while being shredded")
            if now.st_nlink == 1:
                os.write(ffd, b"\0" * now.st_size)
                os.fsync(ffd)
        finally:
            os.close(ffd)

    def _shadow(self, user: str, op: str, *, was_empty: bool) -> None:
        path = "/etc/shadow"
        state = self.read([path], [path])[path]
        if state.kind != "file":
            raise ApplyError(f"{path} is not a regular file in the image")
        lines = state.content.split(b"\n")
        found = False
        for i, line in enumerate(lines):
            fields = line.split(b":")
            if len(fields) < 2 or fields[0] != user.encode():
                continue
            found = True
            if op == "disable":
                fields[1] = DISABLED_HASH
            elif op == "lock" and not fields[1].startswith(b"!"):
                fields[1] = b"!" + fields[1]
            elif op == "unlock" and fields[1].startswith(b"!"):
                fields[1] = b"" if was_empty else fields[1][1:]
            lines[i] = b":".join(fields)
        if not found:
            raise ApplyError(f"no {user} in {path}")
        self._write(path, b"\n".join(lines), state.mode, state.uid, state.gid)
        for backup in ACCOUNT_BACKUPS:
            self._delete(Step("delete", backup, shred=True))

    def sshd_commit(self, steps: Sequence[Step], restore: Sequence[Step]) -> None:
        # Nothing runs in an image, so there is no sshd -t: the model is the only check.
        try:
            self.perform(steps)
        except StepsFailed:
            self.perform(restore)
            raise

    def shred_histories(self, action: ShredHistories) -> list[str]:
        listed = dict(zip(action.files, action.expect, strict=False))
        for path, info in listed.items():
            if probed(info):
                with contextlib.suppress(OSError, WizardError):
                    self._delete(Step("delete", path, shred=True, expect=info))
        passwd = self.read(["/etc/passwd"], ["/etc/passwd"])["/etc/passwd"]
        for home, uid in _homes(passwd.content):
            for n in action.names:
                # Found now, not probed: only a file the home's owner owns (a link to
                # /etc/shadow or root's file planted in a home is left alone).
                step = Step("delete", posixpath.join(home, n), shred=True)
                with contextlib.suppress(OSError, WizardError):
                    self._delete(step, owner=uid)
        return [p for p in action.files if os.path.lexists(self.local(p))]

    def run(self, argv: Sequence[str]) -> CommandResult:
        raise ApplyError(f"cannot run {argv[0]} on an image: nothing inside an image is executed")


def _homes(passwd: bytes) -> list[tuple[str, int]]:
    """(home, owner uid) of every account with a home, and root's /root."""
    out = {("/root", 0)}
    for line in passwd.decode("utf-8", "surrogateescape").splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[5] not in ("", "/"):
            with contextlib.suppress(ValueError):
                out.add((fields[5].rstrip("/") or "/", int(fields[2])))
    return sorted(out)
