"""The jobs wizard.fleet runs on each member: an audit, an apply — each as its one-target
command does it, on a connection of its own that the fleet's watchdog may close.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wizard.config import Config
from wizard.engine import audit, open_target
from wizard.fleet import CONNECTING, WORKING, Handle
from wizard.inventory import FleetTarget
from wizard.results import AuditResult
from wizard.session import ApplyOutcome, Session, recommended_choices
from wizard.sessions import target_lock
from wizard.targets.base import ConnectOptions


def connect_options(base: ConnectOptions, member: FleetTarget, timeout: float) -> ConnectOptions:
    """The command's options for one member: its own identity, a connect time-out inside
    its deadline, and no prompts (twenty threads cannot share one terminal)."""
    return dataclasses.replace(
        base,
        identity=member.identity or base.identity,
        timeout=min(base.timeout, timeout),
        passphrase_prompt=None,
        sudo_password_prompt=None,
    )


def audit_member(
    member: FleetTarget,
    handle: Handle,
    options: ConnectOptions,
    config: Config,
    checks: Sequence[str] | None,
    timeout: float,
) -> AuditResult:
    """One member's audit: connect, probe once, judge (the same as `ami-wizard audit`)."""
    handle.phase(CONNECTING)
    with open_target(member.spec, connect_options(options, member, timeout)) as target:
        handle.attach(target)
        handle.phase(WORKING)
        return audit(target, config, checks)


@dataclass(frozen=True)
class Applied:
    """One member's apply: the session (for its report), what it did, what it said."""

    session: Session
    outcome: ApplyOutcome
    log: tuple[str, ...]


def apply_member(
    member: FleetTarget,
    handle: Handle,
    options: ConnectOptions,
    config: Config,
    choices: Mapping[str, str] | None,
    confirm_irreversible: bool,
    timeout: float,
) -> Applied:
    """One member's apply, as `ami-wizard apply`: the target locked from the first probe to
    the last, journal first; `choices` None means the recommended option of every check."""
    handle.phase(CONNECTING)
    log: list[str] = []
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(
            open_target(member.spec, connect_options(options, member, timeout))
        )
        handle.attach(target)
        stack.enter_context(target_lock(target))
        handle.phase(WORKING)
        session = Session(target, config)
        before = session.audit()
        chosen = dict(choices) if choices is not None else recommended_choices(before)
        outcome = session.apply(
            chosen, confirm_irreversible=confirm_irreversible, progress=log.append
        )
    return Applied(session, outcome, tuple(log))
