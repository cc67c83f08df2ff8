"""Carry out planned actions on a target: journal first, then change, then prove nothing broke.

Live targets get one POSIX-sh script per check (argv and file contents quoted, never
interpolated; atomic replace = temp file in the same directory, fsync, rename, keeping mode and
owner). Image and practice targets are changed directly under `target.root`, and nothing from
the image is ever executed. sshd edits are validated with `sshd -t`, reloaded, and proven by a
NEW login; if that login fails the edit is rolled back over the still-open connection.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import posixpath
import secrets
import shlex
import stat
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wizard.actions import (
    Action,
    DeleteFile,
    ExportExcludeList,
    LockPassword,
    MoveFile,
    RunCommand,
    SetSshd,
    ShredHistories,
    Symlink,
    WriteFile,
)
from wizard.errors import ApplyError, TargetError, WizardError
from wizard.journal import FileRecord, Journal
from wizard.sshd_config import SshdConfig
from wizard.targets.base import CommandResult, Target

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# Lines a step script prints on stdout: "ok N" after step N succeeded.
_OK = "ok "
_STEP_FAILED = 3
_SSHD_INVALID = 4
_RELOAD_FAILED = 5

# Functions shared by every step script. Arguments are always data ("$1"...), never code.
_FUNCTIONS = r"""
set -u
umask 077
aw_sync() { sync -- "$1" 2>/dev/null || sync; }
aw_check_dest() {
  if [ -d "$1" ] && [ ! -L "$1" ]; then echo "ami-wizard: $1 is a directory" >&2; return 1; fi
  return 0
}
aw_write() { # PATH MODE UID GID, base64 content on stdin
  aw_check_dest "$1" || return 1
  if [ -L "$1" ]; then echo "ami-wizard: refusing to replace the symlink $1" >&2; return 1; fi
  d=$(dirname -- "$1") || return 1
  [ -d "$d" ] || mkdir -p -m 755 -- "$d" || return 1
  t=$(mktemp "$d/.ami-wizard.XXXXXX") || return 1
  if base64 -d > "$t" && chown "$3:$4" "$t" && chmod "$2" "$t" && aw_sync "$t" \
      && mv -f -- "$t" "$1"; then
    return 0
  fi
  rm -f -- "$t"
  return 1
}
aw_link() { # PATH TARGET
  aw_check_dest "$1" || return 1
  d=$(dirname -- "$1") || return 1
  [ -d "$d" ] || mkdir -p -m 755 -- "$d" || return 1
  t="$d/.ami-wizard.$$.link"
  rm -f -- "$t"
  if ln -s -- "$2" "$t" && mv -f -- "$t" "$1"; then return 0; fi
  rm -f -- "$t"
  return 1
}
aw_delete() { # PATH SHRED RECURSIVE
  if [ ! -e "$1" ] && [ ! -L "$1" ]; then return 0; fi
  if [ -d "$1" ] && [ ! -L "$1" ]; then
    [ "$3" = 1 ] || { echo "ami-wizard: $1 is a directory" >&2; return 1; }
    rm -rf -- "$1"
    return
  fi
  if [ "$2" = 1 ] && [ -f "$1" ] && [ ! -L "$1" ] && command -v shred >/dev/null 2>&1; then
    shred -u -z -- "$1" && return 0
  fi
  rm -f -- "$1"
}
aw_move() { # SOURCE DESTINATION
  if [ -e "$2" ] || [ -L "$2" ]; then echo "ami-wizard: $2 exists already" >&2; return 1; fi
  mkdir -p -m 700 -- "$(dirname -- "$2")" && mv -- "$1" "$2"
}
aw_unmove() { # SOURCE DESTINATION STOP: put a moved file back, then remove the directories
  # the move made (empty ones below STOP, the parent of the move directory)
  if [ -e "$2" ] || [ -L "$2" ]; then
    if [ -e "$1" ] || [ -L "$1" ]; then echo "ami-wizard: $1 exists again" >&2; return 1; fi
    mv -- "$2" "$1" || return 1
  fi
  d=$(dirname -- "$2")
  while [ "$d" != "$3" ] && [ "$d" != / ] && rmdir -- "$d" 2>/dev/null; do
    d=$(dirname -- "$d")
  done
  return 0
}
aw_lock() { usermod -L "$1"; }
aw_unlock() { # USER WAS_EMPTY
  if [ "$2" = 1 ]; then passwd -d "$1" >/dev/null; else usermod -U "$1"; fi
}
"""

# Reload sshd the way this system does it: systemd when it runs, else HUP the PidFile,
# else the init script. In the test instance systemd is absent and sshd writes its PidFile.
_RELOAD = r"""
aw_reload() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl reload ssh 2>/dev/null || systemctl reload sshd
    return
  fi
  pf=$("$SSHD" -T 2>/dev/null | awk '$1 == "pidfile" { print $2; exit }')
  [ -n "$pf" ] || pf=/run/sshd.pid
  if [ -s "$pf" ]; then
    kill -HUP "$(cat -- "$pf")"
    return
  fi
  if command -v service >/dev/null 2>&1; then
    service ssh reload 2>/dev/null || service sshd reload
    return
  fi
  echo "ami-wizard: no way to reload sshd found" >&2
  return 1
}
SSHD=$(command -v sshd 2>/dev/null || echo /usr/sbin/sshd)
"""

_READ = r"""
while [ $# -ge 2 ]; do
  want=$1; p=$2; shift 2
  if [ -L "$p" ]; then
    printf 'link %s\n' "$(readlink -- "$p" | base64 | tr -d '\n')"
  elif [ -f "$p" ]; then
    s=$(stat -c '%a %u %g' -- "$p") || { echo other; continue; }
    if [ "$want" = c ]; then
      c=$(base64 < "$p" | tr -d '\n') || { echo other; continue; }
      printf 'file %s %s\n' "$s" "${c:--}"
    else
      printf 'file %s -\n' "$s"
    fi
  elif [ -d "$p" ]; then echo dir
  elif [ -e "$p" ]; then echo other
  else echo absent
  fi
done
"""


@dataclass(frozen=True)
class FileState:
    """A path on the target right now: kind file | link | dir | absent | other."""

    path: str
    kind: str
    mode: int = 0
    uid: int = 0
    gid: int = 0
    content: bytes = b""
    link: str = ""

    def record(self) -> FileRecord:
        if self.kind not in ("file", "link", "absent"):
            raise ApplyError(f"{self.path} is a {self.kind}, not a file: left alone")
        return FileRecord(
            self.path, self.kind, self.mode, self.uid, self.gid, self.content, self.link
        )


@dataclass(frozen=True)
class Step:
    """One low-level operation of a step script (after planning and journaling)."""

    op: str  # write | link | delete | move | unmove | lock | unlock | run
    path: str = ""
    content: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    other: str = ""  # link target or move destination
    shred: bool = False
    recursive: bool = False
    argv: tuple[str, ...] = ()
    flag: bool = False  # unlock: the password was empty

    def describe(self) -> str:
        if self.op == "run":
            return "run " + shlex.join(self.argv)
        return f"{self.op} {self.path}" + (f" -> {self.other}" if self.other else "")


class StepsFailed(ApplyError):
    """A batch of steps stopped; `done` of them completed (they are journaled, so undoable)."""

    def __init__(self, message: str, done: int) -> None:
        super().__init__(message)
        self.done = done


def _move_stop(step: Step) -> str:
    """The directory above the move directory: DESTINATION is MOVE_DIR + SOURCE."""
    root = step.other[: -len(step.path)] if step.other.endswith(step.path) else step.other
    return posixpath.dirname(root.rstrip("/") or "/")


def _one_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


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


def _step_script(steps: Sequence[Step], on_fail: str = f"exit {_STEP_FAILED}") -> str:
    """Steps as `if CALL; then echo ok N; else ON_FAIL; fi`, contents in quoted heredocs."""
    out: list[str] = []
    for number, step in enumerate(steps, 1):
        q = shlex.quote
        if step.op == "write":
            delim = "AMI_WIZARD_" + secrets.token_hex(8)
            body = base64.encodebytes(step.content).decode()
            call = (
                f"aw_write {q(step.path)} {step.mode:o} {step.uid} {step.gid} <<'{delim}'\n"
                f"{body}{delim}\n"
            )
            out.append(f"if {call.rstrip()}\n")
        else:
            if step.op == "link":
                call = f"aw_link {q(step.path)} {q(step.other)}"
            elif step.op == "delete":
                call = f"aw_delete {q(step.path)} {int(step.shred)} {int(step.recursive)}"
            elif step.op == "move":
                call = f"aw_move {q(step.path)} {q(step.other)}"
            elif step.op == "unmove":
                call = f"aw_unmove {q(step.path)} {q(step.other)} {q(_move_stop(step))}"
            elif step.op == "lock":
                call = f"aw_lock {q(step.path)}"
            elif step.op == "unlock":
                call = f"aw_unlock {q(step.path)} {int(step.flag)}"
            elif step.op == "run":
                call = shlex.join(step.argv)
            else:  # pragma: no cover - a programming error
                raise ApplyError(f"unknown step {step.op}")
            out.append(f"if {call}\n")
        out.append(
            f"then echo '{_OK}{number}'; else echo 'ami-wizard: step {number} failed' >&2;"
            f" {on_fail}; fi\n"
        )
    return "".join(out)


class RemoteBackend(Backend):
    """A live target (SSH or local): every batch is one `sh -s` command."""

    live = True

    def __init__(self, target: Target) -> None:
        self.target = target

    def _script(self, body: str, args: Sequence[str] = (), timeout: float = 300.0) -> CommandResult:
        try:
            # Paths in the script are target bytes (surrogateescape): send them back as they were.
            return self.target.run_script(
                body.encode("utf-8", "surrogateescape"), args, timeout=timeout
            )
        except TargetError as exc:
            raise ApplyError(f"lost the target while changing it — {exc}") from exc

    def read(self, paths: Sequence[str], content: Iterable[str] = ()) -> dict[str, FileState]:
        if not paths:
            return {}
        want = set(content)
        args: list[str] = []
        for p in paths:
            args += ["c" if p in want else "n", p]
        result = self._script(_READ, args)
        lines = result.stdout.decode("ascii", "replace").splitlines()
        if not result.ok or len(lines) != len(paths):
            raise ApplyError(f"could not read files on the target — {_one_line(result.stderr)}")
        states: dict[str, FileState] = {}
        for path, line in zip(paths, lines, strict=True):
            parts = line.split()
            kind = parts[0] if parts else "other"
            if kind == "file" and len(parts) == 5:
                data = b"" if parts[4] == "-" else base64.b64decode(parts[4])
                states[path] = FileState(
                    path, "file", int(parts[1], 8), int(parts[2]), int(parts[3]), data
                )
            elif kind == "link" and len(parts) == 2:
                link = base64.b64decode(parts[1]).decode("utf-8", "surrogateescape").rstrip("\n")
                states[path] = FileState(path, "link", link=link)
            else:
                states[path] = FileState(path, kind if kind in ("dir", "absent") else "other")
        return states

    def perform(self, steps: Sequence[Step]) -> None:
        if not steps:
            return
        result = self._script(_FUNCTIONS + _step_script(steps))
        done = result.stdout.decode("ascii", "replace").count(_OK)
        if not result.ok:
            failed = steps[done].describe() if done < len(steps) else "the last step"
            raise StepsFailed(f"{failed} failed — {_one_line(result.stderr)}", done)

    def sshd_commit(self, steps: Sequence[Step], restore: Sequence[Step]) -> None:
        script = (
            _FUNCTIONS
            + _RELOAD
            + "aw_restore() {\n:\n"
            + _step_script(restore, on_fail=":")
            + "}\n"
            + _step_script(steps, on_fail=f"aw_restore >/dev/null; exit {_STEP_FAILED}")
            + 'if ! out=$("$SSHD" -t 2>&1); then\n'
            + f'  printf "%s\\n" "$out" >&2; aw_restore >/dev/null; exit {_SSHD_INVALID}\nfi\n'
            + f"if ! aw_reload; then aw_restore >/dev/null; aw_reload; exit {_RELOAD_FAILED}; fi\n"
        )
        result = self._script(script)
        if result.exit_status == _SSHD_INVALID:
            raise ApplyError(
                f"sshd -t rejected the new configuration, nothing changed — "
                f"{_one_line(result.stderr)}"
            )
        if result.exit_status == _RELOAD_FAILED:
            raise ApplyError(
                f"sshd could not be reloaded, nothing changed — {_one_line(result.stderr)}"
            )
        if not result.ok:
            raise ApplyError(
                f"writing sshd's configuration failed, nothing changed — {_one_line(result.stderr)}"
            )

    def shred_histories(self, action: ShredHistories) -> list[str]:
        names = " ".join(shlex.quote(n) for n in action.names)
        script = f"""
unset HISTFILE 2>/dev/null; HISTSIZE=0; export HISTSIZE
# A non-interactive sh keeps no history; this is for a bash that would (`set +o history`
# is not used: in dash an unknown option to a special builtin ends the script).
history -c 2>/dev/null || true
aw_gone() {{
  if [ -f "$1" ] && [ ! -L "$1" ]; then
    if command -v shred >/dev/null 2>&1; then shred -u -z -- "$1" 2>/dev/null; fi
    rm -f -- "$1"
  fi
}}
for f in "$@"; do aw_gone "$f"; done
homes=$({{ awk -F: '$6 != "" && $6 != "/" {{ print $6 }}' /etc/passwd; echo /root; }} | sort -u)
IFS='
'
set -f  # homes come from the target's /etc/passwd: split them, never glob them
for h in $homes; do
  [ -d "$h" ] && [ ! -L "$h" ] || continue
  for n in {names}; do aw_gone "$h/$n"; done
done
for f in "$@"; do
  if [ -e "$f" ] || [ -L "$f" ]; then printf 'left %s\\n' "$(printf %s "$f" | base64 | tr -d '\\n')"; fi
done
exit 0
"""
        result = self._script(script, list(action.files))
        if not result.ok:
            raise ApplyError(f"the history shred failed — {_one_line(result.stderr)}")
        left = []
        for line in result.stdout.decode("ascii", "replace").splitlines():
            if line.startswith("left "):
                left.append(base64.b64decode(line[5:]).decode("utf-8", "surrogateescape"))
        return left

    def reload_sshd(self) -> None:
        script = (
            _RELOAD
            + 'out=$("$SSHD" -t 2>&1) || { printf "%s\\n" "$out" >&2; exit 4; }\naw_reload\n'
        )
        result = self._script(script)
        if not result.ok:
            raise ApplyError(f"sshd was not reloaded — {_one_line(result.stderr)}")

    def run(self, argv: Sequence[str]) -> CommandResult:
        try:
            return self.target.run(argv, timeout=600.0)
        except TargetError as exc:
            raise ApplyError(f"lost the target while changing it — {exc}") from exc


class ImageBackend(Backend):
    """An image or the practice instance: files changed under `root` with Python, nothing run."""

    live = False

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)

    def local(self, path: str) -> str:
        """The operator-side path of a target path; refuses anything escaping the root
        through `..` or a symlinked parent directory (the last component is never followed)."""
        if not path.startswith("/") or "\0" in path:
            raise ApplyError(f"refusing a path that is not absolute: {path!r}")
        norm = posixpath.normpath(path)
        parent = os.path.realpath(os.path.join(self.root, posixpath.dirname(norm).lstrip("/")))
        if parent != self.root and not parent.startswith(self.root + os.sep):
            raise ApplyError(f"{path} leads outside the image: left alone")
        return os.path.join(parent, posixpath.basename(norm))

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
                data = Path(local).read_bytes() if path in want else b""
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

    def _write(self, path: str, content: bytes, mode: int, uid: int, gid: int) -> None:
        local = self.local(path)
        if os.path.islink(local) or os.path.isdir(local):
            raise ApplyError(f"{path} is a symlink or directory: left alone")
        directory = os.path.dirname(local)
        os.makedirs(directory, mode=0o755, exist_ok=True)
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
            os.makedirs(os.path.dirname(local), mode=0o755, exist_ok=True)
            tmp = f"{local}.ami-wizard.{secrets.token_hex(4)}"
            os.symlink(step.other, tmp)
            os.replace(tmp, local)
        elif step.op == "delete":
            self._delete(step)
        elif step.op in ("move", "unmove"):
            src, dst = self.local(step.path), self.local(step.other)
            if step.op == "unmove":
                if os.path.lexists(dst):
                    if os.path.lexists(src):
                        raise ApplyError(f"{step.path} exists again")
                    os.rename(dst, src)
                stop = self.local(_move_stop(step)) if _move_stop(step) != "/" else self.root
                d = os.path.dirname(dst)
                while d not in (stop, self.root) and d.startswith(self.root):
                    try:
                        os.rmdir(d)
                    except OSError:
                        break
                    d = os.path.dirname(d)
                return
            if os.path.lexists(dst):
                raise ApplyError(f"{step.other if step.op == 'move' else step.path} exists already")
            os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
            os.rename(src, dst)
        elif step.op in ("lock", "unlock"):
            self._shadow(step.path, lock=step.op == "lock", was_empty=step.flag)
        else:
            raise ApplyError(
                f"cannot {step.describe()} on an image: nothing inside an image is executed"
            )

    def _delete(self, step: Step) -> None:
        local = self.local(step.path)
        if not os.path.lexists(local):
            return
        if os.path.isdir(local) and not os.path.islink(local):
            if not step.recursive:
                raise ApplyError(f"{step.path} is a directory")
            import shutil

            shutil.rmtree(local)
            return
        if step.shred and os.path.isfile(local) and not os.path.islink(local):
            size = os.path.getsize(local)
            with open(local, "r+b") as fh:
                fh.write(b"\0" * size)
                fh.flush()
                os.fsync(fh.fileno())
        os.unlink(local)

    def _shadow(self, user: str, *, lock: bool, was_empty: bool) -> None:
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
            if lock and not fields[1].startswith(b"!"):
                fields[1] = b"!" + fields[1]
            elif not lock and fields[1].startswith(b"!"):
                fields[1] = b"" if was_empty else fields[1][1:]
            lines[i] = b":".join(fields)
        if not found:
            raise ApplyError(f"no {user} in {path}")
        self._write(path, b"\n".join(lines), state.mode, state.uid, state.gid)

    def sshd_commit(self, steps: Sequence[Step], restore: Sequence[Step]) -> None:
        # Nothing runs in an image, so there is no sshd -t: the model is the only check.
        try:
            self.perform(steps)
        except StepsFailed:
            self.perform(restore)
            raise

    def shred_histories(self, action: ShredHistories) -> list[str]:
        paths = list(action.files)
        homes = {"/root"}
        passwd = self.read(["/etc/passwd"], ["/etc/passwd"])["/etc/passwd"]
        for line in passwd.content.decode("utf-8", "surrogateescape").splitlines():
            fields = line.split(":")
            if len(fields) >= 6 and fields[5] not in ("", "/"):
                homes.add(fields[5])
        for home in sorted(homes):
            paths += [posixpath.join(home, n) for n in action.names]
        for path in paths:
            try:
                local = self.local(path)
            except ApplyError:
                continue
            if os.path.isfile(local) and not os.path.islink(local):
                self._delete(Step("delete", path, shred=True))
        return [p for p in action.files if os.path.lexists(self.local(p))]

    def run(self, argv: Sequence[str]) -> CommandResult:
        raise ApplyError(f"cannot run {argv[0]} on an image: nothing inside an image is executed")


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


def _restore_step(record: FileRecord) -> Step:
    if record.kind == "file":
        return Step("write", record.path, record.content, record.mode, record.uid, record.gid)
    if record.kind == "link":
        return Step("link", record.path, other=record.link)
    return Step("delete", record.path)


def _written(step: Step) -> FileRecord | None:
    """What a write/link/delete step leaves at its path (journaled as a hash when done)."""
    if step.op == "write":
        return FileRecord(step.path, "file", step.mode, step.uid, step.gid, step.content)
    if step.op == "link":
        return FileRecord(step.path, "link", link=step.other)
    if step.op == "delete":
        return FileRecord(step.path, "absent")
    return None


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

    def _apply_files(self, check_id: str, actions: Sequence[Action], result: CheckResult) -> None:
        need: list[str] = []
        content: list[str] = []
        for a in actions:
            if isinstance(a, WriteFile | Symlink) or (isinstance(a, DeleteFile) and a.reversible):
                need.append(a.path)
                if a.reversible:
                    content.append(a.path)
        states = self.backend.read(list(dict.fromkeys(need)), content)
        batch: list[tuple[Step, object, str]] = []  # step, journal entry, description
        for a in actions:
            self.progress(f"{check_id}: {a.describe()}")
            if isinstance(a, WriteFile):
                st = states[a.path]
                rec = st.record()
                if rec.kind == "link":
                    raise ApplyError(f"{a.path} is a symlink: not replaced (write it by hand)")
                entry = self.journal.record_file(check_id, rec)
                mode, uid, gid = (
                    (st.mode, st.uid, st.gid) if st.kind == "file" else (a.mode, a.uid, a.gid)
                )
                batch.append(
                    (Step("write", a.path, a.content, mode, uid, gid), entry, a.describe())
                )
            elif isinstance(a, Symlink):
                entry = self.journal.record_file(check_id, states[a.path].record())
                batch.append((Step("link", a.path, other=a.target), entry, a.describe()))
            elif isinstance(a, DeleteFile):
                if a.reversible:
                    entry = self.journal.record_file(check_id, states[a.path].record())
                else:
                    # Never journaled: its content must not leave the target.
                    entry = self.journal.record_irreversible(check_id, a.describe(), a.path)
                step = Step("delete", a.path, shred=a.shred, recursive=a.recursive)
                batch.append((step, entry, a.describe()))
            elif isinstance(a, MoveFile):
                entry = self.journal.record_move(check_id, a.path, a.destination)
                batch.append((Step("move", a.path, other=a.destination), entry, a.describe()))
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
        from wizard.journal import Entry

        for step, entry, text in batch:
            if isinstance(entry, Entry):
                self.journal.done(entry, _written(step) if entry.op == "file" else None)
            result.done.append(text)

    # -- sshd ------------------------------------------------------------------------
    def _apply_sshd(self, check_id: str, actions: Sequence[SetSshd], result: CheckResult) -> None:
        states = self.backend.read(self.sshd_paths, self.sshd_paths)
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
            states.update(self.backend.read(new_paths, new_paths))
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
            entries.append(self.journal.record_file(check_id, rec, sshd=True))
            mode, uid, gid = (st.mode, st.uid, st.gid) if st.kind == "file" else (0o644, 0, 0)
            data = texts[path].encode("utf-8", "surrogateescape")
            steps.append(Step("write", path, data, mode, uid, gid))
            restore.append(_restore_step(rec))
        words = ", ".join(f"{a.keyword} {' '.join(a.args)}" for a in actions)
        self.progress(f"{check_id}: write {', '.join(changed)}, check with sshd -t, reload")
        self.backend.sshd_commit(steps, restore)
        for entry, step in zip(entries, steps, strict=True):
            self.journal.done(entry, _written(step))
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
