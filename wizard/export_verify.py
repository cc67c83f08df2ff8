"""A read-only POSIX sh check that an exported plan's fixes are in place (the Image Builder
validate phase uses it when `ami-wizard` is not installed on the build instance).

One verifier per action type in one table, like the renderers: an action without one refuses
the export (exit 2). Each prints `ok N: ...` or `FAIL N: ...`; the script exits 1 when any
failed. It changes nothing. A RunCommand cannot be verified after the fact: it says so.
"""

from __future__ import annotations

import hashlib
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
from wizard.export import ExportPlan, Item, SshdFiles, render_items

q = shlex.quote

_LIB = r"""set -u
export LC_ALL=C
aw_bad=0
aw_ok() { printf 'ok %s: %s\n' "$1" "$2"; }
aw_no() { printf 'FAIL %s: %s\n' "$1" "$2"; aw_bad=1; }
aw_sum() { # PATH: the sha256 of a regular file reached without a symlink, else nothing
  [ -f "$1" ] && [ ! -L "$1" ] || return 0
  aw_s=$(sha256sum < "$1") && printf '%s' "${aw_s%% *}"
}
aw_sshd_t() { # sshd -t with a throw-away host key: the image's own are gone on purpose
  aw_k=$(mktemp -d) || return 1
  ssh-keygen -q -t ed25519 -N '' -f "$aw_k/key" >/dev/null && /usr/sbin/sshd -t -h "$aw_k/key"
  aw_rc=$?
  rm -rf -- "$aw_k"
  return "$aw_rc"
}
aw_gone() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
aw_pw() { # USER: the first characters of its /etc/shadow password field
  awk -F: -v u="$1" '$1 == u { print $2; exit }' /etc/shadow
}
aw_histories() { # NAMES FILE...: how many history files are still there
  aw_names=$1; shift
  aw_left=0
  for aw_f in "$@"; do if [ -e "$aw_f" ] || [ -L "$aw_f" ]; then aw_left=$((aw_left + 1)); fi; done
  aw_homes=$({ awk -F: '$6 != "" && $6 != "/" { print $6 }' /etc/passwd; echo /root; } | sort -u)
  aw_ifs=$IFS
  IFS='
'
  for aw_h in $aw_homes; do
    IFS=$aw_ifs
    for aw_n in $aw_names; do
      if [ -e "$aw_h/$aw_n" ] || [ -L "$aw_h/$aw_n" ]; then aw_left=$((aw_left + 1)); fi
    done
  done
  IFS=$aw_ifs
  [ "$aw_left" = 0 ]
}
"""


def _check(n: int, desc: str, test: str) -> str:
    return f"if {test}; then aw_ok {n} {q(desc)}; else aw_no {n} {q(desc)}; fi\n"


def _final_link(plan: ExportPlan, item: Item, path: str) -> str | None:
    """The link a later step puts where this one deletes (delete-then-link)."""
    for other in plan.items[plan.items.index(item) + 1 :]:
        if isinstance(other.action, Symlink) and other.action.path == path:
            return other.action.target
    return None


def _write(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, WriteFile)
    sha = hashlib.sha256(a.content).hexdigest()
    return _check(n, a.describe(), f'[ "$(aw_sum {q(a.path)})" = {sha} ]')


def _sshd(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, SshdFiles)
    # The last step writing a file decides what it must be now.
    last: dict[str, str] = {}
    for other in plan.items:
        if isinstance(other.action, SshdFiles):
            for f in other.action.files:
                last[f.path] = f.after_sha256
    tests = [f'[ "$(aw_sum {q(f.path)})" = {last[f.path]} ]' for f in a.files]
    tests.append("aw_sshd_t")
    return _check(n, a.describe() + " (and sshd -t passes)", " && ".join(tests))


def _delete(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, DeleteFile)
    link = _final_link(plan, item, a.path)
    if link is not None:
        return _check(n, f"{a.path} is now a link", f'[ "$(readlink {q(a.path)})" = {q(link)} ]')
    return _check(n, a.describe(), f"aw_gone {q(a.path)}")


def _link(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, Symlink)
    return _check(n, a.describe(), f'[ "$(readlink {q(a.path)})" = {q(a.target)} ]')


def _move(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, MoveFile)
    return _check(n, a.describe(), f"aw_gone {q(a.path)} && [ -f {q(a.destination)} ]")


def _run(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, RunCommand)
    return f"printf 'not checked %s: %s\\n' {n} {q(a.describe() + ' (a command: nothing to look at)')}\n"


def _lock(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, LockPassword)
    test = f'case $(aw_pw {q(a.user)}) in "!"*) true ;; *) false ;; esac'
    return _check(n, f"the password of {a.user} is locked", test)


def _disable(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, DisablePassword)
    return _check(n, f"the password of {a.user} is disabled", f'[ "$(aw_pw {q(a.user)})" = "!*" ]')


def _histories(n: int, item: Item, plan: ExportPlan) -> str:
    a = item.action
    assert isinstance(a, ShredHistories)
    names = " ".join(q(x) for x in a.names)
    files = " ".join(q(f) for f in a.files)
    return _check(n, "no shell or REPL history left", f"aw_histories {q(names)} {files}")


def _exclude(n: int, item: Item, plan: ExportPlan) -> str:
    return f"printf 'ok %s: %s\\n' {n} 'the exclude list is for the bundling machine'\n"


Verifier = Callable[[int, Item, ExportPlan], str]
VERIFIERS: dict[type, Verifier] = {
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


def render(plan: ExportPlan) -> str:
    """The check script: exit 0 when every fix is in place, 1 otherwise."""
    pairs = render_items(plan, VERIFIERS, "verify")
    body = [_LIB]
    body += [verifier(n, item, plan) for n, (item, verifier) in enumerate(pairs, 1)]
    body.append(
        '[ "$aw_bad" = 0 ] || { echo "ami-wizard: some fixes are not in place" >&2; exit 1; }\n'
    )
    body.append("echo 'ami-wizard: every fix is in place'\n")
    return "".join(body)
