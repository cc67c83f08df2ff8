"""Benchmark: a full account read (gather + checks) on the flawed two-region moto account.

moto's HTTP server runs in this process on 127.0.0.1 (nothing leaves the machine), seeded once
with tests/aws/flawed.py. Each measurement is a child process that imports the wizard from a
source tree (this one, or --baseline TREE: e.g. `git archive 18b96ab | tar -x -C /tmp/base`, the
code before the account chapter read every region) and times `engine.audit_account` --runs
times after one warm-up read. Baseline and current alternate, so machine load hits both alike.

    .venv/bin/python bench/account_regions.py --baseline /tmp/base --rounds 3 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

CHILD = """
import json, logging, statistics, sys, time
logging.disable(logging.CRITICAL)
from wizard import engine
regions, runs = sys.argv[1], int(sys.argv[2])
engine.audit_account("aws:", regions)  # warm-up: clients, moto's backends
times = []
for _ in range(runs):
    t0 = time.monotonic()
    engine.audit_account("aws:", regions)
    times.append(time.monotonic() - t0)
print(json.dumps(times))
"""


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
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
    return env


def measure(tree: Path, regions: str, runs: int, url: str) -> list[float]:
    env = _env(url) | {"PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, regions, str(runs)],
        env=env,
        cwd=str(tree),
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    times: list[float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="a source tree of the code before")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from tests.aws.flawed import seed_flawed, start_moto

    server, url = start_moto()
    try:
        os.environ.update(_env(url))
        import boto3

        session = boto3.Session(region_name="eu-west-1")

        def client(service: str, region: str = "eu-west-1") -> Any:
            return session.client(service, region_name=region, endpoint_url=url)

        seed_flawed(client)
        cases = [("current", HERE, "eu-west-1"), ("current", HERE, "us-east-1,eu-west-1")]
        if args.baseline:
            cases.insert(0, ("baseline", args.baseline, "eu-west-1"))
        results: dict[tuple[str, str], list[float]] = {}
        t0 = time.monotonic()
        for _ in range(args.rounds):
            for name, tree, regions in cases:
                results.setdefault((name, regions), []).extend(
                    measure(tree, regions, args.runs, url)
                )
        medians = {k: statistics.median(v) for k, v in results.items()}
        for (name, regions), m in medians.items():
            n = len(results[(name, regions)])
            print(f"{name:9} {regions:22} median {m:.3f} s over {n} reads")
        if args.baseline:
            ratio = medians[("current", "us-east-1,eu-west-1")] / medians[("baseline", "eu-west-1")]
            print(f"two regions now / one region before: {ratio:.2f} (limit 2.00)")
        print(f"(benchmark took {time.monotonic() - t0:.0f} s)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
