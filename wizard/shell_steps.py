"""The shell-step renderer: planned, journaled steps as POSIX sh text, nothing else (no I/O).

A live target gets one `sh -s` script per batch: the function library from `shell_steps.sh`
(argv and file contents quoted, never interpolated; atomic replace = temp file in the same
directory, fsync, rename, keeping mode and owner), then one `if CALL; then echo ok N; ...`
per step. Destructive steps re-check, in the same step as the action, that no directory on
the way is a symlink and that the file is the one probed (device, inode, size, owner).
The image backend performs the same `Step`s with Python instead.
"""

from __future__ import annotations

import base64
import posixpath
import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from wizard.actions import ACCOUNT_BACKUPS, ShredHistories, probed
from wizard.errors import ApplyError
from wizard.facts import FileInfo
from wizard.journal import FileRecord

# Lines a step script prints on stdout: "ok N" after step N succeeded.
OK = "ok "
STEP_FAILED = 3
SSHD_INVALID = 4
RELOAD_FAILED = 5


def _library() -> dict[str, str]:
    """The sections of shell_steps.sh by name (each "#@ NAME" line starts one; the header
    above the first is not part of any)."""
    text = resources.files("wizard").joinpath("shell_steps.sh").read_text(encoding="utf-8")
    parts = re.split(r"^#@ (\w+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


_LIBRARY = _library()
# Functions shared by every step script (see shell_steps.sh).
FUNCTIONS = _LIBRARY["functions"].replace("ACCOUNT_BACKUPS", " ".join(ACCOUNT_BACKUPS))
# `aw_reload` and $SSHD: reload sshd the way this system does it.
RELOAD = _LIBRARY["reload"]
# Read files: "WANT PATH" pairs in (WANT c: with content), one line per path out.
READ = _LIBRARY["read"]


@dataclass(frozen=True)
class Step:
    """One low-level operation of a step script (after planning and journaling)."""

    op: str  # write | link | delete | move | unmove | lock | unlock | disable | run | chmod
    # | sudoers (a write that visudo must accept) | trace | zero
    path: str = ""
    content: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    other: str = ""  # link target, move destination or chmod's "o-w"/"o+w"
    shred: bool = False
    recursive: bool = False
    argv: tuple[str, ...] = ()
    flag: bool = False  # unlock: the password was empty; chmod: an undo; trace: truncate
    expect: FileInfo | None = None  # delete/move: the file as probed (None: not known)

    def describe(self) -> str:
        if self.op == "run":
            return "run " + shlex.join(self.argv)
        return f"{self.op} {self.path}" + (f" -> {self.other}" if self.other else "")


def move_stop(step: Step) -> str:
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
    # A negative size: any size (a live log grows between the probe and the step).
    size = str(expect.size) if expect.size >= 0 else "-"
    return (dev, ino, size, str(expect.uid))


def chmod_identity(step: Step) -> tuple[str, str, str, str]:
    """What a chmod step must find: as probed, except on undo (`flag`), where the size may
    have changed since and only device, inode and owner (from the journal) count."""
    if step.flag and step.expect is not None:
        e = step.expect
        return (str(e.dev) if e.dev else "-", str(e.ino) if e.ino else "-", "-", str(e.uid))
    return identity(step.expect)


# Directories our writes go to on every target, swept for temp files a killed run left.
_OUR_DIRS = (
    "/etc",
    "/etc/ssh",
    "/etc/ssh/sshd_config.d",
    "/etc/systemd/system",
    "/etc/systemd/system/multi-user.target.wants",
    "/var/lib/dbus",
)


def step_script(steps: Sequence[Step], on_fail: str = f"exit {STEP_FAILED}") -> str:
    """Steps as `if CALL; then echo ok N; else ON_FAIL; fi`, contents in quoted heredocs.
    Writes first sweep their directories for temp files a killed earlier run left."""
    q = shlex.quote
    written = [posixpath.dirname(s.path) for s in steps if s.op in ("write", "link", "sudoers")]
    out: list[str] = [
        f"aw_stale {q(d)}\n" for d in dict.fromkeys([*_OUR_DIRS, *written]) if written
    ]
    for number, step in enumerate(steps, 1):
        ident = " ".join(identity(step.expect))
        if step.op in ("write", "sudoers"):
            delim = "AMI_WIZARD_" + secrets.token_hex(8)
            body = base64.encodebytes(step.content).decode()
            call = (
                f"aw_{step.op} {q(step.path)} {step.mode:o} {step.uid} {step.gid} <<'{delim}'\n"
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
            elif step.op == "chmod":
                call = f"aw_chmod {q(step.path)} {q(step.other)} {' '.join(chmod_identity(step))}"
            elif step.op == "unmove":
                call = f"aw_unmove {q(step.path)} {q(step.other)} {q(move_stop(step))}"
            elif step.op == "lock":
                call = f"aw_lock {q(step.path)}"
            elif step.op == "unlock":
                call = f"aw_unlock {q(step.path)} {int(step.flag)}"
            elif step.op == "disable":
                call = f"aw_disable {q(step.path)}"
            elif step.op == "trace":
                call = f"aw_trace {q(step.path)} {'t' if step.flag else 'r'} {ident}"
            elif step.op == "zero":
                call = "aw_zero " + " ".join(str(n) for n in step.argv)
            elif step.op == "run":
                call = shlex.join(step.argv)
            else:  # pragma: no cover - a programming error
                raise ApplyError(f"unknown step {step.op}")
            out.append(f"if {call}\n")
        out.append(
            f"then echo '{OK}{number}'; else echo 'ami-wizard: step {number} failed' >&2;"
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
        FUNCTIONS
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


def restore_step(record: FileRecord) -> Step:
    if record.kind == "file":
        return Step("write", record.path, record.content, record.mode, record.uid, record.gid)
    if record.kind == "link":
        return Step("link", record.path, other=record.link)
    return Step("delete", record.path)


def written(step: Step) -> FileRecord | None:
    """What a write/link/delete step leaves at its path (journaled as a hash when done)."""
    if step.op in ("write", "sudoers"):
        return FileRecord(step.path, "file", step.mode, step.uid, step.gid, step.content)
    if step.op == "link":
        return FileRecord(step.path, "link", link=step.other)
    if step.op == "delete" or (step.op == "trace" and not step.flag):
        return FileRecord(step.path, "absent")
    if step.op == "trace":  # truncated: the same file, empty, its mode and owner kept
        return FileRecord(step.path, "file", step.mode, step.uid, step.gid, b"")
    return None
