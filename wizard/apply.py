"""Carry out planned actions on a target: journal first, then change, then prove nothing broke.

Live targets get one POSIX-sh script per check (argv and file contents quoted, never
interpolated; atomic replace = temp file in the same directory, fsync, rename, keeping mode and
owner). Image and practice targets are changed directly under `target.root`, and nothing from
the image is ever executed. sshd edits are validated with `sshd -t`, reloaded, and proven by a
NEW login; if that login fails the edit is rolled back over the still-open connection.
Destructive steps re-check, in the same step as the action, that no directory on the way is a
symlink and that the file is the one probed (device, inode, size, owner); password hashes and
private keys never reach the journal (`never_journaled`).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import logging
import os
import posixpath
import re
import secrets
import shlex
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from wizard.actions import (
    ACCOUNT_BACKUPS,
    Action,
    DeleteFile,
    DisablePassword,
    ExportExcludeList,
    LockPassword,
    MoveFile,
    RunCommand,
    SetSshd,
    ShredHistories,
    Symlink,
    WriteFile,
    probed,
)
from wizard.errors import ApplyError, TargetError, WizardError
from wizard.facts import FileInfo
from wizard.journal import Entry, FileRecord, Journal
from wizard.sshd_config import SshdConfig
from wizard.targets.base import CommandResult, Target

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# Lines a step script prints on stdout: "ok N" after step N succeeded.
_OK = "ok "
_STEP_FAILED = 3
_SSHD_INVALID = 4
_RELOAD_FAILED = 5

# What a disabled password field holds: no crypt(3) output is ever "!*", so nothing matches.
DISABLED_HASH = b"!*"
# Symlinks followed while resolving one path inside an image (Linux's own limit).
_MAX_LINKS = 40
# The temp names we make on an image (Python's mkstemp and ours: 8 characters).
_TEMP_NAME = re.compile(r"\.ami-wizard\.[A-Za-z0-9_]{8}")

# Functions shared by every step script. Arguments are always data ("$1"...), never code.
# Every function that changes a file first enters the file's directory with `aw_here`
# (component by component, refusing symlinks, then checking `pwd -P`), and acts on
# "./NAME" from there: a directory swapped for a symlink after the probe cannot redirect
# it. Destructive ones also prove with `aw_verify` that the file is the one probed
# (device, inode, size, owner; "-" when the probe did not know), in the same function.
_FUNCTIONS = r"""
set -u
umask 077
unset CDPATH
aw_uid=$(id -u)
aw_tmp=
# A step killed half-way must not leave its temp file in the image.
aw_cleanup() { [ -z "$aw_tmp" ] || rm -f -- "$aw_tmp"; aw_tmp=; }
trap aw_cleanup EXIT
trap 'aw_cleanup; exit 129' HUP
trap 'aw_cleanup; exit 130' INT
trap 'aw_cleanup; exit 141' PIPE
trap 'aw_cleanup; exit 143' TERM
aw_err() { printf 'ami-wizard: %s\n' "$*" >&2; }
aw_sync() { sync -- "$1" 2>/dev/null || sync; }
aw_stale() { # DIR: temp files of ours (exact mktemp pattern, our uid, older than a minute)
  # that a killed earlier run left in DIR
  [ -d "$1" ] && [ ! -L "$1" ] || return 0
  find "$1" -maxdepth 1 \( -type f -o -type l \) -user "$aw_uid" -mmin +1 \
    -name '.ami-wizard.[A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9]' \
    -exec rm -f -- {} \; 2>/dev/null
  return 0
}
aw_here() { # PATH: cd into PATH's directory refusing symlinks; sets aw_b (the last name).
  # 0 = there, 2 = a directory on the way does not exist, 1 = refused
  case $1 in /*) ;; *) aw_err "refusing $1: not an absolute path"; return 1 ;; esac
  aw_d=${1%/*}
  aw_b=${1##*/}
  case $1/ in
    */./* | */../* | *//*) aw_err "refusing $1: not a plain path"; return 1 ;;
  esac
  [ -n "$aw_b" ] || { aw_err "refusing $1: no file name"; return 1; }
  cd -P / || return 1
  aw_rest=${aw_d#/}
  while [ -n "$aw_rest" ]; do
    aw_c=${aw_rest%%/*}
    case $aw_rest in */*) aw_rest=${aw_rest#*/} ;; *) aw_rest= ;; esac
    if [ -L "./$aw_c" ]; then
      aw_err "refusing $1: ${PWD%/}/$aw_c is a symlink"
      return 1
    fi
    [ -d "./$aw_c" ] || return 2
    cd -P "./$aw_c" || return 1
  done
  aw_now=$(pwd -P; echo x)
  aw_now=${aw_now%?x}
  if [ "$aw_now" != "${aw_d:-/}" ]; then
    aw_err "refusing $1: its directory is now $aw_now"
    return 1
  fi
  return 0
}
aw_mkhere() { # PATH: aw_here, making missing directories first
  aw_here "$1"
  aw_rc=$?
  [ "$aw_rc" = 2 ] || return "$aw_rc"
  mkdir -p -m 755 -- "${1%/*}" || return 1
  aw_here "$1"
}
aw_ident() { # DEV INO SIZE UID, then the actual four: compare what is known ("-": unknown)
  [ "$1" = - ] || [ "$1" = "$5" ] || return 1
  [ "$2" = - ] || [ "$2" = "$6" ] || return 1
  [ "$3" = - ] || [ "$3" = "$7" ] || return 1
  [ "$4" = - ] || [ "$4" = "$8" ] || return 1
}
aw_verify() { # PATH DEV INO SIZE UID: 0 = "./$aw_b" is the file probed (cwd: its directory),
  # 2 = nothing there any more, 3 = a symlink and nothing was expected, 1 = refused
  aw_here "$1"
  aw_rc=$?
  [ "$aw_rc" = 0 ] || return "$aw_rc"
  if [ -L "./$aw_b" ]; then
    [ "$2$3$4$5" = ---- ] && return 3
    aw_err "refusing $1: it is now a symlink"
    return 1
  fi
  [ -e "./$aw_b" ] || return 2
  aw_st=$(stat -c '%d %i %s %u' -- "./$aw_b") || return 1
  # shellcheck disable=SC2086 # four numbers, split on purpose
  if ! aw_ident "$2" "$3" "$4" "$5" $aw_st; then
    aw_err "refusing $1: it is not the file probed (device inode size uid now: $aw_st)"
    return 1
  fi
  aw_pm=$(stat -c %a .) || return 1
  case $aw_pm in
    *[2367])
      if [ "$5" = - ]; then
        aw_err "refusing $1: its directory is world-writable and its owner is unknown"
        return 1
      fi
      ;;
  esac
  return 0
}
aw_write() { # PATH MODE UID GID, base64 content on stdin
  aw_mkhere "$1" || return 1
  if [ -L "./$aw_b" ]; then aw_err "refusing to replace the symlink $1"; return 1; fi
  if [ -d "./$aw_b" ]; then aw_err "$1 is a directory"; return 1; fi
  aw_t=$(mktemp "./.ami-wizard.XXXXXX") || return 1
  aw_tmp="$aw_now/${aw_t#./}"
  if base64 -d > "$aw_t" && chown "$3:$4" "$aw_t" && chmod "$2" "$aw_t" && aw_sync "$aw_t" \
      && mv -f -- "$aw_t" "./$aw_b"; then
    aw_tmp=
    return 0
  fi
  aw_cleanup
  return 1
}
aw_link() { # PATH TARGET
  aw_mkhere "$1" || return 1
  if [ -d "./$aw_b" ] && [ ! -L "./$aw_b" ]; then aw_err "$1 is a directory"; return 1; fi
  aw_t=$(mktemp "./.ami-wizard.XXXXXX") || return 1
  aw_tmp="$aw_now/${aw_t#./}"
  rm -f -- "$aw_t"
  # An old link is removed first: `mv` onto a link to a directory would move into it.
  if ln -s -- "$2" "$aw_t" && { [ ! -L "./$aw_b" ] || rm -f -- "./$aw_b"; } \
      && mv -f -- "$aw_t" "./$aw_b"; then
    aw_tmp=
    return 0
  fi
  aw_cleanup
  return 1
}
aw_delete() { # PATH SHRED RECURSIVE DEV INO SIZE UID
  aw_verify "$1" "$4" "$5" "$6" "$7"
  aw_rc=$?
  [ "$aw_rc" = 2 ] && return 0
  [ "$aw_rc" = 3 ] && { rm -f -- "./$aw_b"; return; } # the link itself, never its target
  [ "$aw_rc" = 0 ] || return 1
  if [ -d "./$aw_b" ]; then
    [ "$3" = 1 ] || { aw_err "$1 is a directory"; return 1; }
    rm -rf -- "./$aw_b"
    return
  fi
  if [ "$2" = 1 ] && [ -f "./$aw_b" ] && command -v shred >/dev/null 2>&1; then
    aw_shred "$1" || return 1
  fi
  rm -f -- "./$aw_b"
}
aw_shred() { # PATH: after aw_verify, overwrite "./$aw_b" through a descriptor proven to be
  # the file checked (a name swapped in between is never written through)
  exec 3< "./$aw_b" || return 1
  if [ -e /dev/fd/3 ]; then
    aw_fd=$(stat -L -c '%d %i %s %u' /dev/fd/3) || { exec 3<&-; return 1; }
    if [ "$aw_fd" != "$aw_st" ]; then
      exec 3<&-
      aw_err "refusing $1: it changed while being shredded"
      return 1
    fi
    aw_links=$(stat -L -c %h /dev/fd/3) || { exec 3<&-; return 1; }
    # A second hard link keeps the content (and may be someone else's file): then only
    # this name is removed.
    if [ "$aw_links" = 1 ]; then shred -z -- /dev/fd/3 || { exec 3<&-; return 1; }; fi
  elif [ "$(stat -c %h -- "./$aw_b")" = 1 ]; then
    shred -z -- "./$aw_b" || { exec 3<&-; return 1; }
  fi
  exec 3<&-
  # Shredding rounds the size up to a block; the device and inode stay.
  aw_now=$(stat -c '%d %i' -- "./$aw_b") || return 1
  [ "$aw_now" = "${aw_st% * *}" ] || { aw_err "refusing $1: it was replaced"; return 1; }
}
aw_move() { # SOURCE DESTINATION DEV INO SIZE UID: only onto another file system than the one
  # mounted at / (which is what becomes the image)
  if [ -e "$2" ] || [ -L "$2" ]; then aw_err "$2 exists already"; return 1; fi
  aw_dd=${2%/*}
  aw_up=$aw_dd
  while [ -n "$aw_up" ] && [ ! -e "$aw_up" ]; do aw_up=${aw_up%/*}; done
  aw_rootfs=$(stat -c %d /) || return 1
  aw_fs=$(stat -L -c %d -- "${aw_up:-/}") || return 1
  if [ "$aw_fs" = "$aw_rootfs" ]; then
    aw_err "refusing to move $1: ${aw_up:-/} is on the file system mounted at /, which becomes the image"
    return 1
  fi
  mkdir -p -m 700 -- "$aw_dd" || return 1
  aw_real=$(cd -P -- "$aw_dd" && pwd -P; echo x)
  aw_real=${aw_real%?x}
  if [ "$aw_real" != "$aw_dd" ] || [ "$(stat -c %d -- "$aw_dd")" = "$aw_rootfs" ]; then
    aw_err "refusing to move $1: $aw_dd is not a directory of another file system"
    return 1
  fi
  aw_verify "$1" "$3" "$4" "$5" "$6"
  aw_rc=$?
  [ "$aw_rc" = 2 ] && { aw_err "$1 is gone"; return 1; }
  [ "$aw_rc" = 0 ] || return 1
  [ -f "./$aw_b" ] || { aw_err "$1 is not a regular file"; return 1; }
  mv -- "./$aw_b" "$2"
}
aw_unmove() { # SOURCE DESTINATION STOP: put a moved file back, then remove the directories
  # the move made (empty ones below STOP, the parent of the move directory)
  if [ -e "$2" ] || [ -L "$2" ]; then
    aw_here "$1" || return 1
    if [ -e "./$aw_b" ] || [ -L "./$aw_b" ]; then aw_err "$1 exists again"; return 1; fi
    mv -- "$2" "./$aw_b" || return 1
  fi
  d=$(dirname -- "$2")
  while [ "$d" != "$3" ] && [ "$d" != / ] && rmdir -- "$d" 2>/dev/null; do
    d=$(dirname -- "$d")
  done
  return 0
}
aw_backups() { # the backup copies usermod & co. write, with the entries as they were before
  for aw_f in ACCOUNT_BACKUPS; do aw_delete "$aw_f" 1 0 - - - - || return 1; done
}
aw_lock() { usermod -L "$1" && aw_backups; }
aw_unlock() { # USER WAS_EMPTY
  if [ "$2" = 1 ]; then passwd -d "$1" >/dev/null; else usermod -U "$1"; fi && aw_backups
}
# No password matches "!*": the old hash is gone, from the backup copies too.
aw_disable() { usermod -p '!*' "$1" && aw_backups; }
""".replace("ACCOUNT_BACKUPS", " ".join(ACCOUNT_BACKUPS))

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

# A path below a symlinked directory reads as "linked": its content (possibly a file the
# link leads to, such as /etc/ssl/private/...) must not reach the journal.
_READ = r"""
while [ $# -ge 2 ]; do
  want=$1; p=$2; shift 2
  d=${p%/*}; d=${d:-/}
  if [ -d "$d" ]; then
    r=$(cd -P -- "$d" && pwd -P; echo x); r=${r%?x}
    if [ "$r" != "$d" ]; then echo linked; continue; fi
  fi
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


@dataclass(frozen=True)
class Step:
    """One low-level operation of a step script (after planning and journaling)."""

    op: str  # write | link | delete | move | unmove | lock | unlock | disable | run
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
    expect: FileInfo | None = None  # delete/move: the file as probed (None: not known)

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


def identity(expect: FileInfo | None) -> tuple[str, str, str, str]:
    """Device, inode, size and owner uid a destructive step must find, "-" for each one the
    probe did not know (an older probe, or a file known only from a secret inside it)."""
    if not probed(expect) or expect is None:
        return ("-", "-", "-", "-")
    dev = str(expect.dev) if expect.dev else "-"
    ino = str(expect.ino) if expect.ino else "-"
    return (dev, ino, str(expect.size), str(expect.uid))


# Directories our writes go to on every target, swept for temp files a killed run left.
_OUR_DIRS = (
    "/etc",
    "/etc/ssh",
    "/etc/ssh/sshd_config.d",
    "/etc/systemd/system",
    "/etc/systemd/system/multi-user.target.wants",
    "/var/lib/dbus",
)


_STEP_LINE = re.compile(r"ami-wizard: step \d+ failed")


def _one_line(data: bytes) -> str:
    """The last line that says why (our own "step N failed" says only which)."""
    text = data.decode("utf-8", "replace").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    why = [ln for ln in lines if not _STEP_LINE.fullmatch(ln.strip())]
    return (why or lines or [""])[-1]


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
    """Steps as `if CALL; then echo ok N; else ON_FAIL; fi`, contents in quoted heredocs.
    Writes first sweep their directories for temp files a killed earlier run left."""
    q = shlex.quote
    written = [posixpath.dirname(s.path) for s in steps if s.op in ("write", "link")]
    out: list[str] = [
        f"aw_stale {q(d)}\n" for d in dict.fromkeys([*_OUR_DIRS, *written]) if written
    ]
    for number, step in enumerate(steps, 1):
        ident = " ".join(identity(step.expect))
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
                call = f"aw_delete {q(step.path)} {int(step.shred)} {int(step.recursive)} {ident}"
            elif step.op == "move":
                call = f"aw_move {q(step.path)} {q(step.other)} {ident}"
            elif step.op == "unmove":
                call = f"aw_unmove {q(step.path)} {q(step.other)} {q(_move_stop(step))}"
            elif step.op == "lock":
                call = f"aw_lock {q(step.path)}"
            elif step.op == "unlock":
                call = f"aw_unlock {q(step.path)} {int(step.flag)}"
            elif step.op == "disable":
                call = f"aw_disable {q(step.path)}"
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


def history_script(
    action: ShredHistories, accounts: str = "/etc/passwd", root_home: str = "/root"
) -> tuple[str, list[str]]:
    """The history shred as one script and its arguments (the accounts file and root's home
    are parameters only so that tests can run it on a temp tree)."""
    names = " ".join(shlex.quote(n) for n in action.names)
    listed = dict(zip(action.files, action.expect, strict=False))
    args: list[str] = []
    for path in action.files:
        # A listed file is shredded only if it is still the one probed; one the probe
        # could not stat is left to the home walk below (owner rule).
        if probed(listed.get(path)):
            args += [path, *identity(listed[path])]
    args += ["--", *action.files]
    script = (
        _FUNCTIONS
        + f"""
unset HISTFILE 2>/dev/null; HISTSIZE=0; export HISTSIZE
# A non-interactive sh keeps no history; this is for a bash that would (`set +o history`
# is not used: in dash an unknown option to a special builtin ends the script).
history -c 2>/dev/null || true
aw_gone() {{ # PATH DEV INO SIZE UID: shred it if it is that file; anything else is left alone
  aw_verify "$@"
  [ $? = 0 ] && [ -f "./$aw_b" ] || return 0
  if command -v shred >/dev/null 2>&1; then aw_shred "$1" || return 0; fi
  rm -f -- "./$aw_b"
}}
while [ "$1" != -- ]; do aw_gone "$1" "$2" "$3" "$4" "$5"; shift 5; done
shift
# Every home from /etc/passwd (split on lines, never globbed): a history file found there now
# is shredded only when the home's owner owns it, so a link or a hard link a user planted
# (~/.bash_history -> /etc/shadow) is never followed or shredded.
{{ awk -F: '$6 != "" && $6 != "/" {{ print $3 " " $6 }}' {shlex.quote(accounts)}; echo "0 "{shlex.quote(root_home)}; }} \
  | sort -u | while IFS= read -r aw_line; do
  aw_u=${{aw_line%% *}}
  aw_h=${{aw_line#* }}
  while [ "$aw_h" != "${{aw_h%/}}" ]; do aw_h=${{aw_h%/}}; done
  [ -n "$aw_h" ] || continue
  for n in {names}; do aw_gone "$aw_h/$n" - - - "$aw_u"; done
done
cd /
for f in "$@"; do
  if [ -e "$f" ] || [ -L "$f" ]; then printf 'left %s\\n' "$(printf %s "$f" | base64 | tr -d '\\n')"; fi
done
exit 0
"""
    )
    return script, args


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
                known = ("dir", "absent", "linked")
                states[path] = FileState(path, kind if kind in known else "other")
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
        script, args = history_script(action)
        result = self._script(script, args)
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
        elif step.op in ("lock", "unlock", "disable"):
            self._shadow(step.path, step.op, was_empty=step.flag)
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
        stop = self.local(_move_stop(step)) if _move_stop(step) != "/" else self.root
        d = os.path.dirname(dst)
        while d not in (stop, self.root) and d.startswith(self.root):
            try:
                os.rmdir(d)
            except OSError:
                break
            d = os.path.dirname(d)

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
            if isinstance(a, WriteFile | Symlink) or (isinstance(a, DeleteFile) and a.reversible):
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
            elif isinstance(a, MoveFile):
                if not self.backend.live:
                    raise ApplyError(
                        f"cannot move {a.path} on an image: every place in it is part of the image"
                    )
                entry = self.journal.record_move(check_id, a.path, a.destination)
                step = Step("move", a.path, other=a.destination, expect=a.expect)
                batch.append((step, entry, a.describe()))
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
                self.journal.done(entry, _written(step) if entry.op == "file" else None)
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
