"""Benchmark: `ami-wizard audit` of 20 real-sshd instances with `--jobs 20`, against one audit
of one of them, and against Ansible gathering the same facts over the same 20 (forks=20).

Ansible's equivalent check playbook runs the wizard's own probe script on every host with
`ansible.builtin.script` (gather_facts off: the probe is the fact gathering), with the same
key and the same known_hosts (host keys checked strictly, as ours are). Every instance is a
small builder (root's home a fresh tmpfs) seeded with the usual flaws. Runs alternate (one,
fleet, ansible, one, …) so that the machine's load hits all three alike; medians are printed
with their ratios, the CPU time of the client (the command and all it started) and of the
targets (every process in their namespaces). Here the 20 targets share the client's cores:
their own work (≈0.45 CPU-s per probe) is a floor that neither the wizard nor Ansible can go
under, which the CPU figures show. Finally one fleet run has its first target killed
mid-audit and its last a closed port: the other 18 must finish. Needs root and ansible-core (`pip install -e '.[dev]'`). Usage:

    sudo .venv/bin/python bench/fleet.py [--hosts 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.audit_vs_ssh import seed
from tests.integration.instance import Instance, free_port, missing_requirements
from wizard import probe

BIN = Path(sys.executable).parent
CONFIG = "imds: {mode: never}\n"  # a benchmark never asks a metadata service


def _cpu_ticks(pid: str) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15])  # utime stime cutime cstime


def target_cpu(insts: list[Instance]) -> float:
    """CPU seconds the instances spent so far: every live process in their pid namespaces
    with the time of the children it reaped (sshd, sessions, shells, probes; a session kept
    open by an ssh ControlMaster is live, so it counts too)."""
    namespaces = {os.readlink(f"/proc/{i.pid}/ns/pid") for i in insts}
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") in namespaces:
                total += _cpu_ticks(pid)
        except OSError:
            continue  # gone meanwhile
    return total / os.sysconf("SC_CLK_TCK")


def reap_orphans() -> None:
    """ssh ControlMaster processes daemonize; as a child subreaper we inherit them. End and
    reap them so that their CPU time is counted as the client's (RUSAGE_CHILDREN)."""
    me = str(os.getpid())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        try:
            ssh = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == b"ssh"
        except OSError:
            continue
        if ppid == me and ssh:  # never the instances (our children too)
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGTERM)
                os.waitpid(int(pid), 0)


@dataclass
class Run:
    wall: float
    client_cpu: float  # the command and everything it started (ssh for Ansible), reaped
    target_cpu: float  # sshd, the shells and the probes on the targets


def timed(
    argv: list[str], env: dict[str, str], insts: list[Instance], ok: tuple[int, ...] = (0, 1)
) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    target_before = target_cpu(insts)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, check=False, env=env)
    elapsed = time.perf_counter() - t0
    target_after = target_cpu(insts)  # before reaping: ending a master ends its session
    reap_orphans()
    if proc.returncode not in ok:
        out = (proc.stdout + proc.stderr).decode(errors="replace")[-600:]
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {out}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(elapsed, client, target_after - target_before)


def ansible_files(tmp: Path, ports: list[int], key: Path, known: Path) -> tuple[Path, Path]:
    """An inventory of the instances and a playbook running the probe on each."""
    inventory = tmp / "hosts.ini"
    inventory.write_text(
        "[builders]\n"
        + "".join(
            f"b{i} ansible_host=127.0.0.1 ansible_port={p} ansible_user=root"
            f" ansible_ssh_private_key_file={key}\n"
            for i, p in enumerate(ports)
        )
        + "[builders:vars]\nansible_python_interpreter=/usr/bin/python3\n"
    )
    script = tmp / "probe.sh"
    script.write_bytes(probe.script())
    args = probe.probe_args("/", True, probe.ProbeConfig(imds_mode="never"))
    playbook = tmp / "check.yml"
    playbook.write_text(
        "- hosts: builders\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: gather the facts the wizard's checks judge (its own probe)\n"
        "      ansible.builtin.script:\n"
        f"        cmd: {json.dumps(shlex.join([str(script), *args]))}\n"
        "        executable: /bin/sh\n"
        "      register: probe\n"
        "      changed_when: false\n"
    )
    (tmp / "ansible.cfg").write_text(
        "[defaults]\n"
        "forks = 20\nhost_key_checking = True\nstdout_callback = default\n"
        f"local_tmp = {tmp}/ansible-local\n"
        "[ssh_connection]\n"
        f"ssh_args = -F /dev/null -o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes"
        " -o IdentitiesOnly=yes -o ControlMaster=auto -o ControlPersist=60s\n"
        "pipelining = True\n"
    )
    return inventory, playbook


def killed_among(
    many: list[str], env: dict[str, str], insts: list[Instance], tmp: Path
) -> dict[str, Any]:
    """The fleet run once more with its first target killed mid-audit and its last one a
    port nobody listens on: the other 18 must finish, both must be reported, exit code 2."""
    last = f"ssh://root@127.0.0.1:{insts[-1].port}"
    argv = [f"ssh://root@127.0.0.1:{free_port()}" if a == last else a for a in many]
    argv[argv.index("--out-dir") + 1] = str(tmp / "out-killed")
    offset = insts[0].log_offset()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while insts[0].count_session_channels(offset) == 0 and proc.poll() is None:
        time.sleep(0.005)
    insts[0].stop()
    code = proc.wait(timeout=600)
    summary = json.loads((tmp / "out-killed" / "summary.json").read_text())
    states = [t["state"] for t in summary["targets"]]
    return {
        "exit_code": code,
        "wall_s": round(time.perf_counter() - t0, 3),
        "first": states[0],
        "last": states[-1],
        "others_done": sum(s == "done" for s in states[1:-1]),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    missing = missing_requirements()
    if missing:
        print(f"cannot run: {missing}", file=sys.stderr)
        return 2
    if not (BIN / "ansible-playbook").exists():
        print(
            "cannot run: ansible-core is not installed (pip install -e '.[dev]')", file=sys.stderr
        )
        return 2
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    with tempfile.TemporaryDirectory() as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        key = tmp / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        insts = [stack.enter_context(Instance(tmp)) for _ in range(args.hosts)]
        for inst in insts:
            inst.exec(["mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", "/root"])
            seed(inst, key.with_suffix(".pub").read_text())
        known = tmp / "known_hosts"
        known.write_text("".join(i.host_key_line() + "\n" for i in insts))
        (tmp / "config.yaml").write_text(CONFIG)
        env = {
            **os.environ,
            "AMI_WIZARD_CONFIG": str(tmp / "config.yaml"),
            "ANSIBLE_CONFIG": str(tmp / "ansible.cfg"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp / "cp-warm"),
            "HOME": str(tmp),
        }
        targets = [f"ssh://root@127.0.0.1:{i.port}" for i in insts]
        ssh = ["-i", str(key), "--known-hosts", str(known)]
        wizard = [sys.executable, "-m", "wizard.cli", "audit"]
        one = [*wizard, targets[0], *ssh, "--format", "json", "-o", "/dev/null"]
        many = [
            *wizard, *targets, *ssh, "--jobs", str(args.hosts),
            "--out-dir", str(tmp / "out"), "--format", "json", "-o", "/dev/null",
        ]  # fmt: skip
        inventory, playbook = ansible_files(tmp, [i.port for i in insts], key, known)
        ansible = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)]
        commands = {"one": (one, (0, 1)), "fleet": (many, (0, 1)), "ansible": (ansible, (0,))}
        for argv, ok in commands.values():
            timed(argv, env, insts, ok)  # warm caches (and Ansible's control sockets) once
        runs: dict[str, list[Run]] = {k: [] for k in commands}
        for n in range(args.runs):
            for name, (argv, ok) in commands.items():
                # Every Ansible run starts cold, as a pipeline job does: no ControlMaster left.
                env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(tmp / f"cp{n}")
                runs[name].append(timed(argv, env, insts, ok))
        summary = json.loads((tmp / "out" / "summary.json").read_text())
        states = sorted({t["state"] for t in summary["targets"]})
        among = killed_among(many, env, insts, tmp)

        def med(name: str, field: str) -> float:
            return statistics.median(getattr(r, field) for r in runs[name])

        wall = {k: med(k, "wall") for k in runs}
        client = {k: med(k, "client_cpu") for k in runs}
        target = {k: med(k, "target_cpu") for k in runs}
        cores = os.cpu_count() or 1
        result = {
            "hosts": args.hosts,
            "runs": args.runs,
            "cpus": cores,
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "wall_s": {k: round(v, 3) for k, v in wall.items()},
            "client_cpu_s": {k: round(v, 3) for k, v in client.items()},
            "target_cpu_s": {k: round(v, 3) for k, v in target.items()},
            "fleet_over_one": round(wall["fleet"] / wall["one"], 2),
            "ansible_over_fleet": round(wall["ansible"] / wall["fleet"], 2),
            "ansible_over_fleet_client_cpu": round(client["ansible"] / client["fleet"], 2),
            "fleet_target_states": states,
            "one_killed_one_unreachable": among,
            "all_wall_s": {k: [round(r.wall, 3) for r in v] for k, v in runs.items()},
        }
        print(json.dumps(result, indent=2))
        print(
            f"{args.hosts} targets, --jobs {args.hosts}: {wall['fleet']:.2f} s vs one audit "
            f"{wall['one']:.2f} s → {wall['fleet'] / wall['one']:.2f}× (goal ≤ 2×); Ansible "
            f"forks=20, same probe: {wall['ansible']:.2f} s → {wall['ansible'] / wall['fleet']:.1f}×"
            f" the fleet's time (goal ≥ 5×). Targets' own CPU per fleet run: {target['fleet']:.1f} s"
            f" on {cores} cores shared with the client"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
