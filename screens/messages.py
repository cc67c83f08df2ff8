"""Typed messages that workers post when engine calls finish, and that screens react to.

Workers run blocking engine calls in threads; `post_message` is the one thread-safe way
back, so every result (or failure) travels as one of these.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from checks.runbook import RunbookView
from wizard.progress import ProgressEvent
from wizard.report_testboot import TestBootInput
from wizard.results import AuditResult
from wizard.session import ApplyOutcome, Preview, UndoOutcome


@dataclass
class Connected(Message):
    """The target is open (not yet probed)."""

    uri: str
    kind: str


@dataclass
class Audited(Message):
    """A fresh probe and check run finished."""

    result: AuditResult
    reason: str = "audit"  # audit | re-probe | verify


@dataclass
class HostKeyUnknown(Message):
    """The host showed a key not in known_hosts: the operator must decide."""

    host: str
    key_type: str
    fingerprint: str


@dataclass
class Previewed(Message):
    """What choosing `option_id` would change: the session's exact preview."""

    check_id: str
    option_id: str
    preview: Preview


@dataclass
class ApplyProgress(Message):
    """One step of an apply; a burst of them repaints once. `done` of `total` steps have
    finished (total 0: not known)."""

    text: str
    done: int = 0
    total: int = 0

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ApplyProgress)


@dataclass
class Applied(Message):
    """Choices were applied and verified by a fresh probe (`result`)."""

    choices: dict[str, str]
    outcome: ApplyOutcome
    result: AuditResult | None
    final: bool = False


@dataclass
class Undone(Message):
    """The session's reversible changes were restored."""

    outcome: UndoOutcome
    result: AuditResult | None


@dataclass
class Saved(Message):
    """A file (exclude list, report) was written."""

    what: str
    paths: list[str]


@dataclass
class AccountAudited(Message):
    """The AWS account was read and its checks ran (the account chapter)."""

    result: AuditResult


@dataclass
class AccountUnavailable(Message):
    """The account could not be read; `missing_extra` means boto3 is not installed."""

    message: str
    missing_extra: bool = False


@dataclass
class RunbookLoaded(Message):
    """The compromised-account runbook's live data; `error` says why it is missing."""

    views: list[RunbookView]
    error: str = ""


@dataclass
class TestBooted(Message):
    """A test-boot of the image finished (or said why nothing could be booted)."""

    __test__ = False  # not a pytest test class

    run: TestBootInput


@dataclass
class EngineFailed(Message):
    """An engine call failed; `message` is one line for the operator."""

    action: str
    message: str


@dataclass
class TestBootProgress(Message):
    """A test-boot step started (the engine's event); a burst of them repaints once."""

    __test__ = False  # not a pytest test class

    event: ProgressEvent

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TestBootProgress)
