"""What every target offers the engine: run a command or a script, and say where its files are.

Also the shared escalation wrapper (sudo, with or without a password) used by the live
targets, so that a whole probe is one command whatever the privileges.
"""

from __future__ import annotations

import abc
import logging
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from wizard import keyring_store
from wizard.errors import HostKeyError, TargetError

log = logging.getLogger(__name__)

# Exit status our sudo wrapper uses for "escalation failed"; the marker on stderr tells it
# apart from a command that happens to exit with the same status.
SUDO_FAILED_STATUS = 125
SUDO_MARKER = "ami-wizard-sudo:"

# Runs "$@" as root through sudo. The first stdin line is the sudo password (empty when
# we have none); sudo reads its password byte by byte, as does `read`, so the rest of
# stdin reaches the command untouched. The password is never on a command line, and it
# is piped to `sudo -v` alone so a wrong one cannot make sudo eat lines of the script.
# `sudo -v` caches the credential for this shell (timestamp keyed on the parent), then
# `sudo -n` uses it; `sudo -k` drops it again so nothing stays valid after we leave.
SUDO_WRAPPER = f"""\
IFS= read -r pw || pw=
if sudo -n true 2>/dev/null; then
  pw=; sudo -n -- "$@"; exit $?
fi
if [ -z "$pw" ]; then
  echo "{SUDO_MARKER} password-required" >&2; exit {SUDO_FAILED_STATUS}
fi
if ! printf '%s\\n' "$pw" | sudo -S -p '' -v 2>/dev/null; then
  pw=; echo "{SUDO_MARKER} password-rejected" >&2; exit {SUDO_FAILED_STATUS}
fi
pw=
sudo -n -- "$@"; rc=$?
sudo -k
exit $rc
"""


@dataclass(frozen=True)
class CommandResult:
    """What a command left behind: its exit status and both output streams, as bytes."""

    exit_status: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach and trust a target; the same for CLI and TUI.

    Prompts return None when the operator declines; they are only called when no stored
    secret (keyring) works.
    """

    identity: str | None = None
    known_hosts: str | None = None  # default ~/.ssh/known_hosts
    accept_new_host_key: bool = False
    ssh_config: str | None = None  # default ~/.ssh/config
    timeout: float = 15.0
    sudo_password_prompt: Callable[[str], str | None] | None = None
    passphrase_prompt: Callable[[str], str | None] | None = None
    use_agent: bool = True


class UnknownHostKeyError(HostKeyError):
    """The host presented a key that known_hosts does not list; the operator may accept it."""

    def __init__(self, message: str, host: str, key_type: str, fingerprint: str) -> None:
        super().__init__(message)
        self.host = host
        self.key_type = key_type
        self.fingerprint = fingerprint


class ChangedHostKeyError(HostKeyError):
    """The host presented a key other than the one known_hosts lists: always refused."""

    def __init__(self, message: str, host: str, key_type: str, fingerprint: str) -> None:
        super().__init__(message)
        self.host = host
        self.key_type = key_type
        self.fingerprint = fingerprint


class Target(abc.ABC):
    """A machine (or image) the wizard reads and changes.

    `root` is the prefix under which the target's files are ("/" for live targets);
    `live` says whether commands run on the target system itself.
    """

    uri: str
    kind: str
    root: str
    live: bool
    is_root: bool
    channels_opened: int = 0

    @abc.abstractmethod
    def run(self, argv: Sequence[str], stdin: bytes = b"", timeout: float = 60.0) -> CommandResult:
        """Run one command given as argv (never through a local shell); escalate if needed."""

    def run_script(
        self, script: bytes, args: Sequence[str] = (), timeout: float = 120.0
    ) -> CommandResult:
        """Run a POSIX sh script fed on stdin (`sh -s -- ARGS...`) as one command."""
        return self.run(["sh", "-s", "--", *args], stdin=script, timeout=timeout)

    def close(self) -> None:  # noqa: B027 - targets without a connection have nothing to close
        """Release the connection, if any. Safe to call twice."""

    def __enter__(self) -> Target:
        return self

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri}>"


def sudo_argv(argv: Sequence[str]) -> list[str]:
    """The argv that runs `argv` through SUDO_WRAPPER; stdin must start with a password line."""
    return ["sh", "-c", SUDO_WRAPPER, "ami-wizard-sudo", *argv]


def sudo_failure(result: CommandResult) -> str | None:
    """Return "password-required"/"password-rejected" when the wrapper could not escalate."""
    if result.exit_status != SUDO_FAILED_STATUS:
        return None
    for line in result.stderr.decode("utf-8", "replace").splitlines():
        if line.startswith(SUDO_MARKER):
            return line[len(SUDO_MARKER) :].strip()
    return None


def quote_command(argv: Sequence[str]) -> str:
    """Shell-quote argv for a remote shell; refuses an empty command."""
    if not argv:
        raise TargetError("empty command")
    return shlex.join(argv)


RawRun = Callable[[Sequence[str], bytes, float], CommandResult]


class SudoEscalation:
    """Runs commands through SUDO_WRAPPER for one non-root login, finding the password once.

    The stored password (keyring kind "sudo", name "user@host") is tried first and sent
    with the very first command, so a prepared operator costs no extra round trip; only
    when sudo asks and nothing is stored is the prompt used and the command sent again.
    """

    def __init__(self, user: str, host: str, prompt: Callable[[str], str | None] | None) -> None:
        self.user = user
        self.host = host
        self.keyring_name = keyring_store.sudo_name(user, host)
        self._prompt = prompt
        self._password: str | None = None
        self._looked_up = False
        self.prompted_password: str | None = None  # set when a prompted password worked

    def run(
        self, raw_run: RawRun, argv: Sequence[str], stdin: bytes, timeout: float
    ) -> CommandResult:
        if not self._looked_up:
            self._looked_up = True
            self._password = keyring_store.get_secret(keyring_store.SUDO, self.keyring_name)
        result = raw_run(sudo_argv(argv), _password_line(self._password) + stdin, timeout)
        failure = sudo_failure(result)
        if failure is None:
            return result
        log.debug("sudo for %s: %s", self.keyring_name, failure)
        if self._prompt is None:
            raise TargetError(f"sudo for {self.keyring_name} failed — {_explain(failure)}")
        retry = "wrong password, " if failure == "password-rejected" else ""
        password = self._prompt(f"{retry}sudo password for {self.keyring_name}")
        if not password:
            raise TargetError(f"sudo for {self.keyring_name} failed — no password given")
        result = raw_run(sudo_argv(argv), _password_line(password) + stdin, timeout)
        failure = sudo_failure(result)
        if failure is not None:
            raise TargetError(f"sudo for {self.keyring_name} failed — {_explain(failure)}")
        self._password = password
        self.prompted_password = password
        return result


def _explain(failure: str) -> str:
    if failure == "password-required":
        return "a password is required (none stored in the keyring and no prompt)"
    if failure == "password-rejected":
        return "the password was rejected or the user may not use sudo"
    return failure


def _password_line(password: str | None) -> bytes:
    if password and ("\n" in password or "\r" in password):
        raise TargetError("a sudo password cannot contain a line break")
    return (password or "").encode() + b"\n"
