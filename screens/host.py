"""What a screen may ask of the app that hosts it: the wizard's state and its actions.

Screens sit below the app (screens/app.py pushes them); they reach it only through this
protocol, so no screen imports the app and the package has no import circle. `WizardApp`
is checked against it by mypy (see the end of screens/app.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from screens.target_gate import TargetGate
from wizard.config import AwsConfig
from wizard.driver import Driver
from wizard.results import AuditResult


@runtime_checkable
class WizardHost(Protocol):
    """The app as the screens see it (a structural type: WizardApp satisfies it)."""

    driver: Driver | None
    result: AuditResult | None
    choices: dict[str, str]  # the operator's choices by check id
    final_choices: dict[str, str]  # final-phase choices, waiting for the finale
    verified: dict[str, str]  # check id -> "fail → pass" after an apply
    gate: TargetGate
    aws: AwsConfig | None
    account_line: str
    account_missing_extra: bool
    report_stale: bool  # the target changed (or a test-boot ran) since the report was exported

    @property
    def learn(self) -> bool: ...

    def open_target(self, spec: str) -> None: ...
    def run_on_target(self, doing: str, call: Callable[[], None]) -> bool: ...
    def notify_busy(self) -> None: ...
    def action_open_guideline(self, check_id: str) -> None: ...
    def action_open_account_check(self, check_id: str) -> None: ...
    def action_choose_account(self) -> None: ...
    def action_read_account(self) -> None: ...
    def action_load_runbook(self) -> None: ...
    def action_runbook(self) -> None: ...
    def action_finale(self) -> None: ...
    def action_export(self) -> None: ...
    def action_undo(self) -> None: ...
    async def action_quit(self) -> None: ...
