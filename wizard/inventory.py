"""Many targets for one command: target lists, `@file`, our inventory YAML and Ansible's.

Everything becomes a list of FleetTarget (a name for the table and the file names, the target
spec `open_target` takes, and an identity file of its own). Ansible inventories (INI or YAML)
are read through `ansible-inventory -i FILE --list`, so every form Ansible accepts is read
as Ansible reads it; ansible_host, ansible_user, ansible_port and
ansible_ssh_private_key_file are mapped, passwords are never read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from wizard.errors import UsageError

INVENTORY_SCHEMA = "ami-wizard/inventory/v1"
# More targets than this in one command is a mistake (or a hostile file), not a fleet.
MAX_TARGETS = 10_000
ANSIBLE_TIMEOUT_S = 120.0
_TARGET_KEYS = frozenset({"name", "target", "host", "user", "port", "identity"})
_DEFAULT_KEYS = frozenset({"user", "port", "identity"})
# ansible_connection values that mean "over SSH" (we connect with our own client).
_SSH_CONNECTIONS = frozenset({"ssh", "paramiko", "paramiko_ssh", "smart"})


@dataclass(frozen=True)
class FleetTarget:
    """One member of a fleet: `name` labels it in the table and names its report file;
    `spec` is what `open_target` takes; `identity` overrides the command's -i for it."""

    name: str
    spec: str
    identity: str | None = None


def ssh_spec(host: str, user: str | None = None, port: int | None = None) -> str:
    """`ssh://[user@]host[:port]` (IPv6 in brackets), refusing what is not a host."""
    if not host or host.startswith("-") or any(c.isspace() or c in "/@?#;" for c in host):
        raise UsageError(f"bad host {host!r}")
    if user is not None and (not user or any(c.isspace() or c in "/@:?#;" for c in user)):
        raise UsageError(f"bad user {user!r} for host {host}")
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    at = f"{user}@" if user else ""
    return f"ssh://{at}{shown}" + (f":{port}" if port is not None else "")


def _port(value: object, where: str) -> int:
    text = str(value)
    if isinstance(value, bool) or not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{where}: bad port {value!r}")
    return int(text)


def _text(value: object, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: {key} must be a non-empty string")
    if "{{" in value or "{%" in value:
        raise UsageError(f"{where}: {key} is a template ({value[:40]!r}); give a plain value")
    return value.strip()


def unique_names(targets: Iterable[FleetTarget]) -> list[FleetTarget]:
    """The same name twice gets `-2`, `-3`…: names key the table and the report files."""
    seen: dict[str, int] = {}
    out: list[FleetTarget] = []
    for t in targets:
        name = t.name
        if name in seen:
            seen[name] += 1
            name = f"{t.name}-{seen[t.name]}"
        seen.setdefault(name, 1)
        out.append(FleetTarget(name, t.spec, t.identity))
    return out


def file_stem(name: str) -> str:
    """A file name for a target's report: the name with anything unusual made `_`."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", name.removeprefix("ssh://")).strip(".") or "target"
    return stem[:120]


def read_target_list(path: str) -> list[FleetTarget]:
    """`@file`: one target a line; blank lines and `#` comments are skipped."""
    text = _read_text(path, "target list")
    out = []
    for line in text.split("\n"):
        spec = line.strip()
        if spec and not spec.startswith("#"):
            out.append(FleetTarget(spec, spec))
    if not out:
        raise UsageError(f"target list {path} names no target")
    return out


def _read_text(path: str, what: str) -> str:
    from wizard.fsutil import read_capped

    try:
        data = read_capped(path)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None


def expand_args(items: Sequence[str]) -> list[FleetTarget]:
    """Targets as typed: each a target spec, or `@FILE` for a list in a file."""
    out: list[FleetTarget] = []
    for item in items:
        if item.startswith("@"):
            out += read_target_list(item[1:])
        else:
            out.append(FleetTarget(item, item))
    return out


def read_inventory(path: str) -> list[FleetTarget]:
    """--inventory FILE: ours when it says `schema: ami-wizard/inventory/v1`, else Ansible's."""
    from wizard.config import load_yaml

    raw: Any = None
    try:
        raw = load_yaml(path, "inventory")
    except UsageError:
        if not os.path.isfile(path):
            raise
        # Not YAML (an Ansible INI file, most likely): Ansible's reader decides.
    if isinstance(raw, dict) and "schema" in raw:
        return _ours(raw, path)
    return read_ansible(path)


def _ours(raw: dict[str, Any], path: str) -> list[FleetTarget]:
    if raw.get("schema") != INVENTORY_SCHEMA:
        raise UsageError(f"inventory {path}: schema must be {INVENTORY_SCHEMA!r}")
    unknown = set(raw) - {"schema", "defaults", "targets"}
    if unknown:
        raise UsageError(f"inventory {path}: unknown key {sorted(unknown)[0]!r}")
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict) or set(defaults) - _DEFAULT_KEYS:
        raise UsageError(f"inventory {path}: defaults may set only user, port and identity")
    entries = raw.get("targets")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"inventory {path}: targets must be a non-empty list")
    if len(entries) > MAX_TARGETS:
        raise UsageError(f"inventory {path}: more than {MAX_TARGETS} targets")
    base = os.path.dirname(os.path.abspath(path))
    return unique_names(_entry(e, defaults, f"inventory {path}, target {i}", base)
                        for i, e in enumerate(entries, 1))  # fmt: skip


def _identity(value: object, where: str, base: str) -> str:
    path = os.path.expanduser(_text(value, "identity", where))
    return path if os.path.isabs(path) else os.path.join(base, path)


def _entry(entry: object, defaults: dict[str, Any], where: str, base: str) -> FleetTarget:
    if isinstance(entry, str):
        spec = _text(entry, "target", where)
        ident = defaults.get("identity")
        return FleetTarget(spec, spec, _identity(ident, where, base) if ident else None)
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: a target is a string or a mapping")
    unknown = set(entry) - _TARGET_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    if ("target" in entry) == ("host" in entry):
        raise UsageError(f"{where}: give either target or host")
    merged = {**defaults, **entry}
    if "target" in entry:
        if {"user", "port"} & set(entry):
            raise UsageError(f"{where}: user and port go with host, not with target")
        spec = _text(entry["target"], "target", where)
    else:
        host = _text(entry["host"], "host", where)
        user = _text(merged["user"], "user", where) if "user" in merged else None
        port = _port(merged["port"], where) if "port" in merged else None
        spec = ssh_spec(host, user, port)
    name = _text(entry["name"], "name", where) if "name" in entry else spec
    ident = merged.get("identity")
    return FleetTarget(name, spec, _identity(ident, where, base) if ident else None)


def ansible_inventory_command() -> str | None:
    """`ansible-inventory` beside our interpreter (a venv), else on PATH; None when absent."""
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("ansible-inventory")


def read_ansible(path: str) -> list[FleetTarget]:
    """An Ansible inventory, as `ansible-inventory -i FILE --list` reads it."""
    command = ansible_inventory_command()
    if command is None:
        raise UsageError(
            f"inventory {path} is not an ami-wizard inventory (schema: {INVENTORY_SCHEMA});"
            " to read it as an Ansible inventory, install ansible-core"
        )
    env = {**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_NOCOLOR": "1"}
    try:
        proc = subprocess.run(
            [command, "-i", path, "--list"],
            capture_output=True,
            timeout=ANSIBLE_TIMEOUT_S,
            env=env,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"ansible-inventory could not read {path}: {exc}") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"]
        raise UsageError(f"ansible-inventory could not read {path}: {lines[-1][:300]}")
    try:
        listing = json.loads(proc.stdout)
    except ValueError:
        raise UsageError(f"ansible-inventory gave no JSON for {path}") from None
    return from_ansible_listing(listing, path)


def _hosts_in_order(listing: dict[str, Any]) -> list[str]:
    """Every host of the `all` group, children first-to-last, each once."""
    seen: dict[str, None] = {}
    visiting: set[str] = set()

    def walk(group: str) -> None:
        if group in visiting:
            return
        visiting.add(group)
        node = listing.get(group)
        if not isinstance(node, dict):
            return
        for host in node.get("hosts") or []:
            seen.setdefault(str(host), None)
        for child in node.get("children") or []:
            walk(str(child))

    walk("all")
    return list(seen)


def from_ansible_listing(listing: object, path: str = "inventory") -> list[FleetTarget]:
    """The targets of `ansible-inventory --list` JSON output."""
    if not isinstance(listing, dict):
        raise UsageError(f"ansible-inventory gave no inventory for {path}")
    hostvars = (listing.get("_meta") or {}).get("hostvars") or {}
    hosts = _hosts_in_order(listing)
    if not hosts:
        raise UsageError(f"inventory {path} lists no host")
    if len(hosts) > MAX_TARGETS:
        raise UsageError(f"inventory {path}: more than {MAX_TARGETS} hosts")
    return unique_names(_ansible_host(h, hostvars.get(h) or {}, path) for h in hosts)


def _ansible_host(name: str, hv: dict[str, Any], path: str) -> FleetTarget:
    where = f"inventory {path}, host {name}"
    connection = str(hv.get("ansible_connection", "ssh"))
    if connection == "local":
        return FleetTarget(name, "local")
    if connection not in _SSH_CONNECTIONS:
        raise UsageError(
            f"{where}: ansible_connection {connection!r} is not supported (ssh or local)"
        )
    host = hv.get("ansible_host", hv.get("ansible_ssh_host", name))
    user = hv.get("ansible_user", hv.get("ansible_ssh_user"))
    port = hv.get("ansible_port", hv.get("ansible_ssh_port"))
    key = hv.get("ansible_ssh_private_key_file", hv.get("ansible_private_key_file"))
    spec = ssh_spec(
        _text(host, "ansible_host", where),
        _text(user, "ansible_user", where) if user is not None else None,
        _port(port, where) if port is not None else None,
    )
    identity = (
        os.path.expanduser(_text(key, "ansible_ssh_private_key_file", where)) if key else None
    )
    return FleetTarget(name, spec, identity)
