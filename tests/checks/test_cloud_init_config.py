import json

import pytest
import yaml

from checks._cloudinit import cloud_config, merge
from checks.cloud_init_config import check, plan, unchanged
from tests.checks import account
from wizard.actions import PlanRefused, WriteFile
from wizard.facts import CloudInit, Facts, PasswordState, SearchNote
from wizard.model import Status

MAIN = "/etc/cloud/cloud.cfg"
D = "/etc/cloud/cloud.cfg.d"
SECRET = "Sup3rSecretValue!"  # a planted test value that must never be shown

DEBIAN_MAIN = """\
users:
  - default
disable_root: true
ssh_pwauth: false
system_info:
  distro: debian
  default_user:
    name: admin
    lock_passwd: true
    shell: /bin/bash
"""


def facts(*files: tuple[str, str], **kw: object) -> Facts:
    return Facts(cloud_init=CloudInit(installed=True, config=dict(files)), **kw)  # type: ignore[arg-type]


def shown(finding: object) -> str:
    return json.dumps(str(finding))


def test_merge_is_cloud_inits_default_dicts_deep_lists_whole() -> None:
    high = {"a": {"x": 1}, "l": [1], "s": "high"}
    low = {"a": {"x": 2, "y": 3}, "l": [2, 3], "s": "low", "n": 4}
    assert merge(high, low) == {"a": {"x": 1, "y": 3}, "l": [1], "s": "high", "n": 4}


def test_later_drop_in_wins_and_non_cfg_files_are_ignored() -> None:
    cfg = cloud_config(
        facts(
            (
                MAIN,
                "ssh_pwauth: true\nsystem_info: {default_user: {name: admin, shell: /bin/sh}}\n",
            ),
            (
                f"{D}/10-a.cfg",
                "ssh_pwauth: false\nsystem_info: {default_user: {lock_passwd: true}}\n",
            ),
            (f"{D}/90-b.cfg", "ssh_pwauth: yes\n"),
            (f"{D}/README", "ssh_pwauth: false\n"),
        )
    )
    assert cfg.order == (f"{D}/90-b.cfg", f"{D}/10-a.cfg", MAIN)
    assert cfg.values["ssh_pwauth"] is True
    assert cfg.values["system_info"]["default_user"] == {
        "name": "admin",
        "shell": "/bin/sh",
        "lock_passwd": True,
    }
    assert cfg.origin("ssh_pwauth") == f"{D}/90-b.cfg"
    assert cfg.origin("system_info", "default_user", "name") == MAIN
    assert cfg.origin("system_info", "default_user", "lock_passwd") == f"{D}/10-a.cfg"


def test_debian_default_passes() -> None:
    assert check(facts((MAIN, DEBIAN_MAIN))).status is Status.PASS


def test_not_installed_skips() -> None:
    assert check(Facts()).status is Status.SKIP


@pytest.mark.parametrize("value", ["true", "yes", "1", "'on'"])
def test_ssh_pwauth_true_fails_naming_file_and_line(value: str) -> None:
    finding = check(facts((MAIN, DEBIAN_MAIN), (f"{D}/50-x.cfg", f"# c\nssh_pwauth: {value}\n")))
    assert finding.status is Status.FAIL
    ev = finding.evidence[0]
    assert (ev.path, ev.line) == (f"{D}/50-x.cfg", 2)
    assert ev.detail.startswith("ssh_pwauth:")


def test_ssh_pwauth_overridden_later_passes() -> None:
    finding = check(facts((MAIN, "ssh_pwauth: true\n"), (f"{D}/99-z.cfg", "ssh_pwauth: false\n")))
    assert finding.status is Status.PASS


def test_disable_root_false_and_unlocked_default_user() -> None:
    finding = check(
        facts(
            (MAIN, DEBIAN_MAIN),
            (
                f"{D}/60-x.cfg",
                "disable_root: false\nsystem_info:\n  default_user:\n    lock_passwd: false\n",
            ),
        )
    )
    assert finding.status is Status.FAIL
    keys = {e.detail.split(":")[0]: (e.path, e.line) for e in finding.evidence}
    assert keys["disable_root"] == (f"{D}/60-x.cfg", 1)
    assert keys["system_info.default_user.lock_passwd"] == (f"{D}/60-x.cfg", 4)


def test_passwords_in_users_chpasswd_and_default_user_never_shown() -> None:
    text = f"""\
password: {SECRET}
system_info:
  default_user:
    name: admin
    plain_text_passwd: {SECRET}
users:
  - default
  - name: bob
    lock_passwd: false
    passwd: $6$salt$hash{SECRET}
  - name: carol
    hashed_passwd: $6$x$y{SECRET}
chpasswd:
  list: |
    root:{SECRET}
    dave:RANDOM
  users:
    - {{name: erin, password: {SECRET}, type: text}}
    - {{name: frank, type: RANDOM}}
"""
    accounts = (account("bob", 1001, PasswordState.USABLE), account("carol", 1002))
    finding = check(facts((f"{D}/70-users.cfg", text), accounts=accounts))
    assert finding.status is Status.FAIL
    keys = [e.detail.split(":")[0] for e in finding.evidence]
    for key in (
        "password",
        "system_info.default_user.plain_text_passwd",
        "users[bob].lock_passwd",
        "users[bob].passwd",
        "users[carol].hashed_passwd",
        "chpasswd.list",
        "chpasswd.users",
    ):
        assert key in keys, key
    assert not any("dave" in e.detail or "frank" in e.detail for e in finding.evidence)
    # bob's password is already in /etc/shadow: the drop-in cannot take it back
    assert any(e.path == "/etc/shadow" and "bob" in e.detail for e in finding.evidence)
    text_out = shown(finding)
    assert SECRET[:4] not in text_out and "Sup3" not in text_out
    (action,) = plan(facts((f"{D}/70-users.cfg", text), accounts=accounts), "drop-in")
    assert SECRET[:4].encode() not in action.content  # type: ignore[attr-defined]


def test_unparsable_file_warns_naming_it() -> None:
    finding = check(facts((MAIN, DEBIAN_MAIN), (f"{D}/40-bad.cfg", "ssh_pwauth: [true\n")))
    assert finding.status is Status.WARN
    assert f"{D}/40-bad.cfg" in finding.summary
    assert unchanged(facts((MAIN, DEBIAN_MAIN), (f"{D}/40-bad.cfg", "a: [\n")), "drop-in")


def test_a_file_read_in_part_is_never_a_pass() -> None:
    note = SearchNote("sys", f"read only the first 10 bytes of {MAIN} (probe.max_size)")
    finding = check(facts((MAIN, DEBIAN_MAIN), incomplete=(note,)))
    assert finding.status is Status.WARN


def test_own_merge_rules_warn() -> None:
    finding = check(facts((MAIN, DEBIAN_MAIN), (f"{D}/50-m.cfg", "merge_how: 'list(append)'\n")))
    assert finding.status is Status.WARN


def test_drop_in_overrides_every_problem_and_sorts_last() -> None:
    files = (
        (MAIN, DEBIAN_MAIN.replace("ssh_pwauth: false", "ssh_pwauth: true")),
        (
            f"{D}/50-u.cfg",
            "disable_root: 0\nusers:\n  - default\n  - name: bob\n    lock_passwd: false\n"
            "    plain_text_passwd: x\n    groups: [sudo]\n",
        ),
        (f"{D}/README", "not a drop-in: sorts after 99 but does not count\n"),
    )
    (action,) = plan(facts(*files), "drop-in")
    assert isinstance(action, WriteFile)
    assert action.path == f"{D}/99-ami-wizard.cfg"
    assert action.reversible
    written = yaml.safe_load(action.content)
    assert written["ssh_pwauth"] is False
    assert written["disable_root"] is True
    assert written["users"] == ["default", {"name": "bob", "lock_passwd": True, "groups": ["sudo"]}]
    # Applied: the merged configuration passes.
    after = facts(*files, (action.path, action.content.decode()))
    assert check(after).status is Status.PASS
    assert plan(after, "drop-in") == ()


def test_existing_drop_in_of_ours_keeps_what_it_overrode() -> None:
    ours = f"{D}/99-ami-wizard.cfg"
    files = (
        (MAIN, "ssh_pwauth: true\n"),
        (ours, "ssh_pwauth: false\n"),
        (f"{D}/99-zz.cfg", "disable_root: false\n"),
    )
    (action,) = plan(facts(*files), "drop-in")
    assert action.path == f"{D}/zz-ami-wizard.cfg"  # type: ignore[attr-defined]
    files2 = ((MAIN, "ssh_pwauth: true\ndisable_root: false\n"), (ours, "ssh_pwauth: false\n"))
    (action2,) = plan(facts(*files2), "drop-in")
    assert action2.path == ours  # type: ignore[attr-defined]
    assert yaml.safe_load(action2.content) == {"disable_root": True, "ssh_pwauth": False}  # type: ignore[attr-defined]


def test_no_name_sorts_last_refuses() -> None:
    files = ((MAIN, "ssh_pwauth: true\n"), (f"{D}/\u00e9t\u00e9.cfg", "a: 1\n"))
    with pytest.raises(PlanRefused):
        plan(facts(*files), "drop-in")
