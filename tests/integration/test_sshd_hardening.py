"""sshd-hardening on a real OpenSSH instance: off until turned on, then judged from sshd -T,
applied through the sshd transaction, passing on the re-audit, and a plain `ssh` login (the
operator's own OpenSSH client) still works afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.integration.conftest import ClientKey
from tests.integration.instance import Instance
from wizard.config import Config
from wizard.engine import audit
from wizard.model import Finding, Status
from wizard.results import AuditResult
from wizard.session import Session
from wizard.targets import Target

ID = "sshd-hardening"
WEAK = (
    "Ciphers aes128-cbc,aes128-ctr\n"
    "MACs hmac-sha1,hmac-sha2-256\n"
    "MaxAuthTries 6\n"
    "LoginGraceTime 2m\n"
    "X11Forwarding yes\n"
)


def finding(result: AuditResult | None) -> Finding:
    assert result is not None
    return next(f for f in result.findings if f.id == ID)


def sshd_t(inst: Instance) -> dict[str, str]:
    out = inst.exec(["sshd", "-T"]).stdout.decode()
    return dict(line.partition(" ")[::2] for line in out.split("\n") if line)


def ssh_login(
    inst: Instance, key: ClientKey, known_hosts: Path
) -> subprocess.CompletedProcess[str]:
    """The operator's OpenSSH client, with its own default algorithm lists."""
    return subprocess.run(
        [
            "ssh",
            "-F", "/dev/null",
            "-i", str(key.path),
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-p", str(inst.port),
            "root@127.0.0.1",
            "echo logged-in",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip


def test_enable_apply_reaudit_passes_and_ssh_still_logs_in(
    instance: Instance, ssh_target: Target, client_key: ClientKey, known_hosts: Path
) -> None:
    config = instance.read("/etc/ssh/sshd_config").decode()
    instance.write("/etc/ssh/sshd_config", WEAK + config)
    assert sshd_t(instance)["ciphers"] == "aes128-cbc,aes128-ctr"

    # Off by default: not selected, never a pass, even with weak settings.
    assert finding(audit(ssh_target)).status is Status.SKIP

    session = Session(ssh_target, Config(selected=(ID,)))
    before = finding(session.audit())
    assert before.status is Status.WARN
    assert "Ciphers offers aes128-cbc (sshd -T)" in before.summary
    assert "MACs offers hmac-sha1" in before.summary and "MaxAuthTries is 6" in before.summary
    # the probe asked this OpenSSH what it supports
    assert "chacha20-poly1305@openssh.com" in session.latest.facts.ssh_algorithms["cipher"]

    outcome = session.apply({ID: "apply-baseline"}, include_final=False)
    assert outcome.ok, outcome.errors
    after = finding(session.after)
    assert after.status is Status.PASS, after.summary

    live = sshd_t(instance)
    assert "cbc" not in live["ciphers"] and "hmac-sha1" not in live["macs"].split(",")
    assert live["maxauthtries"] == "3" and live["logingracetime"] == "30"
    assert live["x11forwarding"] == "no"
    supported = set(session.latest.facts.ssh_algorithms["kex"])
    assert set(live["kexalgorithms"].split(",")) <= supported

    login = ssh_login(instance, client_key, known_hosts)
    assert login.returncode == 0 and "logged-in" in login.stdout, login.stderr

    # undo brings the old settings back, byte for byte
    session.undo()
    assert sshd_t(instance)["ciphers"] == "aes128-cbc,aes128-ctr"
