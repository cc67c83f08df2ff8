"""Match blocks, quoted Include paths and deep Include chains on a real OpenSSH instance.

What the wizard says is compared with what the instance's own `sshd -T -C` says for the same
connections, and the fix is proven by sshd afterwards.
"""

from __future__ import annotations

from tests.integration.instance import Instance
from wizard.engine import audit
from wizard.model import Finding, Status
from wizard.session import Session
from wizard.targets import Target

DROPIN = "/etc/ssh/sshd_config.d/50-support.conf"
ROOT_FROM_OUTSIDE = "user=root,host=203.0.113.9,addr=203.0.113.9,laddr=192.0.2.10,lport=22"


def sshd_c(inst: Instance, spec: str) -> dict[str, str]:
    """`sshd -T -C SPEC` inside the instance, keyword -> first value line."""
    out = inst.exec(["sshd", "-T", "-C", spec]).stdout.decode()
    return dict(line.partition(" ")[::2] for line in out.split("\n") if line)


def finding(target: Target, check_id: str) -> Finding:
    return next(f for f in audit(target).findings if f.id == check_id)


def prepend_main(inst: Instance, text: str) -> None:
    config = inst.read("/etc/ssh/sshd_config").decode()
    inst.write("/etc/ssh/sshd_config", text + config)


def test_match_address_star_reopening_root_login_fails_and_the_fix_holds(
    instance: Instance, ssh_target: Target
) -> None:
    prepend_main(instance, "PermitRootLogin prohibit-password\n")
    instance.write(DROPIN, "# support access\nMatch Address *\n    PermitRootLogin yes\n")
    # The instance's sshd itself says root from anywhere may log in with a password.
    assert sshd_c(instance, ROOT_FROM_OUTSIDE)["permitrootlogin"] == "yes"

    result = finding(ssh_target, "root-ssh-login")
    assert result.status is Status.FAIL, result.summary
    assert f"a Match block at {DROPIN}:2 sets it to yes" in result.summary
    where = {(e.path, e.line) for e in result.evidence}
    assert (DROPIN, 2) in where and (DROPIN, 3) in where
    # Confirmed by the running sshd for root's fixed connections.
    assert any(
        e.path.startswith("sshd -T -C user=root,") and "PermitRootLogin yes" in e.detail
        for e in result.evidence
    )

    session = Session(ssh_target)
    session.audit()
    preview = session.preview("root-ssh-login", "prohibit-password")
    assert "disable PermitRootLogin yes in Match blocks" in preview.actions[0].describe()
    outcome = session.apply({"root-ssh-login": "prohibit-password"}, include_final=False)
    assert outcome.ok, outcome.errors
    assert sshd_c(instance, ROOT_FROM_OUTSIDE)["permitrootlogin"] in {
        "without-password",
        "prohibit-password",
    }
    assert "# ami-wizard: " in instance.read(DROPIN).decode()
    assert finding(ssh_target, "root-ssh-login").status is Status.PASS


def test_quoted_include_path_with_a_space_inside_match_is_followed(
    instance: Instance, ssh_target: Target
) -> None:
    prepend_main(instance, "PasswordAuthentication no\nKbdInteractiveAuthentication no\n")
    config = instance.read("/etc/ssh/sshd_config").decode()
    instance.write(
        "/etc/ssh/sshd_config",
        config + 'Match LocalPort 22\n  Include "/etc/ssh/my conf.d/*.conf"\n',
    )
    instance.write("/etc/ssh/my conf.d/10-legacy.conf", "PasswordAuthentication yes\n")
    spec = ROOT_FROM_OUTSIDE.replace("root", "nobody", 1)
    assert sshd_c(instance, spec)["passwordauthentication"] == "yes"

    result = finding(ssh_target, "ssh-password-auth")
    assert result.status is Status.FAIL, result.summary
    assert "turns them on again" in result.summary
    assert any(e.path == "/etc/ssh/my conf.d/10-legacy.conf" for e in result.evidence)
    # A plain `sshd -T` refuses configs with Match LocalPort; the -C answers still came.
    assert any(e.path.startswith("sshd -T -C ") for e in result.evidence)


def test_six_level_include_chain_is_read_to_the_bottom(
    instance: Instance, ssh_target: Target
) -> None:
    prepend_main(instance, 'Include "/etc/ssh/deep dir/1.conf"\n')
    for i in range(1, 7):
        last = i == 6
        text = "PermitRootLogin yes\n" if last else f'Include "/etc/ssh/deep dir/{i + 1}.conf"\n'
        instance.write(f"/etc/ssh/deep dir/{i}.conf", text)
    assert sshd_c(instance, ROOT_FROM_OUTSIDE)["permitrootlogin"] == "yes"

    result = audit(ssh_target)
    assert "/etc/ssh/deep dir/6.conf" in result.facts.sshd_files
    root = next(f for f in result.findings if f.id == "root-ssh-login")
    assert root.status is Status.FAIL
    assert root.evidence[0].path == "/etc/ssh/deep dir/6.conf"
    # The model read the same file sshd did, so sshd -T agrees with it (no disagreement).
    assert all(e.path != "sshd -T" for e in root.evidence)
