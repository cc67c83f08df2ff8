"""test-boot end to end, on a real Debian image: prepare it as EC2's builder instance would be
prepared, then launch it twice and prove every launch is its own.

The builder is the unpacked test image booted under systemd-nspawn in a network namespace with
an IMDSv2 stub on loopback; ami-wizard prepares it over SSH from inside that namespace (first a
plan that installs the root-password unit, then a reboot of the builder so the first-boot units
run on it and leave their stamps, then `apply --recommended --yes` with the final phase), and it
is powered off. `ami-wizard test-boot` then boots two throw-away copies of that disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from checks import _plans
from tests.integration import testimage
from tests.integration.conftest import ClientKey, require
from wizard.probe_parse import parse_public_keys
from wizard.testboot_imds import LaunchMetadata, MetadataStub
from wizard.testboot_nspawn import Container, listen, netns, overlay

REPO = Path(__file__).resolve().parents[2]
PORT = 8775  # the stub's port inside each namespace (every namespace has its own ports)
ENDPOINT = f"http://127.0.0.1:{PORT}"
USER = testimage.BUILDER_USER


def requirements() -> str | None:
    for tool in ("systemd-nspawn", "ip", "nsenter"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/test.sh installs it)"
    return testimage.missing()


def _env(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AMI_WIZARD_IMDS_ENDPOINT": ENDPOINT,
        "AMI_WIZARD_CONFIG": str(work / "no-config.yaml"),
        "XDG_STATE_HOME": str(work / "state"),
        "XDG_CONFIG_HOME": str(work / "config"),
    }


def wizard(
    *args: str, env: dict[str, str], netns_name: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "wizard.cli", *args]
    if netns_name:
        argv = ["ip", "netns", "exec", netns_name, *argv]
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _owner(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise AssertionError(f"no {user} in the image")


def _plant(root: Path, path: str, text: str, user: str = "root", mode: int = 0o600) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    uid, gid = _owner(root, user)
    os.chown(target, uid, gid)
    os.chmod(target, mode)


def _host_keys(root: Path) -> frozenset[str]:
    out = set()
    for pub in (root / "etc/ssh").glob("ssh_host_*_key.pub"):
        out |= {k.fingerprint for k in parse_public_keys(str(pub), pub.read_text())}
    return frozenset(out)


@dataclass(frozen=True)
class Variant:
    """How the launch key reaches a launch: the IMDSv2 fetch unit, or cloud-init (NoCloud)."""

    name: str
    recipe: testimage.Recipe
    user: str  # who logs in: the builder's operator, then each launch's key holder
    plan: str  # choices applied before the builder's reboot


VARIANTS = {
    "imds": Variant(
        "imds",
        testimage.BASE,
        USER,
        "  root-password: lock-and-randomise-at-first-boot\n  launch-key: imds-fetch-unit\n",
    ),
    # cloud-init makes Debian's default user `debian` and gives it the launch key.
    "cloud-init": Variant(
        "cloud-init",
        testimage.CLOUD_INIT,
        "debian",
        "  root-password: lock-and-randomise-at-first-boot\n",
    ),
}


@dataclass(frozen=True)
class Prepared:
    root: Path  # the builder's disk after preparation: the image to share
    builder_host_keys: frozenset[str]
    builder_machine_id: str
    operator_key: ClientKey
    env: dict[str, str]
    variant: Variant


def _seed(root: Path, instance_id: str, public_line: str) -> Path:
    """The builder's own NoCloud seed (on EC2 this comes from outside the disk)."""
    seed = root / "var/lib/cloud/seed/nocloud"
    seed.mkdir(parents=True)
    (seed / "meta-data").write_text(
        f"instance-id: {instance_id}\npublic-keys:\n  - {public_line}\n"
    )
    (seed / "user-data").write_text("#cloud-config\n{}\n")
    return seed


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def prepared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey
) -> Prepared:
    require(requirements())
    variant = VARIANTS[request.param]
    tar = testimage.image(variant.recipe)
    work = tmp_path_factory.mktemp(f"builder-{variant.name}")
    root = work / "root"
    root.mkdir()
    subprocess.run(["tar", "-xpf", str(tar), "--numeric-owner", "-C", str(root)], check=True)
    builder_id = "i-0b0113de0000b0113"
    seed = None
    if variant.recipe is testimage.CLOUD_INIT:
        seed = _seed(root, builder_id, client_key.public_line)
    else:
        home = root / f"home/{USER}"
        uid, gid = _owner(root, USER)
        (home / ".ssh").mkdir(mode=0o700)
        os.chown(home / ".ssh", uid, gid)
        _plant(root, f"/home/{USER}/.ssh/authorized_keys", client_key.public_line + "\n", USER)
    _plant(root, f"/home/{USER}/.bash_history", "aws configure\nsudo -i\n", USER)
    _plant(root, "/root/.bash_history", "passwd\n")
    env = _env(work)
    builder_keys = set(_host_keys(root))
    known_hosts = work / "known_hosts"
    plan = work / "plan.yaml"
    plan.write_text("schema: ami-wizard/plan/v1\nchoices:\n" + variant.plan)
    ssh = ["-i", str(client_key.path), "--known-hosts", str(known_hosts)]
    target = f"ssh://{variant.user}@127.0.0.1"
    meta = LaunchMetadata(builder_id, "ami-0debian12base0", client_key.public_line)
    with (
        netns(f"amiwiz-e2e{os.getpid()}-{variant.name}") as ns,
        MetadataStub(meta, lambda: listen(ns, "127.0.0.1", PORT)),
    ):
        box = Container(root, ns, ns, work / "console.log")
        try:
            box.boot()
            # cloud-init may have replaced the host keys on this first boot: trust what
            # the builder serves now (read from its disk, which is ours).
            builder_keys |= _host_keys(root)
            ed25519 = (root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2]
            known_hosts.write_text(f"127.0.0.1 {' '.join(ed25519)}\n")
            first = wizard(
                "apply", target, "--plan", str(plan), "--yes", *ssh, env=env, netns_name=ns
            )
            assert first.returncode in (0, 1), first.stdout + first.stderr
            # The trap of seed 001: the builder reboots with the units installed, so they
            # run on the builder and leave their stamps in what becomes the image.
            box.poweroff()
            box.boot()
            machine_id = box.run(["cat", "/etc/machine-id"]).stdout.strip()
            final = wizard("apply", target, "--recommended", "--yes", *ssh, env=env, netns_name=ns)
            assert "final phase" in final.stderr, final.stdout + final.stderr
        finally:
            box.poweroff()
    if seed is not None:
        shutil.rmtree(seed)  # EC2's metadata is not part of the image
    return Prepared(root, frozenset(builder_keys), machine_id, client_key, env, variant)


def run_test_boot(image: str, env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any], Path]:
    out = Path(env["XDG_STATE_HOME"]).parent / f"test-boot-{time.monotonic_ns()}.json"
    result = wizard("test-boot", image, "--format", "json", "-o", str(out), *extra, env=env)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(out.read_text()), out


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["checks"]}


def test_two_launches_of_the_prepared_image_are_each_their_own(prepared: Prepared) -> None:
    marker = prepared.root.parent / "marker"
    marker.write_text("")
    key = str(prepared.operator_key.path)
    stem = prepared.root.parent / f"checklist-{time.monotonic_ns()}"
    code, report, out = run_test_boot(
        f"image:{prepared.root}",
        prepared.env,
        "--refuse-key",
        key,
        "--sign-key",
        key,
        "--report",
        str(stem),
    )
    # The report is signed when asked: ssh-keygen accepts the signature.
    signers = out.parent / "allowed_signers"
    signers.write_text(f"operator {prepared.operator_key.public_line}\n")
    with out.open("rb") as fh:
        verify = subprocess.run(
            [
                "ssh-keygen",
                "-Y",
                "verify",
                "-f",
                str(signers),
                "-I",
                "operator",
                "-n",
                "ami-wizard",
                "-s",
                f"{out}.sig",
            ],
            stdin=fh,
            capture_output=True,
            text=True,
            check=False,
        )
    assert verify.returncode == 0, verify.stderr
    # --report: the checklist of the image as shipped, with the same test-boot in it (signed).
    checklist = json.loads(stem.with_suffix(".json").read_text())
    assert checklist["schema"] == "ami-wizard/report/v1"
    assert checklist["test_boot"]["booted"] is True
    assert [f["id"] for f in checklist["test_boot"]["findings"]] == [
        c["id"] for c in report["checks"]
    ]
    assert len(checklist["test_boot"]["launches"]) == 2
    assert "## Test-boot" in stem.with_suffix(".md").read_text()
    assert all(Path(f"{stem}.{fmt}.sig").exists() for fmt in ("json", "md", "html"))
    status = statuses(report)
    bad = {k: v for k, v in status.items() if v in ("fail", "error")}
    assert code == 0 and not bad, json.dumps(
        [c for c in report["checks"] if c["id"] in bad], indent=1
    )
    for n in (1, 2):
        for what in (
            "first-boot-units",
            "sshd",
            "launch-key-login",
            "refused-logins",
            "reboot-launch-key",
            "reboot-identity",
        ):
            assert status[f"launch-{n}/{what}"] == "pass", (n, what)
        # The fetch unit proves IMDSv2; cloud-init's NoCloud seed is only a stand-in for EC2.
        imds = prepared.variant.name == "imds"
        assert status[f"launch-{n}/metadata"] == ("pass" if imds else "info")
    for what in ("host-keys", "machine-id", "root-password"):
        assert status[f"launches/{what}"] == "pass"
    # The builder's reboot left the root-password stamp: the audit warned and the wizard's
    # plan deleted it. The launch-key stamp is keyed to the builder's instance id and stays
    # (named, harmless): the units ran on both launches.
    assert not (prepared.root / _plans.ROOT_PASSWORD_STAMP.lstrip("/")).exists()
    imds = prepared.variant.name == "imds"
    assert (prepared.root / _plans.LAUNCH_KEY_STAMP.lstrip("/")).exists() == imds
    assert status["image/stamps"] == ("warn" if imds else "pass")
    one, two = report["launches"]
    keys_one, keys_two = set(one["host_keys"].values()), set(two["host_keys"].values())
    assert keys_one and keys_two and not keys_one & keys_two
    assert not (keys_one | keys_two) & prepared.builder_host_keys
    assert one["machine_id"] != two["machine_id"]
    assert prepared.builder_machine_id not in (one["machine_id"], two["machine_id"])
    # Randomised per launch (then locked): the two root hashes differ.
    assert one["root_password"] != two["root_password"]
    assert one["user"] == two["user"] == prepared.variant.user
    # The image itself was never written by the boots.
    newer = subprocess.run(
        ["find", str(prepared.root), "-newer", str(marker)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert newer.stdout == ""


@pytest.fixture
def planted(tmp_path: Path, prepared: Prepared) -> Iterator[Path]:
    """A copy-on-write view of the prepared image to plant a builder leftover in."""
    with overlay(prepared.root, tmp_path) as (merged, _upper):
        yield merged


@pytest.mark.parametrize(
    ("path", "text", "owner", "failing"),
    [
        ("/var/lib/root-password-firstboot.done", "", "root", "image/stamps"),
        (f"/home/{USER}/.bash_history", "ssh-add ~/deploy\n", USER, "image/shell-history"),
        (f"/home/{USER}/.ssh/authorized_keys", None, USER, "image/authorized-keys"),
    ],
    ids=["root-password-stamp", "builder-history", "old-authorized-keys"],
)
@pytest.mark.parametrize("prepared", ["imds"], indirect=True)
def test_a_builder_leftover_makes_test_boot_fail(
    planted: Path, prepared: Prepared, path: str, text: str | None, owner: str, failing: str
) -> None:
    uid, gid = _owner(planted, owner)
    ssh_dir = planted / f"home/{USER}/.ssh"
    if not ssh_dir.exists():
        ssh_dir.mkdir(mode=0o700)
        os.chown(ssh_dir, uid, gid)
    _plant(
        planted, path, text if text is not None else prepared.operator_key.public_line + "\n", owner
    )
    code, report, _ = run_test_boot(
        f"image:{planted}",
        prepared.env,
        "--launches",
        "1",
        "--no-reboot",
        "--refuse-key",
        str(prepared.operator_key.path),
    )
    status = statuses(report)
    assert code == 1
    assert status[failing] == "fail"
    if failing == "image/authorized-keys":
        # The old key is not only reported: it really still logs in on the launch.
        assert status["launch-1/refused-logins"] == "fail"
