"""What the wizard prints and writes about a real instance: secrets masked everywhere, and
file names that are not UTF-8 carried through apply (issue 10, items 14 and 15).

Secrets are planted where an operator's sshd_config or a user's home really holds them; every
output (stdout, stderr, audit formats, report files, the journal dir) is then searched for the
full secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import ClientKey
from tests.integration.instance import Instance
from tests.integration.test_audit import seed_unprepared
from wizard.config import state_dir
from wizard.demo import EXAMPLE_KEY_ID, EXAMPLE_SECRET

pytestmark = pytest.mark.sshd

# Made-up secrets of every shape the issue names (none of them is a real credential).
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GITHUB_FINE = "github_pat_" + "11ABCDE2F0" + "x" * 20 + "_" + "Y7" * 20
GITLAB = "glpat-" + "Zq9xW8vU7tS6rR5pQ4oN"
SLACK = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKl"
SSHD_PASSWORD = "Ex4mple-Break-Glass-2024"
FORCE_PASSWORD = "S3cretSyncPassw0rd"
AWS_ID = "AKIA" + "Q3EXAMPLE7ZZX2W9"
AWS_SECRET = "q8Lm2Xv9Rt4Yb7Np1Kd6Wf3Hs0Jc5Ge8Ua2Zi7Ox"
SECRETS = [GITHUB, GITHUB_FINE, GITLAB, SLACK, SSHD_PASSWORD, FORCE_PASSWORD, AWS_ID, AWS_SECRET]


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args],
        capture_output=True,
        timeout=300,
        check=False,
    )


def _plant_secrets(inst: Instance) -> None:
    """sshd_config lines next to the ones the fixes change (so the dry-run diff quotes them),
    and a user's files whose names and contents hold tokens."""
    seed_unprepared(inst)
    config = inst.read("/etc/ssh/sshd_config").decode()
    first, _, rest = config.partition("\n")  # "PermitRootLogin yes" from seed_unprepared
    inst.write(
        "/etc/ssh/sshd_config",
        f"{first}\n"
        f"# break-glass root password={SSHD_PASSWORD} (rotate me)\n"
        f"SetEnv GITHUB_TOKEN={GITHUB} GITLAB_TOKEN={GITLAB}\n"
        f"SetEnv AWS_ACCESS_KEY_ID={AWS_ID} AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"
        f"# slack {SLACK} fine-grained {GITHUB_FINE}\n"
        f"{rest}"
        f"Match User deploy\n  ForceCommand /usr/local/bin/sync --password {FORCE_PASSWORD}\n",
    )
    inst.useradd("mallory")
    inst.exec(
        [
            "setpriv",
            "--reuid=mallory",
            "--regid=mallory",
            "--init-groups",
            "sh",
            "-c",
            'cd /home/mallory && echo "export GH=$1" > ".$1_history" && echo "token=$1" > .netrc',
            "plant",
            GITHUB,
        ]
    )


def _all_output(*procs: subprocess.CompletedProcess[bytes], dirs: list[Path]) -> bytes:
    out = b"".join(p.stdout + p.stderr for p in procs)
    for folder in dirs:
        for path in folder.rglob("*"):
            if path.is_file():
                out += path.read_bytes()
    return out


def test_secrets_are_masked_in_every_output(
    instance: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path
) -> None:
    _plant_secrets(instance)
    target = f"ssh://root@127.0.0.1:{instance.port}"
    ssh = ["-i", str(client_key.path), "--known-hosts", str(known_hosts)]
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    procs = [
        _cli("audit", target, "--format", fmt, "-o", str(outputs / f"audit.{fmt}"), *ssh)
        for fmt in ("json", "md", "sarif", "junit")
    ]
    procs.append(_cli("audit", target, "--format", "md", *ssh))
    dry = _cli("apply", target, "--recommended", "--dry-run", *ssh)
    assert dry.returncode in (0, 1), dry.stderr
    # the dry run really shows the planted sshd_config lines, masked
    assert b"SetEnv GITHUB_TOKEN=ghp_****" in dry.stdout
    assert b"password=Ex4m****" in dry.stdout
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "schema: ami-wizard/plan/v1\nchoices:\n"
        "  root-ssh-login: prohibit-password\n  shell-history: shred\n"
    )
    applied = _cli(
        "apply", target, "--plan", str(plan), "--yes", "--report", str(outputs / "r"), *ssh
    )
    assert b"root-ssh-login: fail -> pass" in applied.stdout, applied.stdout + applied.stderr
    assert (outputs / "r.json").is_file() and list(state_dir().rglob("*.jsonl"))
    everything = _all_output(*procs, dry, applied, dirs=[outputs, state_dir()])
    for secret in [*SECRETS, EXAMPLE_KEY_ID, EXAMPLE_SECRET]:
        assert secret.encode() not in everything, secret
        assert secret[:4].encode() + b"****" in everything, secret


def test_history_and_credential_names_that_are_not_utf8_are_removed_in_the_final_phase(
    instance: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path
) -> None:
    instance.useradd("mallory")
    names = [b".bad\xff\xfe_history", b".\xe9t\xe9_history", b".ok\x1b[31m_history"]
    script = b'cd /home/mallory && for n in "$@"; do printf "secret\\n" > "$n"; done'
    instance.exec(
        [
            "setpriv",
            "--reuid=mallory",
            "--regid=mallory",
            "--init-groups",
            "sh",
            "-c",
            os.fsdecode(script),
            "plant",
            *(os.fsdecode(n) for n in names),
        ]
    )
    credential = b"/home/mallory/.aws/cr\xe9dentials\xff"
    instance.write(
        os.fsdecode(credential),
        f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n",
        mode=0o600,
        owner="mallory",
    )
    upper_home = instance.upper / "home" / "mallory"
    assert all((upper_home / os.fsdecode(n)).exists() for n in names)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "schema: ami-wizard/plan/v1\nchoices:\n  shell-history: shred\n"
        "  bundle-credentials: delete\n"
    )
    target = f"ssh://root@127.0.0.1:{instance.port}"
    ssh = ["-i", str(client_key.path), "--known-hosts", str(known_hosts)]
    proc = _cli(
        "apply", target, "--plan", str(plan), "--yes", "--report", str(tmp_path / "r"), *ssh
    )
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode(errors="replace")
    assert b"shell-history: fail -> pass" in proc.stdout
    assert b"bundle-credentials: fail -> pass" in proc.stdout
    assert not instance.exists(os.fsdecode(credential))
    listing = instance.exec(["ls", "-a", "/home/mallory"]).stdout
    assert not any(n in listing for n in names), listing
    proc.stdout.decode("utf-8")  # what we print is valid UTF-8
    (tmp_path / "r.json").read_text(encoding="utf-8")


def test_secret_quoted_by_a_failed_apply_is_masked_in_errors_and_journal(
    instance: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path
) -> None:
    # A line sshd cannot parse (so `sshd -t` fails and quotes it) that holds a token: the
    # change is refused, and the error line, the journal and the report must mask it.
    seed_unprepared(instance)
    config = instance.read("/etc/ssh/sshd_config").decode()
    instance.write("/etc/ssh/sshd_config", f"{GITHUB} {SSHD_PASSWORD}\n" + config)
    plan = tmp_path / "plan.yaml"
    plan.write_text("schema: ami-wizard/plan/v1\nchoices:\n  root-ssh-login: prohibit-password\n")
    target = f"ssh://root@127.0.0.1:{instance.port}"
    ssh = ["-i", str(client_key.path), "--known-hosts", str(known_hosts)]
    outputs = tmp_path / "outputs"  # tmp_path also holds the instance's own files
    outputs.mkdir()
    proc = _cli("apply", target, "--plan", str(plan), "--report", str(outputs / "r"), *ssh)
    assert proc.returncode == 1, (proc.stdout + proc.stderr).decode(errors="replace")
    assert b"error: sshd -t rejected" in proc.stdout
    everything = _all_output(proc, dirs=[outputs, state_dir()])
    assert GITHUB.encode() not in everything and SSHD_PASSWORD.encode() not in everything
