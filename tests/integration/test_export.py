"""`ami-wizard export` run for real: the exported shell script under dash and busybox sh, and
the exported playbook under ansible-playbook, on real sshd instances seeded alike; each final
audit must equal the one `ami-wizard apply --plan` leaves on an identical instance.

Instances are module-scoped (each costs a start and a seed): one the wizard applies to, one
per engine. The plan is resolved on the dash instance over SSH; the same script then runs on
the busybox one, which is another machine of the same "source image" (portable identities).
After the final phase no new SSH login works, so the audits run inside each instance
(`audit local`, through nsenter), like the build instance itself would run them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import ClientKey, require
from tests.integration.instance import INSIDE_ENV, Instance, missing_requirements
from tests.integration.test_apply import cli, ours_left
from tests.integration.test_audit import seed_unprepared

PLAN = """\
schema: ami-wizard/plan/v1
choices:
  root-ssh-login: prohibit-password
  ssh-password-auth: disable
  root-password: lock
  machine-id: empty
  ssh-host-keys: delete-and-regenerate
  authorized-keys: clear
  bundle-credentials: delete
  shell-history: shred
"""
SSHD_CONFIG = "/etc/ssh/sshd_config"
REPO = Path(__file__).resolve().parents[2]
# Each instance mounts fresh file systems on /tmp, /run and /dev/shm: a checkout or venv under
# one of them (a CI clone in /tmp) is hidden inside, so it is bound read-only at SRC instead and
# the instance's python finds it through PYTHONPATH.
HIDDEN = (Path("/tmp"), Path("/run"), Path("/dev/shm"))
SRC = "/run/ami-test-src"
_SITE = Path(sys.prefix).resolve() / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"


def _hidden(path: Path) -> bool:
    return any(path.resolve().is_relative_to(d) for d in HIDDEN)


RELOCATE = _hidden(REPO) or _hidden(Path(sys.prefix))
PYTHON = sys._base_executable if RELOCATE else sys.executable  # type: ignore[attr-defined]
PY_ENV = (
    [
        f"PYTHONPATH={SRC}/repo:{SRC}/venv/{_SITE.relative_to(Path(sys.prefix).resolve())}/site-packages"
    ]
    if RELOCATE
    else []
)
WIZARD_BIN = f"{SRC}/bin" if RELOCATE else str(Path(sys.executable).parent)


def _bind_sources(inst: Instance) -> None:
    """Make the checkout and its venv visible inside the instance (read-only) when hidden."""
    if not RELOCATE:
        return
    assert inst.dir is not None
    merged = inst.dir / "merged"
    for source, name in ((REPO, "repo"), (Path(sys.prefix).resolve(), "venv")):
        where = f"{merged}{SRC}/{name}"
        for argv in (
            ["mkdir", "-p", where],
            ["mount", "--bind", str(source), where],
            ["mount", "-o", "remount,bind,ro", where],
        ):
            subprocess.run(["nsenter", "-t", str(inst.pid), "-m", "--", *argv], check=True)
    wrapper = f'#!/bin/sh\nexec env {" ".join(PY_ENV)} {PYTHON} -m wizard.cli "$@"\n'
    inst.write(f"{SRC}/bin/ami-wizard", wrapper, mode=0o755)


def _start(factory: pytest.TempPathFactory, key: ClientKey, name: str) -> Instance:
    require(missing_requirements())
    inst = Instance(factory.mktemp(name)).start()
    inst.authorize("root", key.public_line)
    seed_unprepared(inst)
    _bind_sources(inst)
    return inst


def _ssh(inst: Instance, key: ClientKey, tmp: Path) -> list[str]:
    known = tmp / f"known_hosts-{inst.port}"
    known.write_text(inst.host_key_line() + "\n")
    return [f"ssh://root@127.0.0.1:{inst.port}", "-i", str(key.path), "--known-hosts", str(known)]


def audit_inside(inst: Instance) -> dict[str, str]:
    """The audit as the instance itself sees it: check id -> status."""
    proc = inst.exec(
        [
            "env",
            "PYTHONDONTWRITEBYTECODE=1",
            *PY_ENV,
            PYTHON,
            "-m",
            "wizard.cli",
            "audit",
            "local",
            "--format",
            "json",
        ],
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return {c["id"]: c["status"] for c in json.loads(proc.stdout)["checks"]}


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "plan.yaml"
    path.write_text(PLAN)
    return path


@pytest.fixture(scope="module")
def wizard_audit(
    tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey, plan_file: Path
) -> Iterator[dict[str, str]]:
    """The final audit after `ami-wizard apply --plan` on its own instance."""
    inst = _start(tmp_path_factory, client_key, "wizard")
    try:
        ssh = _ssh(inst, client_key, tmp_path_factory.mktemp("w"))
        proc = cli("apply", ssh[0], "--plan", str(plan_file), "--yes", *ssh[1:])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield audit_inside(inst)
    finally:
        inst.stop()


@pytest.fixture(scope="module")
def dash_inst(
    tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey
) -> Iterator[Instance]:
    inst = _start(tmp_path_factory, client_key, "dash")
    yield inst
    inst.stop()


@pytest.fixture(scope="module")
def shell_script(
    dash_inst: Instance,
    client_key: ClientKey,
    plan_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """The plan exported to shell, resolved on the dash instance (probed, not changed)."""
    before = dash_inst.upper_changes()
    ssh = _ssh(dash_inst, client_key, tmp_path_factory.mktemp("d"))
    out = tmp_path_factory.mktemp("export") / "fixes.sh"
    proc = cli(
        "export",
        str(plan_file),
        "--to",
        "shell",
        "--from",
        ssh[0],
        *ssh[1:],
        "--yes",
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert dash_inst.upper_changes() == before  # exporting changes nothing on the reference
    return out.read_text()


def _run_script(inst: Instance, shell: list[str], script: str) -> tuple[int, str, str]:
    inst.write("/tmp/fixes.sh", script, mode=0o700)  # /tmp is a tmpfs: not in the image
    proc = inst.exec([*shell, "/tmp/fixes.sh"], check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_shell_export_without_yes_is_refused(
    plan_file: Path, dash_inst: Instance, client_key: ClientKey, tmp_path: Path
) -> None:
    ssh = _ssh(dash_inst, client_key, tmp_path)
    proc = cli("export", str(plan_file), "--to", "shell", "--from", ssh[0], *ssh[1:])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--yes" in proc.stderr and proc.stdout == ""


def test_shell_export_under_dash_matches_the_wizard_and_runs_twice(
    dash_inst: Instance, shell_script: str, wizard_audit: dict[str, str]
) -> None:
    assert shell_script.startswith("#!/bin/sh\n# ami-wizard ")
    assert "#   root-ssh-login: prohibit-password\n" in shell_script
    offset = dash_inst.log_offset()
    rc, out, err = _run_script(dash_inst, ["dash"], shell_script)
    assert rc == 0, out + err
    assert "sshd -t passed, reloaded" in out
    assert "Received SIGHUP" in dash_inst.log()[offset:]
    assert audit_inside(dash_inst) == wizard_audit
    assert wizard_audit["root-ssh-login"] == "pass" and wizard_audit["ssh-host-keys"] == "pass"
    assert not ours_left(dash_inst.upper_changes())
    # A second run finds every step done and changes nothing.
    upper = dash_inst.upper_changes()
    rc, out, err = _run_script(dash_inst, ["dash"], shell_script)
    assert rc == 0, out + err
    assert "(already so)" in out
    assert audit_inside(dash_inst) == wizard_audit
    assert [c.path for c in dash_inst.upper_changes()] == [c.path for c in upper]


def test_shell_export_under_busybox_refuses_a_changed_file_then_matches(
    tmp_path_factory: pytest.TempPathFactory,
    client_key: ClientKey,
    shell_script: str,
    wizard_audit: dict[str, str],
) -> None:
    busybox = shutil.which("busybox")
    require(None if busybox else "busybox is not installed (Debian: busybox)")
    inst = _start(tmp_path_factory, client_key, "busybox")
    try:
        original = inst.read(SSHD_CONFIG)
        inst.write(SSHD_CONFIG, original + b"# edited after the plan\n")
        upper = inst.upper_changes()
        rc, out, err = _run_script(inst, ["busybox", "sh"], shell_script)
        assert rc == 3, out + err
        assert "changed since the plan" in err and "ok 1" not in out
        assert inst.upper_changes() == upper  # nothing changed
        inst.write(SSHD_CONFIG, original)
        rc, out, err = _run_script(inst, ["busybox", "sh"], shell_script)
        assert rc == 0, out + err
        assert audit_inside(inst) == wizard_audit
        assert not ours_left(inst.upper_changes())
    finally:
        inst.stop()


ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
# Ansible's own files go to /tmp (a tmpfs in the instance), not into the image.
ANSIBLE_ENV = {
    "HOME": "/tmp/ansible-home",
    "ANSIBLE_LOCAL_TEMP": "/tmp/ansible-local",
    "ANSIBLE_REMOTE_TEMP": "/tmp/ansible-remote",
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_HOST_KEY_CHECKING": "True",
    "ANSIBLE_PIPELINING": "True",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def _changed_tasks(out: str) -> list[str]:
    """The TASK lines whose result was `changed`."""
    tasks, task = [], ""
    for line in out.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:"):
            tasks.append(task)
    return tasks


def _recap(out: str) -> dict[str, int]:
    """ok/changed/failed... of the one host in PLAY RECAP."""
    line = out.rsplit("PLAY RECAP", 1)[1].split("\n", 1)[1].strip().splitlines()[0]
    return {k: int(v) for k, v in (w.split("=") for w in line.split() if "=" in w)}


def _ansible_playbook_inside() -> list[str]:
    """ansible-playbook as the instance can start it (its venv script when visible)."""
    if not RELOCATE:
        return [str(ANSIBLE_PLAYBOOK)]
    run = "import sys; from ansible.cli.playbook import main; sys.argv[0] = 'ansible-playbook'; main()"
    return [PYTHON, "-c", run]


def _playbook_inside(inst: Instance, playbook: str, *extra: str) -> tuple[int, str]:
    """ansible-playbook on the instance itself (connection local), like a build step."""
    inst.write("/tmp/fixes.yml", playbook)
    inst.exec(["mkdir", "-p", ANSIBLE_ENV["HOME"]])
    env = [f"{k}={v}" for k, v in ANSIBLE_ENV.items()]
    argv = [
        "env",
        *env,
        *PY_ENV,
        *_ansible_playbook_inside(),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        "ami_wizard_become=false",
        "-e",
        f"ansible_python_interpreter={PYTHON}",
        "/tmp/fixes.yml",
        *extra,
    ]
    proc = subprocess.run(
        ["nsenter", "-t", str(inst.pid), "-m", "-p", "-r", "-w", "--", *argv],
        capture_output=True,
        env=INSIDE_ENV,
        timeout=300,
        check=False,
    )
    return proc.returncode, proc.stdout.decode() + proc.stderr.decode()


@pytest.fixture(scope="module")
def ansible_inst(
    tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey
) -> Iterator[Instance]:
    require(None if ANSIBLE_PLAYBOOK.exists() else "ansible-core is not installed (dev extra)")
    inst = _start(tmp_path_factory, client_key, "ansible")
    yield inst
    inst.stop()


def test_ansible_export_checks_over_ssh_then_matches_the_wizard_and_is_idempotent(
    ansible_inst: Instance,
    client_key: ClientKey,
    plan_file: Path,
    tmp_path: Path,
    wizard_audit: dict[str, str],
) -> None:
    inst = ansible_inst
    ssh = _ssh(inst, client_key, tmp_path)
    out = tmp_path / "fixes.yml"
    proc = cli(
        "export",
        str(plan_file),
        "--to",
        "ansible",
        "--from",
        ssh[0],
        *ssh[1:],
        "--yes",
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    playbook = out.read_text()
    assert playbook.startswith("# ami-wizard ") and "#   authorized-keys: clear\n" in playbook
    # --check --diff over SSH, as a pipeline would connect: reports, changes nothing (the
    # normal phase only: the final one under --check is the same tasks, only slower).
    upper = inst.upper_changes()
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        f"builder ansible_host=127.0.0.1 ansible_port={inst.port} ansible_user=root "
        f"ansible_ssh_private_key_file={client_key.path} "
        f"ansible_ssh_common_args='-o UserKnownHostsFile={ssh[-1]} -o IdentitiesOnly=yes' "
        f"ansible_python_interpreter=/usr/bin/python3\n"
    )
    check = subprocess.run(
        [
            str(ANSIBLE_PLAYBOOK),
            "-i",
            str(inventory),
            "-e",
            "ami_wizard_become=false",
            str(out),
            "--check",
            "--diff",
            "--tags",
            "normal",
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **ANSIBLE_ENV,
            "HOME": str(tmp_path),
            # a unix socket path has ~108 bytes: tmp_path under an xdist worker is too long
            "ANSIBLE_SSH_CONTROL_PATH_DIR": tempfile.mkdtemp(prefix="awcp-"),
        },
        timeout=300,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "+PermitRootLogin prohibit-password" in check.stdout  # the diff of the drop-in
    assert _recap(check.stdout)["changed"] > 0
    assert inst.upper_changes() == upper
    # The real run, on the instance itself: the same final audit as the wizard's apply.
    offset = inst.log_offset()
    rc, text = _playbook_inside(inst, playbook)
    assert rc == 0, text
    assert _recap(text)["failed"] == 0 and _recap(text)["changed"] > 0
    assert "Received SIGHUP" in inst.log()[offset:]
    assert audit_inside(inst) == wizard_audit
    assert not ours_left(inst.upper_changes())
    # Idempotent: a second run changes nothing.
    rc, text = _playbook_inside(inst, playbook)
    assert rc == 0, text
    assert _recap(text)["changed"] == 0, _changed_tasks(text)


# The fields of an EC2 Image Builder component document (schema 1.0) and of an ExecuteBash step.
DOCUMENT_KEYS = {"name", "description", "schemaVersion", "phases", "parameters", "constants"}
STEP_KEYS = {"name", "action", "inputs", "onFailure", "timeoutSeconds", "maxAttempts", "if", "loop"}
STEP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def _bash_steps(doc: dict) -> dict[str, str]:
    """Each phase's ExecuteBash commands as the agent runs them (joined in one bash script),
    after checking the document's structure against the published fields."""
    assert set(doc) <= DOCUMENT_KEYS and str(doc["schemaVersion"]) == "1.0"
    assert [p["name"] for p in doc["phases"]] == ["build", "validate", "test"]
    out = {}
    for phase in doc["phases"]:
        assert set(phase) == {"name", "steps"}
        names = [s["name"] for s in phase["steps"]]
        assert len(set(names)) == len(names)
        for step in phase["steps"]:
            assert set(step) <= STEP_KEYS and STEP_NAME.fullmatch(step["name"])
            assert step["action"] == "ExecuteBash" and step["onFailure"] in (
                "Abort",
                "Continue",
                "Ignore",
            )
            assert isinstance(step["timeoutSeconds"], int) and 0 < step["timeoutSeconds"] <= 43200
            commands = step["inputs"]["commands"]
            assert set(step["inputs"]) == {"commands"} and all(isinstance(c, str) for c in commands)
            out[phase["name"]] = "\n".join(commands)
    return out


def _bash(inst: Instance, script: str, path: str = INSIDE_ENV["PATH"]) -> tuple[int, str]:
    proc = inst.exec(
        ["env", f"PATH={path}", "PYTHONDONTWRITEBYTECODE=1", "bash", "-c", script], check=False
    )
    return proc.returncode, proc.stdout.decode() + proc.stderr.decode()


def test_imagebuilder_component_validates_builds_and_matches_the_wizard(
    tmp_path_factory: pytest.TempPathFactory,
    client_key: ClientKey,
    plan_file: Path,
    wizard_audit: dict[str, str],
) -> None:
    inst = _start(tmp_path_factory, client_key, "imagebuilder")
    try:
        tmp = tmp_path_factory.mktemp("ib")
        ssh = _ssh(inst, client_key, tmp)
        out = tmp / "component.yml"
        args = ["export", str(plan_file), "--to", "imagebuilder", "--from", ssh[0], *ssh[1:]]
        proc = cli(*args, "--yes", "-o", str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        text = out.read_text()
        assert text.startswith("# ami-wizard ") and "#   machine-id: empty\n" in text
        steps = _bash_steps(yaml.safe_load(text))
        # validate fails before build (the check can fail), passes after it
        rc, log = _bash(inst, steps["validate"])
        assert rc == 1 and "FAIL " in log, log
        rc, log = _bash(inst, steps["build"])
        assert rc == 0 and "ami-wizard: every step done" in log, log
        rc, log = _bash(inst, steps["validate"])
        assert rc == 0 and "every fix is in place" in log, log
        assert audit_inside(inst) == wizard_audit
        # with ami-wizard installed, validate is its audit of the plan's checks
        venv = f"{WIZARD_BIN}:{INSIDE_ENV['PATH']}"
        rc, log = _bash(inst, steps["validate"], venv)
        statuses = {c["id"]: c["status"] for c in json.loads(log[log.index("{") :])["checks"]}
        assert set(statuses) == set(yaml.safe_load(PLAN)["choices"])
        assert rc == (1 if "fail" in statuses.values() else 0), log
        # test: on a launch, host keys are made at boot (ssh-keygen -A stands in for it)
        assert _bash(inst, steps["test"])[0] == 1
        inst.exec(["ssh-keygen", "-A"])
        rc, log = _bash(inst, steps["test"])
        assert rc == 0, log
        assert not ours_left(inst.upper_changes())
    finally:
        inst.stop()
