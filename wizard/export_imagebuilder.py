"""`export --to imagebuilder`: an EC2 Image Builder component document (schemaVersion 1.0).

Phases: `build` runs the shell export (wizard/export_shell.py: the same steps, refusals and
sshd transaction) with `sh`; `validate` runs `ami-wizard audit local --format json` on the
plan's checks when ami-wizard is installed on the build instance, else the read-only check
script of wizard/export_verify.py; `test` (on an instance launched from the new image) checks
that sshd's configuration is valid with the host keys made at boot, and audits when it can.
Every step is `ExecuteBash` with `onFailure: Abort`. The embedded scripts are base64 when they
contain `{{` (the document's own variable syntax), so no file name can become a variable.
"""

from __future__ import annotations

import base64
import secrets
import shlex

import yaml

from wizard import export_shell, export_verify
from wizard.export import ExportPlan, printable


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    )


_Dumper.add_representer(str, _str)


def _run_sh(script: str, name: str) -> str:
    """Bash that writes `script` to a temp file and runs it with sh, keeping its exit code."""
    path = f"/tmp/ami-wizard-{name}.sh"
    if "{{" in script:
        data = base64.encodebytes(script.encode("utf-8", "surrogateescape")).decode()
        feed = f"base64 -d > {path} <<'AMI_WIZARD_B64'\n{data}AMI_WIZARD_B64\n"
    else:
        delim = "AMI_WIZARD_SCRIPT_" + secrets.token_hex(8)
        feed = f"cat > {path} <<'{delim}'\n{script}{delim}\n"
    return f"set -u\numask 077\n{feed}sh {path}\naw_rc=$?\nrm -f {path}\nexit $aw_rc\n"


def _validate(plan: ExportPlan) -> str:
    ids = " ".join(f"--check {shlex.quote(c)}" for c in plan.choices)
    check = export_verify.render(plan)
    return (
        "if command -v ami-wizard >/dev/null 2>&1; then\n"
        f"  ami-wizard audit local --format json {ids} -o /tmp/ami-wizard-audit.json\n"
        "  aw_rc=$?\n  cat /tmp/ami-wizard-audit.json\n  rm -f /tmp/ami-wizard-audit.json\n"
        "  exit $aw_rc\nfi\n" + _run_sh(check, "validate")
    )


_TEST = """\
set -u
ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || { echo 'ami-wizard: no host keys were made at boot' >&2; exit 1; }
/usr/sbin/sshd -t || exit 1
if command -v ami-wizard >/dev/null 2>&1; then ami-wizard audit local --format json; fi
exit 0
"""


def _step(name: str, commands: str, timeout: int) -> dict[str, object]:
    return {
        "name": name,
        "action": "ExecuteBash",
        "onFailure": "Abort",
        "timeoutSeconds": timeout,
        "inputs": {"commands": [commands]},
    }


def render(plan: ExportPlan) -> str:
    build = export_shell.render(plan)  # refuses (exit 2) an action it cannot render
    validate = _validate(plan)  # and the check script one it cannot check
    doc = {
        "name": "ami-wizard-prepare-shared-ami",
        "description": (
            "The fixes of an ami-wizard plan, resolved on "
            + printable(plan.reference)
            + f" (ami-wizard {plan.version}): build applies them, validate checks them"
        ),
        "schemaVersion": 1.0,
        "phases": [
            {
                "name": "build",
                "steps": [_step("AmiWizardApplyPlan", _run_sh(build, "build"), 1800)],
            },
            {"name": "validate", "steps": [_step("AmiWizardCheckPlan", validate, 900)]},
            {"name": "test", "steps": [_step("AmiWizardCheckLaunch", _TEST, 600)]},
        ],
    }
    head = "".join(f"# {printable(line)}\n" for line in plan.header_lines("imagebuilder"))
    return head + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=100)
