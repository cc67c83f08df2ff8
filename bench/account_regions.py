"""Benchmark: one full account read (gather + checks) on the flawed two-region moto account.

moto's HTTP server runs in this process on 127.0.0.1; nothing leaves the machine. Prints the
median of --runs reads for each region set given with --regions (comma-separated; "all" reads
every enabled region, which on moto means the whole partition unless narrowed). Usage:

    .venv/bin/python bench/account_regions.py --runs 5 --regions eu-west-1 us-east-1,eu-west-1
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.aws.flawed import seed_flawed, start_moto


def _env(url: str) -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AMI_WIZARD_AWS_ENDPOINT_URL": url,
            "NO_PROXY": "127.0.0.1",
        }
    )
    for var in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN"):
        os.environ.pop(var, None)


def _read(regions: str) -> float:
    from wizard import engine

    t0 = time.monotonic()
    params = inspect.signature(engine.audit_account).parameters
    if "," in regions and "regions" not in params:
        raise SystemExit("this branch reads one region per run")
    engine.audit_account("aws:", regions)
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--regions", nargs="+", default=["eu-west-1", "us-east-1,eu-west-1"])
    args = ap.parse_args()
    server, url = start_moto()
    try:
        _env(url)
        import boto3

        session = boto3.Session(region_name="eu-west-1")

        def client(service: str, region: str = "eu-west-1") -> Any:
            return session.client(service, region_name=region, endpoint_url=url)

        seed_flawed(client)
        medians = {}
        for regions in args.regions:
            _read(regions)  # warm: moto builds each region's backend on first use
            times = [_read(regions) for _ in range(args.runs)]
            medians[regions] = statistics.median(times)
            print(f"{regions:30} median {medians[regions]:.3f} s over {args.runs} runs")
        if len(medians) >= 2:
            values = list(medians.values())
            first, last = values[0], values[-1]
            print(f"ratio last/first: {last / first:.2f}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
