"""Benchmark: seconds per test-boot launch of the Debian test image, padded to about 1 GB.

Not a timed test: it prints what one launch (boot, observe, reboot, observe) costs here, so a
regression shows up as a number. The target of the design is at most 30 s per launch for a
1 GB image. Run as root: `python bench/testboot.py [--size-mb 1024] [--launches 2]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checks import _plans
from tests.integration import testimage
from wizard.testboot import Options, test_boot


def _pad(root: Path, megabytes: int) -> None:
    """Fill the image up to `megabytes` with incompressible data files outside any home, as
    an application tree would be (they are walked by the probe, not read)."""
    have = int(
        subprocess.run(
            ["du", "-sm", str(root)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
    )
    data = root / "opt/app/data"
    data.mkdir(parents=True)
    for i in range(max(0, megabytes - have) // 64):
        (data / f"blob-{i:03}.bin").write_bytes(os.urandom(64 << 20))


def _prepare(root: Path) -> None:
    """What a prepared image costs at boot: no host keys, and the unit that makes them."""
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    unit = root / _plans.UNIT_DIR.lstrip("/") / _plans.KEYGEN_UNIT
    unit.write_text(_plans.KEYGEN_TEXT)
    wants = root / _plans.WANTS_DIR.lstrip("/")
    wants.mkdir(parents=True, exist_ok=True)
    (wants / _plans.KEYGEN_UNIT).symlink_to(f"{_plans.UNIT_DIR}/{_plans.KEYGEN_UNIT}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--launches", type=int, default=2)
    args = parser.parse_args()
    reason = testimage.missing()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    tar = testimage.image(testimage.BASE)
    with tempfile.TemporaryDirectory(prefix="ami-wizard-bench-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        subprocess.run(["tar", "-xpf", str(tar), "--numeric-owner", "-C", str(root)], check=True)
        _prepare(root)
        _pad(root, args.size_mb)
        size = subprocess.run(["du", "-sh", str(root)], capture_output=True, text=True).stdout
        start = time.monotonic()
        result = test_boot(f"image:{root}", Options(launches=args.launches))
        total = time.monotonic() - start
    print(f"image {size.split()[0]}, {args.launches} launches, {total:.1f} s in all")
    for launch in result.launches:
        reboot = launch.reboot.seconds if launch.reboot else 0.0
        print(f"  launch {launch.index}: boot {launch.first.seconds:.1f} s, reboot {reboot:.1f} s")
    print(f"{total / args.launches:.1f} s per launch (target: at most 30 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
