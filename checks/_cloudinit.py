"""cloud-init's configuration merged the way cloud-init reads it, and the metadata path a
launch-key unit fetches: shared by the checks and by test-boot (a helper, not a check)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import yaml

from wizard.facts import Facts
from wizard.model import Evidence

log = logging.getLogger(__name__)

# What a first-boot unit asks the metadata service for to install the launch key.
KEYS_PATH = "meta-data/public-keys"


@dataclass(frozen=True)
class CloudConfig:
    """cloud.cfg and cloud.cfg.d/*.cfg merged the way cloud-init does (later files win)."""

    values: dict[str, Any]
    source: dict[str, str]  # top-level key -> the file that set it last
    texts: dict[str, str]
    broken: tuple[str, ...] = ()  # files that are not valid YAML (cloud-init skips them too)

    def line_of(self, key: str, pattern: str) -> Evidence | None:
        """Evidence for the first line matching `pattern` in the file that set `key`."""
        path = self.source.get(key)
        if path is None:
            return None
        regex = re.compile(pattern)
        for number, line in enumerate(self.texts[path].splitlines(), 1):
            if regex.search(line):
                return Evidence(path, number, line.strip())
        return Evidence(path, 0, f"{key} set here")

    def modules(self, stage: str = "cloud_init_modules") -> list[str]:
        """Module names of a stage, without the optional `cc_` prefix or frequency."""
        names = []
        for item in self.values.get(stage) or []:
            name = item[0] if isinstance(item, list) and item else item
            if isinstance(name, str):
                names.append(name.strip().removeprefix("cc_"))
        return names


def cloud_config(facts: Facts) -> CloudConfig:
    config = facts.cloud_init.config
    main = sorted(p for p in config if p.endswith("/cloud.cfg"))
    rest = sorted(p for p in config if p not in main)
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    broken = []
    for path in main + rest:
        try:
            data = yaml.safe_load(config[path])
        except yaml.YAMLError:
            log.warning("cloud-init config %s is not valid YAML", path)
            broken.append(path)
            continue
        if isinstance(data, dict):
            values.update(data)
            source.update({key: path for key in data})
    return CloudConfig(values, source, dict(config), tuple(broken))


def default_user(facts: Facts) -> str:
    """The name of cloud-init's default user (system_info.default_user.name in the merged
    config), or "" when cloud-init is not installed or names none."""
    if not facts.cloud_init.installed:
        return ""
    system = cloud_config(facts).values.get("system_info")
    default = system.get("default_user") if isinstance(system, dict) else None
    name = default.get("name") if isinstance(default, dict) else None
    return name.strip() if isinstance(name, str) else ""
