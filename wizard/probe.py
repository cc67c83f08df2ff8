"""The one-round-trip probe: send `probe.sh` over one exec channel, parse its records into Facts.

This module is the I/O side (the script, its arguments, the one channel); the output's
framing is wizard.probe_records and the parser into Facts is wizard.probe_parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from wizard.errors import ProbeError
from wizard.facts import Facts
from wizard.probe_parse import parse

if TYPE_CHECKING:
    from wizard.targets.base import Target

# The metadata service's documented address; configurable so that tests use a loopback stub.
DEFAULT_IMDS_ENDPOINT = "http://" + ".".join(["169", "254", "169", "254"])


@dataclass(frozen=True)
class ProbeConfig:
    depth: int = 0  # deprecated and ignored: homes are walked to the bottom (max_files bounds)
    timeout: float = 10  # seconds for each file search on the target
    max_files: int = 20000  # files one search lists (or reads for secrets) at most
    max_size: int = 262144  # bytes read at most from one file
    imds_mode: str = "auto"  # auto | always | never
    imds_endpoint: str = DEFAULT_IMDS_ENDPOINT
    channel_timeout: float = 120.0  # the whole probe, seen from here


@cache
def script() -> bytes:
    return resources.files("wizard").joinpath("probe.sh").read_bytes()


def probe_args(root: str, live: bool, config: ProbeConfig) -> list[str]:
    # The stamps come from the checks that write the units (imported here: checks import us).
    from checks._plans import FIRST_BOOT_STAMPS

    return [
        root,
        "1" if live else "0",
        config.imds_mode,
        config.imds_endpoint,
        str(config.max_files),
        str(config.timeout),
        str(config.max_size),
        *FIRST_BOOT_STAMPS,
    ]


def run_probe(target: Target, config: ProbeConfig | None = None) -> Facts:
    """Probe the target: one script over one exec channel, parsed into Facts."""
    config = config or ProbeConfig()
    result = target.run_script(
        script(), probe_args(target.root, target.live, config), timeout=config.channel_timeout
    )
    if result.exit_status != 0 and b"\x1e" not in result.stdout:
        err = [x for x in result.stderr.decode("utf-8", "replace").strip().split("\n") if x]
        raise ProbeError(
            f"the probe failed on {target.uri} (exit {result.exit_status})"
            + (f": {err[-1]}" if err else "")
        )
    return parse(
        result.stdout,
        target_kind=target.kind,
        root=target.root,
        live=target.live,
        is_root=target.is_root,
    )
