"""`ami-wizard audit` against a real OpenSSH server seeded like an unprepared AMI."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.integration.conftest import ClientKey
from tests.integration.instance import Instance
from wizard.demo import EXAMPLE_KEY_ID, EXAMPLE_SECRET

HOSTILE = ".$(touch PWNED)history"


def seed_unprepared(inst: Instance) -> None:
    """The flaws the issue names: root login and password auth on, a root password, host keys
    (the instance has them), authorized_keys (root's, for the test key), histories, AWS keys."""
    config = inst.read("/etc/ssh/sshd_config").decode()
    inst.write(
        "/etc/ssh/sshd_config",
        "PermitRootLogin yes\nPasswordAuthentication yes\n" + config,
    )
    inst.exec(["chpasswd"], input=b"root:not-a-good-root-password\n")
    inst.write("/root/.bash_history", "aws s3 ls\n", mode=0o600)
    inst.useradd("builder")
    inst.write("/home/builder/.python_history", "import os\n", mode=0o600, owner="builder")
    inst.write(f"/home/builder/{HOSTILE}", "ls\n", mode=0o600, owner="builder")
    inst.write(
        "/home/builder/.aws/credentials",
        f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n",
        mode=0o600,
        owner="builder",
    )


def audit(
    inst: Instance,
    key: ClientKey,
    known_hosts: Path,
    *extra: str,
    user: str = "root",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard.cli",
            "audit",
            f"ssh://{user}@127.0.0.1:{inst.port}",
            "-i",
            str(key.path),
            "--known-hosts",
            str(known_hosts),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def by_id(doc: dict) -> dict[str, dict]:
    return {c["id"]: c for c in doc["checks"]}


def test_unprepared_instance_fails_with_evidence(
    instance: Instance, client_key: ClientKey, known_hosts: Path
) -> None:
    seed_unprepared(instance)
    before = instance.upper_changes()
    offset = instance.log_offset()
    proc = audit(instance, client_key, known_hosts, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    # a full audit: at most 2 session channels after authentication
    assert 1 <= instance.count_session_channels(offset) <= 2
    assert EXAMPLE_KEY_ID not in proc.stdout + proc.stderr
    assert EXAMPLE_SECRET not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    checks = by_id(doc)
    for cid in (
        "root-ssh-login",
        "ssh-password-auth",
        "root-password",
        "ssh-host-keys",
        "authorized-keys",
        "shell-history",
        "bundle-credentials",
    ):
        assert checks[cid]["status"] == "fail", (cid, checks[cid])
        assert checks[cid]["evidence"], cid
    assert checks["root-ssh-login"]["evidence"][0]["path"] == "/etc/ssh/sshd_config"
    assert checks["root-ssh-login"]["evidence"][0]["line"] == 1
    history = {e["path"] for e in checks["shell-history"]["evidence"]}
    assert {
        "/root/.bash_history",
        "/home/builder/.python_history",
        f"/home/builder/{HOSTILE}",
    } <= history
    assert "AKIA****" in json.dumps(checks["bundle-credentials"])
    assert any(
        e["path"] == "/root/.ssh/authorized_keys" for e in checks["authorized-keys"]["evidence"]
    )
    assert doc["target"]["hostname"]
    # nothing executed from a file name, and the audit wrote nothing on the instance
    assert not any(c.path.endswith("PWNED") for c in instance.upper_changes())
    assert instance.upper_changes() == before


def test_live_target_is_cross_checked_with_sshd_t(
    instance: Instance, client_key: ClientKey, known_hosts: Path
) -> None:
    from wizard.engine import audit as run_audit
    from wizard.targets import ConnectOptions, open_target

    # A Match block the simple file view could miss is still read; sshd -T gives the truth.
    instance.write("/etc/ssh/sshd_config.d/00-first.conf", "PermitRootLogin no\n")
    options = ConnectOptions(
        identity=str(client_key.path), known_hosts=str(known_hosts), use_agent=False
    )
    with open_target(f"ssh://root@127.0.0.1:{instance.port}", options) as target:
        result = run_audit(target)
        assert target.channels_opened <= 2
    assert result.facts.sshd_t is not None, result.facts.sshd_t_error
    assert result.facts.sshd_t["permitrootlogin"] == ("no",)
    finding = next(f for f in result.findings if f.id == "root-ssh-login")
    assert finding.status.value == "pass"
    assert any("00-first.conf" in e.path for e in finding.evidence)


def test_unknown_host_key_is_refused(
    instance: Instance, client_key: ClientKey, tmp_path: Path
) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    offset = instance.log_offset()
    proc = audit(instance, client_key, empty, "--format", "json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "SHA256:" in proc.stderr and "--accept-new-host-key" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert empty.read_text() == ""
    assert instance.count_session_channels(offset) == 0


def test_non_root_operator_with_sudo(
    instance: Instance, client_key: ClientKey, known_hosts: Path
) -> None:
    instance.useradd("ops", sudo=True, nopasswd=True)
    instance.authorize("ops", client_key.public_line)
    instance.write("/root/.bash_history", "secret stuff\n", mode=0o600)
    proc = audit(instance, client_key, known_hosts, "--format", "json", user="ops")
    assert proc.returncode == 1, proc.stderr
    checks = by_id(json.loads(proc.stdout))
    # root-only files were read through sudo: shadow and /root
    assert checks["root-password"]["status"] != "error"
    assert "/root/.bash_history" in {e["path"] for e in checks["shell-history"]["evidence"]}


class _IMDSStub(http.server.BaseHTTPRequestHandler):
    token = "stub-token-123"
    seen: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_PUT(self) -> None:
        type(self).seen.append(f"PUT {self.path}")
        if self.path == "/latest/api/token" and self.headers.get(
            "X-aws-ec2-metadata-token-ttl-seconds"
        ):
            self._send(200, self.token)
        else:
            self._send(400, "bad")

    def do_GET(self) -> None:
        type(self).seen.append(f"GET {self.path}")
        if self.headers.get("X-aws-ec2-metadata-token") != self.token:
            self._send(401, "")
            return
        data = {
            "/latest/meta-data/instance-id": "i-0123456789abcdef0",
            "/latest/meta-data/ami-id": "ami-0fedcba9876543210",
        }
        if self.path in data:
            self._send(200, data[self.path])
        else:
            self._send(404, "")

    def _send(self, code: int, body: str) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture
def imds_stub() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _IMDSStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_instance_metadata_from_configured_endpoint(
    instance: Instance, client_key: ClientKey, known_hosts: Path, imds_stub: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"imds:\n  mode: always\n  endpoint: {imds_stub}\n")
    env = {"AMI_WIZARD_CONFIG": str(config), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    _IMDSStub.seen.clear()
    proc = audit(instance, client_key, known_hosts, "--format", "json", env=env)
    assert proc.returncode in (0, 1), proc.stderr
    target = json.loads(proc.stdout)["target"]
    assert target["instance_id"] == "i-0123456789abcdef0"
    assert target["ami_id"] == "ami-0fedcba9876543210"
    assert _IMDSStub.seen[0] == "PUT /latest/api/token"  # IMDSv2: token first


def test_metadata_not_read_off_ec2(
    instance: Instance, client_key: ClientKey, known_hosts: Path, imds_stub: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"imds:\n  mode: auto\n  endpoint: {imds_stub}\n")
    env = {"AMI_WIZARD_CONFIG": str(config), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    _IMDSStub.seen.clear()
    proc = audit(instance, client_key, known_hosts, "--format", "json", env=env)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["target"]["instance_id"] == ""
    assert _IMDSStub.seen == []  # this machine is not EC2: the endpoint was never asked
