"""screens/workers.py: the one place a worker's WizardError becomes EngineFailed."""

from __future__ import annotations

import pytest
from textual.message import Message

from screens.messages import EngineFailed
from screens.workers import failing_as
from wizard.errors import TargetError


class Node:
    """Stands in for the screen or app a worker belongs to."""

    def __init__(self) -> None:
        self.posted: list[Message] = []

    def post_message(self, message: Message) -> bool:
        self.posted.append(message)
        return True

    @failing_as("preview")
    def fails(self, why: str) -> None:
        raise TargetError(why)

    @failing_as("apply")
    def works(self) -> None:
        self.post_message(EngineFailed("nothing", "wrong"))  # stands for its own result

    @failing_as("save")
    def crashes(self) -> None:
        raise KeyError("a bug")


def test_a_wizard_error_becomes_one_engine_failed_message() -> None:
    node = Node()
    node.fails("connection lost")
    assert [(m.action, m.message) for m in node.posted] == [("preview", "connection lost")]  # type: ignore[attr-defined]


def test_success_posts_only_what_the_body_posts() -> None:
    node = Node()
    node.works()
    assert [m.action for m in node.posted] == ["nothing"]  # type: ignore[attr-defined]


def test_a_bug_is_not_swallowed() -> None:
    with pytest.raises(KeyError):
        Node().crashes()  # the app's on_worker_state_changed shows it as one line
