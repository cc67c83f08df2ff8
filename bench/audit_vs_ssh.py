"""Benchmark: a whole `ami-wizard audit` process against OpenSSH's own `ssh` running the same
probe script (the same facts, gathered by a plain shell), on one disposable real-sshd instance.

Runs alternate (baseline, audit, baseline, audit, …); the medians and their ratio are printed,
with the number of session channels each audit opened (counted from sshd's debug log).
Needs root (the instance is an overlay of / in a mount namespace). Usage:

    sudo .venv/bin/python bench/audit_vs_ssh.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.instance import Instance, missing_requirements
from wizard import probe
from wizard.demo import EXAMPLE_KEY_ID, EXAMPLE_SECRET


def seed(inst: Instance, key_line: str) -> None:
    inst.authorize("root", key_line)
    config = inst.read("/etc/ssh/sshd_config").decode()
    inst.write("/etc/ssh/sshd_config", "PermitRootLogin yes\nPasswordAuthentication yes\n" + config)
    inst.exec(["chpasswd"], input=b"root:bench-root-password\n")
    inst.write("/root/.bash_history", "history\n", mode=0o600)
    inst.useradd("builder")
    inst.write(
        "/home/builder/.aws/credentials",
        f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n",
        mode=0o600,
    )


def timed(argv: list[str], stdin: bytes | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, input=stdin, capture_output=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-300:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    missing = missing_requirements()
    if missing:
        print(f"cannot run: {missing}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, Instance(tmp) as inst:
        key = Path(tmp) / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        seed(inst, key.with_suffix(".pub").read_text())
        known = Path(tmp) / "known_hosts"
        known.write_text(inst.host_key_line() + "\n")
        script = probe.script()
        cfg = probe.ProbeConfig()
        baseline = [
            "ssh", "-T", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
            "-i", str(key), "-p", str(inst.port), "root@127.0.0.1",
            "sh", "-s", "--", *probe.probe_args("/", True, cfg),
        ]  # fmt: skip
        ours = [
            sys.executable, "-m", "wizard.cli", "audit", f"ssh://root@127.0.0.1:{inst.port}",
            "-i", str(key), "--known-hosts", str(known), "--format", "json", "-o", "/dev/null",
        ]  # fmt: skip
        env_note = {"python": sys.version.split()[0]}
        timed(baseline, script)  # warm caches once for both
        timed(ours)
        base_t: list[float] = []
        our_t: list[float] = []
        channels: list[int] = []
        for _ in range(args.runs):
            base_t.append(timed(baseline, script))
            offset = inst.log_offset()
            our_t.append(timed(ours))
            channels.append(inst.count_session_channels(offset))
        mb, mo = statistics.median(base_t), statistics.median(our_t)
        result = {
            "runs": args.runs,
            "baseline_ssh_median_s": round(mb, 4),
            "audit_median_s": round(mo, 4),
            "ratio": round(mo / mb, 2),
            "audit_session_channels_max": max(channels),
            **env_note,
        }
        print(json.dumps(result, indent=2))
        print(
            f"ami-wizard audit: {mo * 1000:.0f} ms median vs ssh+sh probe {mb * 1000:.0f} ms"
            f" → {mo / mb:.2f}× (goal ≤ 2×); session channels per audit: {max(channels)} (goal ≤ 2)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
