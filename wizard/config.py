"""Operator configuration and paths (XDG), with environment overrides for tests.

`AMI_WIZARD_CONFIG` names the config file; `XDG_CONFIG_HOME` / `XDG_STATE_HOME` move the
directories. Nothing secret is ever stored here: passphrases live in the keyring.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from wizard.errors import UsageError
from wizard.probe import DEFAULT_IMDS_ENDPOINT, ProbeConfig

log = logging.getLogger(__name__)


# Deeper than this, a plan or config file is hostile or broken: none of ours needs 5 levels.
MAX_YAML_DEPTH = 32
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """safe_load that refuses what a hand-written plan or config never needs: a key given
    twice (which one wins would be a guess) and deep nesting (PyYAML recurses per level)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: what is wrong and on which line."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        return exc.problem + (f" (line {mark.line + 1})" if mark is not None else "")
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def load_yaml(path: str | os.PathLike[str], what: str) -> Any:
    """Read a small YAML file the operator gave (plan, config); every problem is one line.

    The read is capped (wizard.fsutil.read_capped), so /dev/zero or a huge file is refused
    at once; the text must be UTF-8; duplicate keys and deep nesting are refused.
    """
    from wizard.fsutil import read_capped

    try:
        data = read_capped(path)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {os.fspath(path)}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {os.fspath(path)} is not UTF-8 text (byte {exc.start})") from None
    if "\0" in text:
        raise UsageError(f"{what} {os.fspath(path)} is not a text file (it holds NUL bytes)")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise UsageError(
            f"{what} {os.fspath(path)} is not valid YAML: {_yaml_problem(exc)}"
        ) from None
    except RecursionError:
        raise UsageError(f"{what} {os.fspath(path)} is nested too deeply") from None


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ami-wizard"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ami-wizard"


def config_file() -> Path:
    return Path(os.environ.get("AMI_WIZARD_CONFIG") or config_dir() / "config.yaml")


@dataclass(frozen=True)
class AwsConfig:
    """The account chapter's AWS profile and region (the `aws:` section of the config file).

    `configured` says the operator wrote an `aws:` section: the wizard then reads the account
    at start; without it, it waits until the operator asks (no surprise calls to AWS).
    """

    profile: str | None = None  # None: the standard credential chain's default
    region: str | None = None  # None: the profile's or the environment's region
    configured: bool = False


@dataclass(frozen=True)
class Config:
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    identity: dict[str, str] = field(default_factory=dict)  # publisher, description, contact
    recent: tuple[str, ...] = ()
    aws: AwsConfig = field(default_factory=AwsConfig)
    launch_key_user: str = ""  # launch_key.user: who receives the launch key ("" = the default)
    # guidelines.enable: optional guidelines that are off by default, turned on
    selected: tuple[str, ...] = ()
    lang: str = ""  # lang: the UI language (en, es, ja, ko; "" = from the locale)

    def value(self, key: str) -> str:
        """The operator's value for an input key ("identity.publisher"), "" when not set."""
        section, _, name = key.partition(".")
        if section == "identity":
            return self.identity.get(name, "")
        if key == "launch_key.user":
            return self.launch_key_user
        return ""

    def with_values(self, values: dict[str, str]) -> Config:
        """This config with the operator's input values set ("" removes one)."""
        identity = dict(self.identity)
        user = self.launch_key_user
        for key, value in values.items():
            section, _, name = _input_key(key)
            if section == "identity":
                identity[name] = value
                if not value:
                    del identity[name]
            else:
                user = value
        return replace(self, identity=identity, launch_key_user=user)


# The config sections the wizard's inputs may write (publisher...; the launch-key user).
INPUT_KEYS = (
    "identity.publisher",
    "identity.description",
    "identity.contact",
    "launch_key.user",
)


def _input_key(key: str) -> tuple[str, str, str]:
    if key not in INPUT_KEYS:
        raise UsageError(f"{key!r} is not a setting the wizard writes ({', '.join(INPUT_KEYS)})")
    return key.partition(".")


def save_values(values: dict[str, str], path: Path | None = None) -> Path:
    """Write the operator's input values into the config file (atomically, mode 0600),
    keeping everything else in it; "" removes a value. A config file that cannot be read
    is never overwritten: that is a UsageError, like a failed write."""
    from wizard.fsutil import write_atomic

    path = path or config_file()
    raw = (load_yaml(path, "config") if path.exists() else None) or {}
    if not isinstance(raw, dict):
        raise UsageError(f"config {path} must be a mapping: not changed")
    for key, value in values.items():
        section_name, _, name = _input_key(key)
        section = raw.get(section_name) or {}
        if not isinstance(section, dict):
            raise UsageError(f"config {path}: {section_name} must be a mapping: not changed")
        if value:
            section[name] = value
        else:
            section.pop(name, None)
        if section:
            raw[section_name] = section
        else:
            raw.pop(section_name, None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), 0o600)
    except OSError as exc:
        raise UsageError(f"cannot write config {path}: {exc.strerror}") from None
    return path


def load_config(path: Path | None = None) -> Config:
    """Read the config file; a missing file means defaults, a broken one is a UsageError."""
    path = path or config_file()
    raw: Any = load_yaml(path, "config") if path.exists() else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UsageError(f"config {path} must be a mapping")
    imds = raw.get("imds") or {}
    probe = raw.get("probe") or {}
    try:
        probe_config = ProbeConfig(
            depth=int(probe.get("depth", ProbeConfig.depth)),  # deprecated, ignored
            timeout=int(probe.get("timeout", ProbeConfig.timeout)),
            max_files=int(probe.get("max_files", ProbeConfig.max_files)),
            max_size=int(probe.get("max_size", ProbeConfig.max_size)),
            imds_mode=str(imds.get("mode", "auto")),
            imds_endpoint=str(
                os.environ.get("AMI_WIZARD_IMDS_ENDPOINT")
                or imds.get("endpoint", DEFAULT_IMDS_ENDPOINT)
            ),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"config {path}: {exc}") from exc
    if probe_config.max_files < 1 or probe_config.timeout <= 0:
        raise UsageError(f"config {path}: probe.max_files and probe.timeout must be positive")
    if probe_config.imds_mode not in ("auto", "always", "never"):
        raise UsageError(f"config {path}: imds.mode must be auto, always or never")
    identity = {str(k): str(v) for k, v in (raw.get("identity") or {}).items()}
    recent = tuple(str(x) for x in raw.get("recent") or ())
    launch_key = raw.get("launch_key") or {}
    if not isinstance(launch_key, dict):
        raise UsageError(f"config {path}: launch_key must be a mapping (user)")
    return Config(
        probe=probe_config,
        identity=identity,
        recent=recent,
        aws=_aws(raw, path),
        launch_key_user=str(launch_key.get("user") or ""),
        selected=_selected(raw, path),
        lang=_lang(raw, path),
    )


def _lang(raw: dict[str, Any], path: Path) -> str:
    from wizard.i18n import check_lang

    lang = raw.get("lang")
    if lang is None or lang == "":
        return ""
    try:
        return check_lang(str(lang))
    except UsageError as exc:
        raise UsageError(f"config {path}: lang: {exc}") from None


def _selected(raw: dict[str, Any], path: Path) -> tuple[str, ...]:
    section = raw.get("guidelines") or {}
    enable = section.get("enable") if isinstance(section, dict) else None
    if not isinstance(section, dict) or not isinstance(enable or [], list):
        raise UsageError(f"config {path}: guidelines must be a mapping (enable: [check ids])")
    return tuple(str(i) for i in enable or ())


def _aws(raw: dict[str, Any], path: Path) -> AwsConfig:
    if "aws" not in raw:
        return AwsConfig()
    section = raw["aws"] or {}
    if not isinstance(section, dict):
        raise UsageError(f"config {path}: aws must be a mapping (profile, region)")
    profile, region = section.get("profile"), section.get("region")
    return AwsConfig(
        profile=str(profile) if profile else None,
        region=str(region) if region else None,
        configured=True,
    )


MAX_RECENT = 8


def recent_targets() -> list[str]:
    """The targets the operator opened lately, newest first (from the config file)."""
    try:
        return list(load_config().recent)
    except UsageError:
        return []


def remember_recent(spec: str) -> None:
    """Put `spec` first in the config file's `recent` list, keeping the rest of the file."""
    from wizard.fsutil import write_atomic

    path = config_file()
    try:
        raw = load_yaml(path, "config") if path.exists() else {}
    except UsageError as exc:
        log.debug("config unreadable, recent targets not saved: %s", exc)
        return
    if not isinstance(raw, dict):
        return
    recent = [spec] + [str(s) for s in raw.get("recent") or () if str(s) != spec]
    raw["recent"] = recent[:MAX_RECENT]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, yaml.safe_dump(raw, sort_keys=False), 0o600)
    except OSError as exc:
        log.debug("recent targets not saved: %s", exc)
