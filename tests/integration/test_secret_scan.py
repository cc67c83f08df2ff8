"""The content-based secret scan on a real instance (issue 13, item 1): one secret of each
category planted where real images leak them, one audit in every format, and per category:
found (path, kind, line, masked prefix) and never shown beyond its first four characters.

All values are made up; none is a real credential.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import ClientKey, require
from tests.integration.instance import Instance, missing_requirements
from wizard.config import state_dir

pytestmark = pytest.mark.sshd


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    content: str
    line: int  # the line the secret is on
    label: str  # the evidence's words for the kind (checks/bundle_credentials.HIT_KINDS)
    secret: str
    owner: str = "root"


KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
CASES = [
    Case(
        "key-any-name-in-opt",
        "/opt/deploy_key",
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n",
        1,
        "private key block",
        KEY_BODY,
    ),
    Case(
        "key-in-orphan-home",
        "/home/ghost/backup/old.pem",
        f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY[::-1]}\n-----END RSA PRIVATE KEY-----\n",
        1,
        "private key block",
        KEY_BODY[::-1],
    ),
    Case(
        "aws-in-etc-environment",
        "/etc/environment",
        'PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
        "AWS_ACCESS_KEY_ID=AKIAQ7PLANTED3ENV9XZ\n"
        "AWS_SECRET_ACCESS_KEY=Zr8pLm2Qx9Vt4Yb7Np1Kd6Wf3Hs0Jc5Ge8Ua2Zi7\n",
        2,
        "AWS access key id",
        "AKIAQ7PLANTED3ENV9XZ",
    ),
    Case(
        "aws-secret-in-etc-environment",
        "/etc/environment",
        "",  # planted with the case above
        3,
        "AWS secret access key",
        "Zr8pLm2Qx9Vt4Yb7Np1Kd6Wf3Hs0Jc5Ge8Ua2Zi7",
    ),
    Case(
        "unit-environment",
        "/etc/systemd/system/billing.service",
        "[Unit]\nDescription=billing\n[Service]\nEnvironment=DB_PASSWORD=UnitPw4Billing77\n"
        "ExecStart=/bin/true\n",
        4,
        "Environment= secret",
        "UnitPw4Billing77",
    ),
    Case(
        "github-token-in-srv",
        "/srv/app/config/settings.yml",
        "app:\n  name: shop\n  github_token: ghp_Pl4nt3dT0k3nF0rTh3Sc4nT3st0000AbCdEf\n",
        3,
        "GitHub token",
        "ghp_Pl4nt3dT0k3nF0rTh3Sc4nT3st0000AbCdEf",
    ),
    Case(
        "netrc",
        "/root/.netrc",
        "machine ftp.example.com login deploy password NetrcPw9988x\n",
        1,
        "netrc password",
        "NetrcPw9988x",
    ),
    Case(
        "pgpass",
        "/home/builder/.pgpass",
        "# host:port:db:user:password\ndb.example.com:5432:shop:deploy:PgPassw0rd55x\n",
        2,
        "PostgreSQL password",
        "PgPassw0rd55x",
        "builder",
    ),
    Case(
        "docker-config",
        "/home/builder/.docker/config.json",
        '{\n  "auths": {\n    "registry.example.com": {\n'
        '      "auth": "ZGVwbG95OkRvY2tlclB3OTk5OXg="\n    }\n  }\n}\n',
        4,
        "Docker registry login",
        "ZGVwbG95OkRvY2tlclB3OTk5OXg=",
        "builder",
    ),
    Case(
        "npmrc",
        "/home/builder/.npmrc",
        "registry=https://registry.npmjs.org/\n"
        "//registry.npmjs.org/:_authToken=npm_Pl4nt3dNpmT0k3nAbCdEfGhIjKlMnOpQrSt\n",
        2,
        "npm token",
        "npm_Pl4nt3dNpmT0k3nAbCdEfGhIjKlMnOpQrSt",
        "builder",
    ),
    Case(
        "cloud-init-user-data",
        "/var/lib/cloud/instances/i-0abc/user-data.txt",
        "#cloud-config\nchpasswd:\n  list: |\n    root:CloudInitPw4242\n  expire: false\n",
        4,
        "cloud-init password",
        "CloudInitPw4242",
    ),
]


@dataclass(frozen=True)
class Audited:
    doc: dict[str, object]
    everything: bytes  # stdout, stderr and every file written, all formats


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args], capture_output=True, timeout=300, check=False
    )


def _plant(inst: Instance) -> None:
    inst.useradd("builder")
    for case in CASES:
        if case.content:
            inst.write(case.path, case.content, mode=0o600, owner=case.owner)


@pytest.fixture(scope="module")
def audited(client_key: ClientKey) -> Iterator[tuple[Instance, Audited, list[str]]]:
    require(missing_requirements())
    with tempfile.TemporaryDirectory() as tmp, Instance(Path(tmp)) as inst:
        inst.authorize("root", client_key.public_line)
        _plant(inst)
        known = Path(tmp) / "known_hosts"
        known.write_text(inst.host_key_line() + "\n")
        ssh = ["-i", str(client_key.path), "--known-hosts", str(known)]
        target = f"ssh://root@127.0.0.1:{inst.port}"
        out = Path(tmp) / "out"
        out.mkdir()
        procs = [
            _cli("audit", target, "--format", fmt, "-o", str(out / f"a.{fmt}"), *ssh)
            for fmt in ("json", "md", "sarif", "junit")
        ]
        for proc in procs:
            assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
        everything = b"".join(p.stdout + p.stderr for p in procs)
        for path in [*out.iterdir(), *state_dir().rglob("*")]:
            if path.is_file():
                everything += path.read_bytes()
        doc = json.loads((out / "a.json").read_text())
        yield inst, Audited(doc, everything), [target, *ssh]


def _finding(doc: dict[str, object]) -> dict[str, object]:
    checks = doc["checks"]
    assert isinstance(checks, list)
    return next(c for c in checks if c["id"] == "bundle-credentials")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_category_is_found_and_masked(
    audited: tuple[Instance, Audited, list[str]], case: Case
) -> None:
    _, result, _ = audited
    finding = _finding(result.doc)
    assert finding["status"] == "fail"
    evidence = finding["evidence"]
    assert isinstance(evidence, list)
    hits = [e for e in evidence if e["path"] == case.path and e["line"] == case.line]
    assert hits, [e for e in evidence if e["path"] == case.path] or evidence
    assert any(e["detail"].startswith(case.label) for e in hits), hits
    if not case.label.startswith("private key"):
        assert any(e["detail"].endswith(case.secret[:4] + "****") for e in hits), hits
    # nothing beyond the first four characters, in any format or state file
    assert case.secret.encode() not in result.everything
    assert case.secret[4:].encode() not in result.everything


def test_system_files_are_named_for_a_manual_edit(
    audited: tuple[Instance, Audited, list[str]],
) -> None:
    _, result, _ = audited
    evidence = _finding(result.doc)["evidence"]
    assert isinstance(evidence, list)
    heads = {e["path"]: e["detail"] for e in evidence if e["line"] == 0}
    for path in ("/etc/environment", "/etc/systemd/system/billing.service"):
        assert "edit the secret out by hand" in heads[path], heads[path]
    assert "by hand" not in heads["/opt/deploy_key"]


def test_a_scan_cut_by_max_files_warns(
    audited: tuple[Instance, Audited, list[str]], tmp_path: Path
) -> None:
    _, _, args = audited
    config = tmp_path / "config.yaml"
    config.write_text("probe:\n  max_files: 2\nimds:\n  mode: never\n")
    proc = subprocess.run(
        [sys.executable, "-m", "wizard.cli", "audit", *args, "--format", "json"],
        capture_output=True,
        timeout=300,
        check=False,
        env={"AMI_WIZARD_CONFIG": str(config), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode in (0, 1), proc.stderr
    finding = _finding(json.loads(proc.stdout))
    assert finding["status"] != "pass"
    assert "search incomplete: " in str(finding["summary"])
    assert "probe.max_files" in str(finding["summary"])


def test_delete_removes_the_key_and_keeps_system_files(
    instance: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path
) -> None:
    for case in CASES[:3] + CASES[4:5]:
        instance.write(case.path, case.content, mode=0o600)
    before = instance.read("/etc/environment")
    plan = tmp_path / "plan.yaml"
    plan.write_text("schema: ami-wizard/plan/v1\nchoices:\n  bundle-credentials: delete\n")
    target = f"ssh://root@127.0.0.1:{instance.port}"
    ssh = ["-i", str(client_key.path), "--known-hosts", str(known_hosts)]
    proc = _cli("apply", target, "--plan", str(plan), "--yes", *ssh)
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    assert "Traceback" not in out, out
    assert not instance.exists("/opt/deploy_key"), out
    assert not instance.exists("/home/ghost/backup/old.pem"), out
    assert instance.read("/etc/environment") == before
    assert instance.exists("/etc/systemd/system/billing.service")
    # what stays is what the operator must edit: the check still fails, and says why
    assert "bundle-credentials: fail -> fail" in out, out
