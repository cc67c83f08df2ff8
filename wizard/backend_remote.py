"""The backend of a live target (SSH or local): every batch is one `sh -s` script.

Scripts are rendered by `wizard.shell_steps` (function library + one line per step); this
module only sends them and reads back what they printed. sshd edits are validated with
`sshd -t` and reloaded in the same script, and put back there if either fails.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence

from wizard.actions import ShredHistories
from wizard.backend import Backend, FileState, StepsFailed
from wizard.errors import ApplyError, TargetError
from wizard.shell_steps import (
    FUNCTIONS,
    OK,
    READ,
    RELOAD,
    RELOAD_FAILED,
    SSHD_INVALID,
    STEP_FAILED,
    Step,
    history_script,
    step_script,
)
from wizard.targets.base import CommandResult, Target

_STEP_LINE = re.compile(r"ami-wizard: step \d+ failed")


def _one_line(data: bytes) -> str:
    """The last line that says why (our own "step N failed" says only which)."""
    text = data.decode("utf-8", "replace").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    why = [ln for ln in lines if not _STEP_LINE.fullmatch(ln.strip())]
    return (why or lines or [""])[-1]


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
        result = self._script(READ, args)
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
        result = self._script(FUNCTIONS + step_script(steps))
        done = result.stdout.decode("ascii", "replace").count(OK)
        if not result.ok:
            failed = steps[done].describe() if done < len(steps) else "the last step"
            raise StepsFailed(f"{failed} failed — {_one_line(result.stderr)}", done)

    def sshd_commit(self, steps: Sequence[Step], restore: Sequence[Step]) -> None:
        script = (
            FUNCTIONS
            + RELOAD
            + "aw_restore() {\n:\n"
            + step_script(restore, on_fail=":")
            + "}\n"
            + step_script(steps, on_fail=f"aw_restore >/dev/null; exit {STEP_FAILED}")
            + 'if ! out=$("$SSHD" -t 2>&1); then\n'
            + f'  printf "%s\\n" "$out" >&2; aw_restore >/dev/null; exit {SSHD_INVALID}\nfi\n'
            + f"if ! aw_reload; then aw_restore >/dev/null; aw_reload; exit {RELOAD_FAILED}; fi\n"
        )
        result = self._script(script)
        if result.exit_status == SSHD_INVALID:
            raise ApplyError(
                f"sshd -t rejected the new configuration, nothing changed — "
                f"{_one_line(result.stderr)}"
            )
        if result.exit_status == RELOAD_FAILED:
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
            RELOAD + 'out=$("$SSHD" -t 2>&1) || { printf "%s\\n" "$out" >&2; exit 4; }\naw_reload\n'
        )
        result = self._script(script)
        if not result.ok:
            raise ApplyError(f"sshd was not reloaded — {_one_line(result.stderr)}")

    def run(self, argv: Sequence[str]) -> CommandResult:
        try:
            return self.target.run(argv, timeout=600.0)
        except TargetError as exc:
            raise ApplyError(f"lost the target while changing it — {exc}") from exc
