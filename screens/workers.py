"""The one way a worker's engine failure reaches the operator.

A worker body (a thread worker, or a call `run_on_target` runs) decorated with
`failing_as(action)` may let a `WizardError` escape: it becomes one typed message,
`EngineFailed(action, message)`, posted to the screen or app the worker belongs to; the app
shows it (and a screen may react to it, e.g. by saying why there is no preview). Anything
else is a bug: the app's `on_worker_state_changed` shows it as one line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from textual.message_pump import MessagePump

from screens.messages import EngineFailed
from wizard.errors import WizardError

N = TypeVar("N", bound=MessagePump)
Q = ParamSpec("Q")


def failing_as(
    action: str,
) -> Callable[[Callable[Concatenate[N, Q], None]], Callable[Concatenate[N, Q], None]]:
    """Decorate a worker method: a WizardError it raises is posted as EngineFailed(action)."""

    def wrap(body: Callable[Concatenate[N, Q], None]) -> Callable[Concatenate[N, Q], None]:
        @functools.wraps(body)
        def run(node: N, *args: Q.args, **kwargs: Q.kwargs) -> None:
            try:
                body(node, *args, **kwargs)
            except WizardError as exc:
                node.post_message(EngineFailed(action, str(exc)))

        return run

    return wrap
