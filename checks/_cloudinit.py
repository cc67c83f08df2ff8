"""cloud-init's configuration merged the way cloud-init reads it, and the metadata path a
launch-key unit fetches: shared by the checks and by test-boot (a helper, not a check).

How cloud-init merges its system configuration (cloudinit/util.py `read_conf_with_confd` and
`read_conf_d`, cloudinit/mergers): the `*.cfg` files of /etc/cloud/cloud.cfg.d are taken in
reverse lexical order, then /etc/cloud/cloud.cfg, and folded with the default mergers
(`list()+dict()+str()`), in which what is already merged wins. So a file that sorts later
beats one that sorts earlier, and every drop-in beats cloud.cfg; dictionaries are merged key
by key at every depth, while a list or a scalar comes whole from the one file that decides
it (lists are not concatenated). A file that is not valid YAML, or not a mapping, counts as
empty (cloud-init logs it and goes on). Simplifications, each on the safe side for an audit:
a file's own `merge_how`/`merge_type` is not applied (`CloudConfig.custom_merge` names such
files so that a check can say its reading is approximate), a `conf_d` key is ignored, and
when two files give one key values of different kinds the deciding file's value is kept.
What a launch adds later (user-data, vendor-data, /run/cloud-init) is not in the image.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
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
    source: dict[str, str]  # top-level key -> the file that decides it
    texts: dict[str, str]
    broken: tuple[str, ...] = ()  # files that are not valid YAML (cloud-init skips them too)
    order: tuple[str, ...] = ()  # the files that count, the deciding one first
    custom_merge: tuple[str, ...] = ()  # files with their own merge_how/merge_type
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> its own mapping

    def origin(self, *keys: str) -> str | None:
        """The file that decides the value at `keys` (a path of mapping keys), if any."""
        if not _has(self.values, keys):
            return None
        return next((p for p in self.order if _has(self.data.get(p, {}), keys)), None)

    def line(self, path: str, key: str) -> int:
        """The line of the first `key:` in file `path` (0 when not found)."""
        regex = re.compile(rf"^[\s-]*['\"]?{re.escape(key)}['\"]?\s*:")
        for number, text in enumerate(self.texts.get(path, "").splitlines(), 1):
            if regex.search(text):
                return number
        return 0

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


def _has(data: Any, keys: tuple[str, ...]) -> bool:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def merge(high: Any, low: Any) -> Any:
    """cloud-init's default merge of a lower-priority value into a higher one: mappings key by
    key at every depth (the higher one's keys win), anything else stays the higher one's."""
    if not isinstance(high, dict) or not isinstance(low, dict):
        return high
    out = dict(high)
    for key, value in low.items():
        out[key] = merge(out[key], value) if key in out else value
    return out


def config_files(paths: list[str] | dict[str, str]) -> list[str]:
    """The files cloud-init reads, the deciding one first: cloud.cfg.d/*.cfg from the last in
    lexical order to the first, then cloud.cfg."""
    drop_ins = [p for p in paths if p.startswith(CONFIG_DIR + "/") and p.endswith(".cfg")]
    main = [p for p in paths if p == MAIN_CONFIG]
    return sorted(drop_ins, reverse=True) + main


MAIN_CONFIG = "/etc/cloud/cloud.cfg"
CONFIG_DIR = "/etc/cloud/cloud.cfg.d"


def cloud_config(facts: Facts) -> CloudConfig:
    config = facts.cloud_init.config
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    data: dict[str, dict[str, Any]] = {}
    broken = []
    custom = []
    order = config_files(config)
    for path in order:
        try:
            loaded = yaml.safe_load(config[path])
        except yaml.YAMLError:
            log.warning("cloud-init config %s is not valid YAML", path)
            broken.append(path)
            continue
        if not isinstance(loaded, dict):
            continue
        data[path] = loaded
        if "merge_how" in loaded or "merge_type" in loaded:
            custom.append(path)
        values = merge(values, loaded)
        for key in loaded:
            source.setdefault(key, path)
    return CloudConfig(
        values,
        source,
        dict(config),
        tuple(broken),
        tuple(order),
        tuple(custom),
        data,
    )


def default_user(facts: Facts) -> str:
    """The name of cloud-init's default user (system_info.default_user.name in the merged
    config), or "" when cloud-init is not installed or names none."""
    if not facts.cloud_init.installed:
        return ""
    system = cloud_config(facts).values.get("system_info")
    default = system.get("default_user") if isinstance(system, dict) else None
    name = default.get("name") if isinstance(default, dict) else None
    return name.strip() if isinstance(name, str) else ""
