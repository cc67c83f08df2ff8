"""The wizard's link to the engine: every blocking call the screens need, in one place.

Only worker threads call into this module (screens never do I/O themselves). It opens the
target, audits it, and — through `wizard.session.Session` when that is available — previews,
applies, verifies and undoes fixes; it also keeps the recent-targets list and writes files.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from checks.bundle_excludes import exclude_list as facts_exclude_list
from wizard.config import Config, config_file, load_config
from wizard.engine import AuditResult, audit, open_target
from wizard.errors import UsageError, WizardError
from wizard.facts import Facts
from wizard.targets.base import ConnectOptions, Target

log = logging.getLogger(__name__)

MAX_RECENT = 8
# What the Finale runs last: named here so the screen can show it before it runs.
LAST_COMMAND_CHECK = "shell-history"


@dataclass
class Driver:
    """One wizard run against one target: connection, audits, and (later) the fix session."""

    spec: str
    options: ConnectOptions = field(default_factory=ConnectOptions)
    config: Config = field(default_factory=Config)
    target: Target | None = None
    session: Any = None  # wizard.session.Session once that module is in the build
    before: AuditResult | None = None  # the first audit: what the target was like
    result: AuditResult | None = None  # the latest audit
    practice_root: str | None = None  # a practice image made by the caller (kept on close)
    finished: bool = False  # the last command ran: nothing more may be sent to the target
    # For the report (wizard.report.write_reports reads these): every ApplyOutcome in order,
    # and the preview shown for each check before it was applied.
    outcomes: list[Any] = field(default_factory=list)
    previews: dict[str, Any] = field(default_factory=dict)

    @property
    def is_practice(self) -> bool:
        return self.spec == "demo"

    def connect(self) -> Target:
        """Open the target (raises UnknownHostKeyError for a host the operator must vet)."""
        self.close()
        if self.is_practice and self.practice_root:
            from wizard.targets.image import ImageTarget

            self.target = ImageTarget(self.practice_root, kind="demo", uri="demo")
        else:
            self.target = open_target(self.spec, self.options)
        try:
            from wizard.session import Session
        except ImportError:  # the fix session is another part of the build
            self.session = None
        else:
            self.session = Session(self.target, self.config)
        return self.target

    def audit(self) -> AuditResult:
        """Probe the target once and run every check; the first result is kept as `before`."""
        if self.target is None:
            raise WizardError("not connected")
        self._check_not_finished()
        result = (
            self.session.audit() if self.session is not None else audit(self.target, self.config)
        )
        if self.before is None:
            self.before = result
        self.result = result
        return result

    def _check_not_finished(self) -> None:
        if self.finished:
            raise WizardError(
                "the last command has run: nothing more is sent to this target (that would "
                "write new traces); stop the instance and create the image"
            )

    def remember_secrets(self) -> list[str]:
        """Store the passphrases / sudo password that worked in the keyring; returns names."""
        remember = getattr(self.target, "remember_secrets", None)
        return list(remember()) if callable(remember) else []

    def preview(self, check_id: str, option_id: str) -> Any:
        """The session's exact preview of one choice, or None when fixes are not in this build."""
        if self.session is None:
            return None
        preview = self.session.preview(check_id, option_id)
        self.previews[check_id] = preview
        return preview

    def apply(
        self,
        choices: Mapping[str, str],
        *,
        final: bool = False,
        confirm_irreversible: bool = False,
        progress: Callable[..., None] | None = None,
    ) -> tuple[Any, AuditResult]:
        """Apply the choices, then probe again: the fresh result is the verification."""
        if self.session is None:
            raise WizardError("applying fixes is not in this build yet: the audit is read-only")
        self._check_not_finished()
        outcome = self.session.apply(
            dict(choices),
            confirm_irreversible=confirm_irreversible,
            progress=progress,
            include_final=final,
        )
        self.outcomes.append(outcome)
        if getattr(outcome, "last_done", False):
            self.finished = True
        # The session probed again itself (and after the last command it must not probe):
        # its result is the verification.
        result = getattr(outcome, "after", None) or self.session.latest
        self.result = result
        return outcome, result

    def undo(self) -> tuple[Any, AuditResult]:
        if self.session is None:
            raise WizardError("undo is not in this build yet: nothing was changed")
        self._check_not_finished()
        outcome = self.session.undo()
        return outcome, self.audit()

    def other_sessions(self) -> list[str]:
        """Other interactive logins on a live target (their shells write history on exit)."""
        if self.session is None or self.finished:
            return []
        return list(self.session.other_sessions())

    def exclude_list(self) -> list[str]:
        if self.session is not None:
            return list(self.session.exclude_list())
        if self.result is None or not isinstance(self.result.facts, Facts):
            return []
        return facts_exclude_list(self.result.facts)

    def export_report(self, folder: str, sign_key: str | None, sign_agent: bool) -> list[str]:
        """Write the report (JSON, Markdown, HTML when available) and sign the JSON."""
        if self.result is None:
            raise WizardError("nothing to report yet: the target has not been audited")
        out = Path(os.path.expanduser(folder))
        if not out.is_dir():
            raise UsageError(f"{out} is not a directory")
        written = _write_report(self, out)
        if sign_key or sign_agent:
            from wizard.signing import sign_file

            json_path = next(p for p in written if p.endswith(".json"))
            if sign_key:
                written.append(sign_file(json_path, key_file=os.path.expanduser(sign_key)))
            else:
                written.append(sign_file(json_path))
        return written

    def close(self) -> None:
        """Close the connection; a practice image (a temp dir of ours) is removed."""
        target, self.target = self.target, None
        if target is None:
            return
        target.close()
        if self.is_practice and not self.practice_root:
            shutil.rmtree(target.root, ignore_errors=True)


def _write_report(driver: Driver, out: Path) -> list[str]:
    assert driver.result is not None
    try:
        report_mod = importlib.import_module("wizard.report")
    except ImportError:
        report_mod = None
    written: list[str] = []
    if report_mod is not None and hasattr(report_mod, "write_reports"):
        return list(report_mod.write_reports(driver, out))
    from wizard.formats import render

    for fmt, ext in (("json", "json"), ("md", "md")):
        path = out / f"ami-wizard-report.{ext}"
        write_text(str(path), render(driver.result, fmt))
        written.append(str(path))
    return written


def write_text(path: str, text: str, mode: int = 0o644) -> None:
    """Write a file atomically (temp file in the same folder, then rename)."""
    target = Path(os.path.expanduser(path))
    folder = target.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {target}: {folder} is not a directory")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None


def ssh_aliases(ssh_config: str | None = None) -> list[str]:
    """Concrete Host names from ~/.ssh/config (patterns with * or ? are not targets)."""
    from wizard.targets.ssh import load_ssh_config

    try:
        config = load_ssh_config(ssh_config)
    except (OSError, WizardError) as exc:
        log.debug("ssh config unreadable: %s", exc)
        return []
    names = config.get_hostnames() if config is not None else set()
    return sorted(n for n in names if n and not any(c in n for c in "*?!"))


def recent_targets() -> list[str]:
    try:
        return list(load_config().recent)
    except WizardError:
        return []


def remember_recent(spec: str) -> None:
    """Put `spec` first in the config file's `recent` list, keeping the rest of the file."""
    path = config_file()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, yaml.YAMLError) as exc:
        log.debug("config unreadable, recent targets not saved: %s", exc)
        return
    if not isinstance(raw, dict):
        return
    recent = [spec] + [str(s) for s in raw.get("recent") or () if str(s) != spec]
    raw["recent"] = recent[:MAX_RECENT]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(str(path), yaml.safe_dump(raw, sort_keys=False), 0o600)
