"""A real Debian root filesystem for the test-boot tests, built once with mmdebstrap and cached.

The tarball is keyed by a hash of its whole recipe (suite, packages, hooks), so changing the
package list builds a new one and an unchanged recipe reuses the cached file. Run as a script
to build (or just locate) the images: `python -m tests.integration.testimage [--cloud-init]`.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SUITE = "bookworm"
PACKAGES = ("systemd-sysv", "openssh-server", "sudo", "curl", "iproute2")
# The builder's login: Debian's AMIs log in as `admin`, with password-less sudo.
BUILDER_USER = "admin"
_HOOKS = (
    f'chroot "$1" useradd -m -s /bin/bash -G sudo {BUILDER_USER}',
    f'echo "{BUILDER_USER} ALL=(ALL) NOPASSWD:ALL" > "$1/etc/sudoers.d/90-{BUILDER_USER}"',
    f'chmod 440 "$1/etc/sudoers.d/90-{BUILDER_USER}"',
)
# cloud-init reads only a NoCloud seed directory here (no network metadata), and leaves the
# network alone: a booted copy has nothing but loopback.
_CLOUD_INIT_HOOKS = (
    'printf "%s\\n" "datasource_list: [ NoCloud, None ]" "network: {config: disabled}"'
    ' > "$1/etc/cloud/cloud.cfg.d/05-ami-wizard-test.cfg"',
    # A system locale, as Debian's cloud images have: else cloud-init's locale module runs
    # locale-gen for en_US.UTF-8, which a minimal system cannot build.
    'echo LANG=C.UTF-8 > "$1/etc/default/locale"',
)


@dataclass(frozen=True)
class Recipe:
    name: str
    packages: tuple[str, ...]
    hooks: tuple[str, ...]

    def key(self) -> str:
        text = json.dumps([SUITE, self.packages, self.hooks, "--variant=minbase"])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


BASE = Recipe("base", PACKAGES, _HOOKS)
CLOUD_INIT = Recipe("cloud-init", (*PACKAGES, "cloud-init", "locales"), _HOOKS + _CLOUD_INIT_HOOKS)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ami-wizard"


def missing() -> str | None:
    """Why the image cannot be built here, or None."""
    if os.geteuid() != 0:
        return "building the test image needs root"
    if shutil.which("mmdebstrap") is None:
        return "mmdebstrap is not installed (Debian: mmdebstrap)"
    return None


def image(recipe: Recipe = BASE) -> Path:
    """The cached root-filesystem tarball for `recipe`, built first when missing."""
    path = cache_dir() / f"testimage-{recipe.name}-{recipe.key()}.tar"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # Parallel test workers wait for the one that builds (3 minutes of both cores) instead of
    # building the same image alongside it.
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            _build(recipe, path)
    return path


def _build(recipe: Recipe, path: Path) -> None:
    partial = path.with_suffix(f".tar.{os.getpid()}.partial")  # two builders never share one
    argv = [
        "mmdebstrap",
        "--quiet",
        "--variant=minbase",
        "--format=tar",  # the partial name hides the .tar suffix mmdebstrap would go by
        f"--include={','.join(recipe.packages)}",
        *(f"--customize-hook={hook}" for hook in recipe.hooks),
        SUITE,
        str(partial),
    ]
    try:
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cloud-init", action="store_true", help="the cloud-init variant")
    args = parser.parse_args()
    reason = missing()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    start = time.monotonic()
    path = image(CLOUD_INIT if args.cloud_init else BASE)
    print(f"{path} ({time.monotonic() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
