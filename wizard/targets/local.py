"""The `local` target: the wizard runs on the instance it prepares.

Commands are argv lists run with subprocess (never a shell of ours); a non-root operator
is escalated through sudo, with a password from the keyring or the prompt if sudo needs one.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import subprocess
from collections.abc import Sequence

from wizard.errors import TargetError
from wizard.targets.base import CommandResult, ConnectOptions, SudoEscalation, Target

log = logging.getLogger(__name__)


def run_local(argv: Sequence[str], stdin: bytes, timeout: float) -> CommandResult:
    """Run argv on the operator's machine and collect its output; errors become TargetError."""
    if not argv:
        raise TargetError("empty command")
    try:
        proc = subprocess.run(
            list(argv), input=stdin, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise TargetError(f"cannot run {argv[0]} — not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise TargetError(f"{argv[0]} timed out after {timeout:g} s") from exc
    return CommandResult(proc.returncode, proc.stdout, proc.stderr)


class LocalTarget(Target):
    """This machine, live: root is "/" and commands run here (as root, or via sudo)."""

    def __init__(self, options: ConnectOptions | None = None) -> None:
        options = options or ConnectOptions()
        self.uri = "local"
        self.kind = "local"
        self.root = "/"
        self.live = True
        self.channels_opened = 0
        # Not uid 0: every command goes through sudo, so commands still run as root.
        self.is_root = True
        self._sudo: SudoEscalation | None = None
        if os.geteuid() != 0:
            self._sudo = SudoEscalation(
                getpass.getuser(), socket.gethostname(), options.sudo_password_prompt
            )

    def _raw_run(self, argv: Sequence[str], stdin: bytes, timeout: float) -> CommandResult:
        self.channels_opened += 1
        return run_local(argv, stdin, timeout)

    def run(self, argv: Sequence[str], stdin: bytes = b"", timeout: float = 60.0) -> CommandResult:
        if self._sudo is None:
            return self._raw_run(argv, stdin, timeout)
        return self._sudo.run(self._raw_run, argv, stdin, timeout)
