"""Targets: how ami-wizard reaches the machine it audits (SSH, local, mounted image).

`open_target(spec, options)` turns what the operator typed into a connected Target;
the demo practice instance is built elsewhere on top of ImageTarget.
"""

from __future__ import annotations

from wizard.errors import UsageError
from wizard.targets.base import (
    ChangedHostKeyError,
    CommandResult,
    ConnectOptions,
    Target,
    UnknownHostKeyError,
)
from wizard.targets.image import ImageTarget
from wizard.targets.local import LocalTarget
from wizard.targets.ssh import SSHTarget, load_ssh_config, resolve_endpoint, split_host_port

__all__ = [
    "ChangedHostKeyError",
    "CommandResult",
    "ConnectOptions",
    "ImageTarget",
    "LocalTarget",
    "SSHTarget",
    "Target",
    "UnknownHostKeyError",
    "open_target",
]

_FORMS = "ssh://user@host[:port], user@host, an ssh config alias, local or image:/path"


def open_target(spec: str, options: ConnectOptions | None = None) -> Target:
    """Parse a target spec and connect to it; bad specs raise UsageError (one line)."""
    options = options or ConnectOptions()
    spec = spec.strip()
    if not spec:
        raise UsageError(f"no target given: use {_FORMS}")
    if spec == "local":
        return LocalTarget(options)
    if spec.startswith("image:"):
        path = spec.removeprefix("image:")
        if not path:
            raise UsageError("image: needs a path, e.g. image:/mnt/volume")
        return ImageTarget(path)
    if spec == "demo":
        raise UsageError("the demo target is started with `ami-wizard demo`")
    if spec.startswith("ssh://"):
        rest = spec.removeprefix("ssh://").rstrip("/")
        if not rest or any(c in rest for c in "/?#;"):
            raise UsageError(f"bad ssh target {spec!r}: use ssh://user@host[:port]")
        user, host, port = split_host_port(rest)
    elif "://" in spec:
        raise UsageError(f"unknown target {spec!r}: use {_FORMS}")
    else:
        user, host, port = split_host_port(spec)
        if port is not None:
            # `user@host:port` is scp syntax, not ssh's; say how to write it.
            raise UsageError(f"bad target {spec!r}: write the port as ssh://{spec}")
    config = load_ssh_config(options.ssh_config)
    endpoint = resolve_endpoint(config, host, user, port)
    shown = f"[{host}]" if ":" in host else host
    uri = f"ssh://{endpoint.user}@{shown}"
    if endpoint.port != 22:
        uri += f":{endpoint.port}"
    return SSHTarget(endpoint, options, uri)
