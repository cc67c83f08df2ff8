"""`ami-wizard export`: every action type maps to one renderer per engine, an action without
one refuses the whole export (exit 2, naming it), and the header carries choices and version.
The exports are run for real in tests/integration/test_export.py."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from wizard import __version__, export_shell
from wizard.actions import Action
from wizard.cli import main
from wizard.export import ExportPlan, ExportRefused, Item, portable, require_renderers
from wizard.facts import FileInfo

PLAN = (
    "schema: ami-wizard/plan/v1\nchoices:\n  root-ssh-login: prohibit-password\n"
    "  machine-id: empty\n  ssh-host-keys: delete-and-regenerate\n  shell-history: shred\n"
)


@dataclass(frozen=True, kw_only=True)
class _Unknown(Action):
    def describe(self) -> str:
        return "do something new"


def _plan(*actions: Action) -> ExportPlan:
    return ExportPlan(
        choices={"x": "y"},
        items=tuple(Item("some-check", "opt", a) for a in actions),
        unchanged=(),
        reference="demo",
        generated="2026-01-01T00:00:00+00:00",
        same_machine=False,
    )


def test_an_action_without_a_renderer_refuses_and_names_it() -> None:
    with pytest.raises(ExportRefused, match=r"some-check plans _Unknown \(do something new\)"):
        require_renderers(_plan(_Unknown(check_id="some-check")), export_shell.RENDERERS, "shell")
    with pytest.raises(ExportRefused, match="no shell rendering"):
        export_shell.render(_plan(_Unknown(check_id="some-check")))


def test_portable_identity_keeps_only_the_owner_unless_same_machine() -> None:
    info = FileInfo(path="/etc/x", mode=0o600, uid=7, size=12, dev=3, ino=99)
    assert portable(info, False) == ("-", "-", "-", "7")
    assert portable(info, True) == ("3", "99", "12", "7")
    assert portable(None, True) == ("-", "-", "-", "-")


def test_shell_export_of_the_practice_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    assert main(["export", str(plan), "--to", "shell", "--from", "demo"]) == 2
    assert "--yes" in capsys.readouterr().err
    out = tmp_path / "fixes.sh"
    assert (
        main(["export", str(plan), "--to", "shell", "--from", "demo", "--yes", "-o", str(out)]) == 0
    )
    text = out.read_text()
    assert text.startswith(f"#!/bin/sh\n# ami-wizard {__version__}: export of a plan to shell")
    assert "#   machine-id: empty\n" in text and "#   shell-history: shred\n" in text
    # phases in order: sshd before host keys, the history shred last
    assert text.index("PermitRootLogin") < text.index("ssh_host_") < text.index("---- last")
    assert '"$SSHD" -t' in text.split("---- final")[0]
    for shell in (["dash", "-n"], ["busybox", "sh", "-n"], ["bash", "-n"]):
        subprocess.run([*shell, str(out)], check=True)


def test_export_to_an_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    with pytest.raises(SystemExit) as exc:
        main(["export", str(plan), "--to", "chef", "--from", "demo"])
    assert exc.value.code == 2


def test_ansible_has_no_move_yet_and_refuses_it() -> None:
    from wizard import export_ansible
    from wizard.actions import MoveFile

    move = MoveFile(
        check_id="bundle-credentials", path="/root/.aws/credentials", destination="/mnt/x"
    )
    with pytest.raises(ExportRefused, match="some-check plans MoveFile"):
        export_ansible.render(_plan(move))


def test_ansible_export_of_the_practice_instance(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    out = tmp_path / "fixes.yml"
    args = ["export", str(plan), "--to", "ansible", "--from", "demo", "--yes", "-o", str(out)]
    assert main(args) == 0
    text = out.read_text()
    assert text.startswith(f"# ami-wizard {__version__}: export of a plan to ansible")
    assert "validate: '{{ ami_wizard_sshd }} -t -f %s'" in text
    # file names from the target are never templated
    assert "path: !unsafe '/etc/ssh/ssh_host_ed25519_key'" in text
    assert text.index("- normal") < text.index("- final") < text.index("- last")
    playbook = Path(sys.executable).with_name("ansible-playbook")
    if playbook.exists():
        proc = subprocess.run(
            [str(playbook), "-i", "localhost,", "--syntax-check", str(out)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "HOME": str(tmp_path)},
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_imagebuilder_component_of_the_practice_instance(tmp_path: Path) -> None:
    import yaml

    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    out = tmp_path / "component.yml"
    args = ["export", str(plan), "--to", "imagebuilder", "--from", "demo", "--yes", "-o", str(out)]
    assert main(args) == 0
    doc = yaml.safe_load(out.read_text())
    assert doc["schemaVersion"] == 1.0
    assert [p["name"] for p in doc["phases"]] == ["build", "validate", "test"]
    build = doc["phases"][0]["steps"][0]
    assert build["action"] == "ExecuteBash" and "aw_delete" in build["inputs"]["commands"][0]
    validate = doc["phases"][1]["steps"][0]["inputs"]["commands"][0]
    assert "ami-wizard audit local --format json --check root-ssh-login" in validate


def test_verify_has_a_check_for_every_action_the_shell_export_renders() -> None:
    from wizard import export_verify

    assert set(export_verify.VERIFIERS) == set(export_shell.RENDERERS)
