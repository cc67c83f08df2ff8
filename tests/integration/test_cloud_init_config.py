"""cloud-init-config over real SSH: a builder's drop-in that turns password login on and gives
an account a password is found (file and key named, no value shown), the fix writes the
drop-in that sorts last, the re-probe passes, and undo removes it; a file that is not YAML is
a warn naming it. One instance for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import ClientKey, require
from tests.integration.instance import Instance, missing_requirements
from tests.integration.test_apply import connect
from wizard.formats import render
from wizard.model import Status
from wizard.session import Session
from wizard.targets import ConnectOptions

pytestmark = pytest.mark.sshd

CHECK = "cloud-init-config"
PLAIN = "Pl4inBuilderPass"  # planted: no more than its first 4 characters may appear
HASHED = "$6$rounds=5000$abcdefgh$" + "Q" * 40
MAIN = """\
users:
  - default
disable_root: true
ssh_pwauth: false
system_info:
  default_user:
    name: admin
    lock_passwd: true
"""
BUILDER = f"""\
# left by the image builder
ssh_pwauth: true
users:
  - default
  - name: deploy
    lock_passwd: false
    plain_text_passwd: {PLAIN}
chpasswd:
  users:
    - {{name: root, password: "{HASHED}"}}
"""
DROP_IN = "/etc/cloud/cloud.cfg.d/99-ami-wizard.cfg"


@pytest.fixture(scope="module")
def inst(tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey) -> Iterator[Instance]:
    require(missing_requirements())
    with Instance(tmp_path_factory.mktemp("ci")) as instance:
        instance.authorize("root", client_key.public_line)
        # The probe knows cloud-init by its entry point; nothing here runs it.
        instance.write("/usr/bin/cloud-init", "#!/bin/sh\nexit 0\n", mode=0o755)
        instance.write("/etc/cloud/cloud.cfg", MAIN)
        instance.write("/etc/cloud/cloud.cfg.d/50-builder.cfg", BUILDER)
        instance.write("/etc/cloud/cloud.cfg.d/README", "ssh_pwauth: false\n")  # not a .cfg
        yield instance


@pytest.fixture(scope="module")
def options(
    tmp_path_factory: pytest.TempPathFactory, inst: Instance, client_key: ClientKey
) -> ConnectOptions:
    known = Path(tmp_path_factory.mktemp("kh")) / "known_hosts"
    known.write_text(inst.host_key_line() + "\n")
    return ConnectOptions(
        identity=str(client_key.path), known_hosts=str(known), use_agent=False, timeout=10
    )


def test_builder_drop_in_found_fixed_by_a_later_drop_in_and_undone(
    inst: Instance, options: ConnectOptions
) -> None:
    with connect(inst, options) as target:
        session = Session(target)
        result = session.audit()
        found = {f.id: f for f in result.findings}[CHECK]
        assert found.status is Status.FAIL
        where = {e.detail.split(":")[0]: (e.path, e.line) for e in found.evidence}
        builder = "/etc/cloud/cloud.cfg.d/50-builder.cfg"
        assert where["ssh_pwauth"] == (builder, 2)
        assert where["users[deploy].lock_passwd"] == (builder, 6)
        assert where["users[deploy].plain_text_passwd"] == (builder, 7)
        assert where["chpasswd.users"][0] == builder
        for fmt in ("json", "md", "sarif"):
            out = render(result, fmt)
            # bundle-credentials may show a value's first four characters (the probe keeps no
            # more); nothing beyond them, and nothing of the hash, reaches any output
            assert PLAIN[:5] not in out and HASHED[12:20] not in out, fmt
        outcome = session.apply({CHECK: "drop-in"})
        assert outcome.ok, outcome.errors
        after = outcome.checks[0]
        assert (after.check_id, after.after) == (CHECK, Status.PASS), after
        written = yaml.safe_load(inst.read(DROP_IN))
        assert written["ssh_pwauth"] is False
        assert written["users"][1] == {"name": "deploy", "lock_passwd": True}
        assert written["chpasswd"] == {"users": []}
        assert PLAIN.encode() not in inst.read(DROP_IN)
        assert (inst.exec(["stat", "-c", "%a %U", DROP_IN]).stdout.split()) == [b"644", b"root"]
        # The builder's file is left as it was (for review).
        assert inst.read(builder) == BUILDER.encode()
        assert session.undo().ok
    assert not inst.exists(DROP_IN)


def test_a_file_that_is_not_yaml_is_a_warn_naming_it(
    inst: Instance, options: ConnectOptions
) -> None:
    inst.exec(["rm", "-f", "/etc/cloud/cloud.cfg.d/50-builder.cfg"])
    inst.write("/etc/cloud/cloud.cfg.d/60-broken.cfg", "ssh_pwauth: [true\n")
    with connect(inst, options) as target:
        found = {f.id: f for f in Session(target).audit().findings}[CHECK]
    assert found.status is Status.WARN
    assert "/etc/cloud/cloud.cfg.d/60-broken.cfg" in found.summary
