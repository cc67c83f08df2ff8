"""`export --to shell`: one POSIX sh script (Packer's shell provisioner, user data, or
`sudo sh fixes.sh`), built on the function library the wizard itself sends (`shell_steps.sh`).

Every step re-checks what the wizard's own steps re-check (no symlinked directory on the way,
owner — and with `--same-machine` device, inode, size); sshd files must still be the ones the
plan was resolved from (or already the result: a second run changes nothing), else the script
stops before touching them; `sshd -t` runs before the reload, and a failed check or reload puts
the files back. The first step that fails or refuses stops the script (exit 3; 4: `sshd -t`
rejected; 5: reload failed; 2: not root or a tool missing). Nothing is backed up on the machine:
a backup there would ship in the image; the script's output (`ok N: ...`) is the record.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import secrets
import shlex
from collections.abc import Callable

from wizard.actions import (
    DeleteFile,
    DisablePassword,
    ExportExcludeList,
    LockPassword,
    MoveFile,
    RunCommand,
    ShredHistories,
    Symlink,
    WriteFile,
)
from wizard.export import ExportPlan, Item, SshdFile, SshdFiles, portable, printable, render_items
from wizard.shell_steps import (
    FUNCTIONS,
    RELOAD,
    RELOAD_FAILED,
    SSHD_INVALID,
    STEP_FAILED,
    history_script,
)

q = shlex.quote

# Added to the wizard's library: the state of an sshd file (0 = as the plan found it, 10 =
# already the result, 1 = anything else: refused) and "is this file already that content".
_EXTRA = r"""
aw_is() { # PATH SHA256: 0 when PATH is a regular file (no symlink on the way) with that content
  aw_here "$1" || return 1
  [ -f "./$aw_b" ] && [ ! -L "./$aw_b" ] || return 1
  aw_s=$(sha256sum < "./$aw_b") || return 1
  [ "${aw_s%% *}" = "$2" ]
}
aw_state() { # PATH BEFORE_SHA256 (empty: absent) AFTER_SHA256 [LATER_SHA256...]: 10 also
  # when PATH is as a later step leaves it (a second run)
  aw_here "$1"
  aw_rc=$?
  [ "$aw_rc" = 0 ] || [ "$aw_rc" = 2 ] || return 1
  if [ "$aw_rc" = 0 ] && [ -L "./$aw_b" ]; then aw_err "refusing $1: it is a symlink"; return 1; fi
  if [ "$aw_rc" = 2 ] || [ ! -e "./$aw_b" ]; then
    [ -z "$2" ] && return 0
    aw_err "refusing $1: it is gone since the plan was made"
    return 1
  fi
  [ -f "./$aw_b" ] || { aw_err "refusing $1: not a regular file"; return 1; }
  aw_s=$(sha256sum < "./$aw_b") || return 1
  aw_s=${aw_s%% *}
  [ "$aw_s" = "$2" ] && return 0
  aw_p=$1
  shift 2
  for aw_want in "$@"; do [ "$aw_s" = "$aw_want" ] && return 10; done
  set -- "$aw_p"
  aw_err "refusing $1: it changed since the plan was made (sha256 now $aw_s)"
  return 1
}
aw_known() { # PATH SHA256...: refuse unless PATH is in one of the states the plan expects
  aw_p=$1
  shift
  for aw_want in "$@"; do
    aw_state "$aw_p" "$aw_want" "$aw_want" 2>/dev/null
    case $? in 0 | 10) return 0 ;; esac
  done
  aw_state "$aw_p" "$1" "$1"
  return 1
}
aw_done() { printf 'ok %s: %s\n' "$1" "$2"; }
aw_fail() { aw_err "step $1 failed: $2"; exit "$3"; }
"""

_PREFLIGHT = """\
export LC_ALL=C
[ "$(id -u)" = 0 ] || { echo 'ami-wizard: run this script as root' >&2; exit 2; }
for aw_t in sha256sum base64 stat mktemp find awk; do
  command -v "$aw_t" >/dev/null 2>&1 || { echo "ami-wizard: $aw_t is missing" >&2; exit 2; }
done
"""


def _heredoc(content: bytes) -> tuple[str, str]:
    delim = "AMI_WIZARD_" + secrets.token_hex(8)
    return delim, base64.encodebytes(content).decode()


def _write_call(path: str, content: bytes, mode: int, uid: int, gid: int) -> str:
    delim, body = _heredoc(content)
    return f"aw_write {q(path)} {mode:o} {uid} {gid} <<'{delim}'\n{body}{delim}"


def _step(n: int, desc: str, call: str) -> str:
    return f"if {call}\nthen aw_done {n} {q(desc)}; else aw_fail {n} {q(desc)} {STEP_FAILED}; fi\n"


def _write(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, WriteFile)
    sha = hashlib.sha256(a.content).hexdigest()
    desc = a.describe()
    call = _write_call(a.path, a.content, a.mode, a.uid, a.gid)
    return (
        f"if aw_is {q(a.path)} {sha}; then aw_done {n} {q(desc + ' (already so)')}\n"
        f"elif {call}\nthen aw_done {n} {q(desc)}; else aw_fail {n} {q(desc)} {STEP_FAILED}; fi\n"
    )


def _delete(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, DeleteFile)
    ident = " ".join(portable(a.expect, plan.same_machine))
    call = f"aw_delete {q(a.path)} {int(a.shred)} {int(a.recursive)} {ident}"
    return _step(n, a.describe(), call)


def _link(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, Symlink)
    return _step(n, a.describe(), f"aw_link {q(a.path)} {q(a.target)}")


def _move(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, MoveFile)
    ident = " ".join(portable(a.expect, plan.same_machine))
    src, dst = q(a.path), q(a.destination)
    desc = a.describe()
    return (
        f"if [ ! -e {src} ] && [ ! -L {src} ] && [ -f {dst} ]; then "
        f"aw_done {n} {q(desc + ' (already so)')}\n"
        f"elif aw_move {src} {dst} {ident}\n"
        f"then aw_done {n} {q(desc)}; else aw_fail {n} {q(desc)} {STEP_FAILED}; fi\n"
    )


def _run(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, RunCommand)
    return _step(n, a.describe(), shlex.join(a.argv))


def _lock(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, LockPassword)
    return _step(n, a.describe(), f"aw_lock {q(a.user)}")


def _disable(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, DisablePassword)
    return _step(n, a.describe(), f"aw_disable {q(a.user)}")


def _histories(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, ShredHistories)
    script, args = history_script(a)
    if not plan.same_machine:
        # PATH DEV INO SIZE UID per listed file: only the owner holds on another machine.
        cut = args.index("--")
        for i in range(0, cut, 5):
            args[i + 1 : i + 4] = ["-", "-", "-"]
    body = script[len(FUNCTIONS) :] if script.startswith(FUNCTIONS) else script
    call = f"(\nset -- {' '.join(q(x) for x in args)}\n{body})"
    return _step(n, a.describe(), call)


def _exclude(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, ExportExcludeList)
    text = ",".join(a.entries)
    return (
        f"# {n}. nothing changes on the machine: the exclude list for ec2-bundle-vol\n"
        f"printf 'ok %s: exclude list for ec2-bundle-vol --exclude: %s\\n' {n} {q(text)}\n"
    )


def _restore(f: SshdFile) -> str:
    if f.before is None:
        return f"  aw_delete {q(f.path)} 0 0 - - - - >/dev/null\n"
    return "  " + _write_call(f.path, f.before, f.mode, f.uid, f.gid) + "\n"


def _later_states(plan: ExportPlan, item: Item) -> dict[str, list[str]]:
    """Per sshd file, what the steps after `item` leave it as."""
    out: dict[str, list[str]] = {}
    after = plan.items[plan.items.index(item) + 1 :]
    for other in after:
        if isinstance(other.action, SshdFiles):
            for f in other.action.files:
                out.setdefault(f.path, []).append(f.after_sha256)
    return out


def _sshd(n: int, item: Item, plan: ExportPlan) -> str:
    """All files of one check: refused unless each is as planned or already the result; then
    written, `sshd -t`, reloaded, and put back when the check or the reload fails."""
    a = item.action
    assert isinstance(a, SshdFiles)
    desc = a.describe()
    out = ["aw_n=0\n"]
    later = _later_states(plan, item)
    for f in a.files:
        more = "".join(f" {s}" for s in later.get(f.path, ()))
        out.append(
            f"aw_state {q(f.path)} {q(f.before_sha256)} {f.after_sha256}{more}\n"
            "case $? in 0) ;; 10) aw_n=$((aw_n + 1)) ;; "
            f"*) aw_fail {n} {q(desc)} {STEP_FAILED} ;; esac\n"
        )
    out.append(f'if [ "$aw_n" = {len(a.files)} ]; then aw_done {n} {q(desc + " (already so)")}\n')
    out.append("else\n  aw_restore() {\n  :\n")
    out += [_restore(f) for f in a.files]
    out.append("  }\n")
    for f in a.files:
        call = _write_call(f.path, f.after, f.mode, f.uid, f.gid)
        out.append(f"  if ! {call}\n  then aw_restore; aw_fail {n} {q(desc)} {STEP_FAILED}; fi\n")
    out.append(
        '  if ! aw_out=$("$SSHD" -t 2>&1); then\n'
        '    printf "%s\\n" "$aw_out" >&2; aw_restore\n'
        f"    aw_fail {n} {q(desc + ': sshd -t rejected it, put back')} {SSHD_INVALID}\n  fi\n"
        "  if ! aw_reload; then\n    aw_restore; aw_reload\n"
        f"    aw_fail {n} {q(desc + ': the reload failed, put back')} {RELOAD_FAILED}\n  fi\n"
        f"  aw_done {n} {q(desc + ' (sshd -t passed, reloaded)')}\nfi\n"
    )
    return "".join(out)


def _sshd_preflight(plan: ExportPlan) -> str:
    """Before anything changes: every sshd file is as the plan found it or as one of its
    steps leaves it; otherwise the script stops here, having changed nothing."""
    chains: dict[str, list[str]] = {}
    for item in plan.items:
        if isinstance(item.action, SshdFiles):
            for f in item.action.files:
                chain = chains.setdefault(f.path, [f.before_sha256])
                chain.append(f.after_sha256)
    out = ["# sshd's files must be as the plan found them (or as its steps leave them)\n"]
    for path, chain in chains.items():
        shas = " ".join(q(s) for s in dict.fromkeys(chain))
        out.append(f"aw_known {q(path)} {shas} || exit {STEP_FAILED}\n")
    return "".join(out)


Renderer = Callable[[int, Item, ExportPlan], str]
# The one place an action type becomes shell: an action missing here makes the export refuse.
RENDERERS: dict[type, Renderer] = {
    WriteFile: _write,
    DeleteFile: _delete,
    Symlink: _link,
    MoveFile: _move,
    RunCommand: _run,
    LockPassword: _lock,
    DisablePassword: _disable,
    SshdFiles: _sshd,
    ShredHistories: _histories,
    ExportExcludeList: _exclude,
}

_PHASE_NOTE = {
    0: "normal phase: ordinary fixes",
    1: "final phase: host keys, authorized_keys, credentials (new logins fail from here)",
    2: "last: the history shred, with history writing off",
}


def render(plan: ExportPlan) -> str:
    """The whole script: header, the wizard's functions, one guarded block per step."""
    pairs = render_items(plan, RENDERERS, "shell")
    head = "#!/bin/sh\n" + "".join(f"# {printable(line)}\n" for line in plan.header_lines("shell"))
    head += (
        "# Run as root. Exit 0: every step done (or already so); 3: a step failed or refused"
        " (nothing after it ran); 4: sshd -t rejected the new configuration; 5: sshd could not"
        " be reloaded (both put back); 2: not root or a tool missing.\n"
    )
    dirs = [
        posixpath.dirname(p)
        for item in plan.items
        if isinstance(item.action, WriteFile | Symlink | SshdFiles)
        for p in item.action.paths
    ]
    body = [FUNCTIONS, RELOAD, _EXTRA, _PREFLIGHT]
    body += [f"aw_stale {q(d)}\n" for d in dict.fromkeys(dirs)]
    body.append(_sshd_preflight(plan))
    phase = -1
    for n, (item, renderer) in enumerate(pairs, 1):
        if int(item.phase) != phase:
            phase = int(item.phase)
            body.append(f"\n# ---- {_PHASE_NOTE[phase]}\necho {q('== ' + _PHASE_NOTE[phase])}\n")
        body.append(f"# {n}. {printable(item.check_id)}: {printable(item.action.describe())}\n")
        body.append(renderer(n, item, plan))
    body.append("cd / && echo 'ami-wizard: every step done'\nexit 0\n")
    return head + "".join(body)
