import pytest

from checks._sudoers import passwordless, read_order
from checks.accounts_privilege import check, default_user, plan, unchanged
from tests.checks import account
from wizard.actions import PlanContext, PlanRefused, RemoveWorldWrite, WriteSudoers
from wizard.facts import CloudInit, Facts, FileInfo, SearchNote
from wizard.model import Status

MAIN = """\
Defaults	env_reset
root	ALL=(ALL:ALL) ALL
%sudo	ALL=(ALL:ALL) ALL
# a comment: bob ALL=(ALL) NOPASSWD: ALL
#include /etc/sudoers.local
@includedir /etc/sudoers.d
"""
ROOT = account("root", 0, home="/root")
ADMIN = account("admin", 1000)


def facts(sudoers: dict[str, str], *accounts: object, **kw: object) -> Facts:
    accts = tuple(accounts) or (ROOT, ADMIN)
    return Facts(accounts=accts, sudoers={"/etc/sudoers": MAIN, **sudoers}, **kw)  # type: ignore[arg-type]


def test_clean_system_passes() -> None:
    finding = check(facts({"/etc/sudoers.d/90-cloud-init-users": "admin ALL=(ALL) NOPASSWD:ALL\n"}))
    assert finding.status is Status.PASS, finding.summary


def test_other_uid_0_fails() -> None:
    finding = check(facts({}, ROOT, account("toor", 0, home="/root"), ADMIN))
    assert finding.status is Status.FAIL
    assert "toor" in finding.evidence[0].detail


def test_nopasswd_for_another_user_fails_with_file_and_line() -> None:
    files = {
        "/etc/sudoers.d/90-cloud-init-users": "admin ALL=(ALL) NOPASSWD:ALL\n",
        "/etc/sudoers.d/50-ci": "# build account\nci ALL=(ALL) NOPASSWD: ALL\n",
    }
    finding = check(facts(files))
    assert finding.status is Status.FAIL
    ev = finding.evidence[0]
    assert (ev.path, ev.line) == ("/etc/sudoers.d/50-ci", 2)
    assert "ci" in ev.detail and "all commands" in ev.detail


def test_includes_aliases_continuations_and_defaults_are_followed() -> None:
    files = {
        "/etc/sudoers.local": "User_Alias OPS = carol, dave\nOPS ALL = (root) \\\n  NOPASSWD: /usr/bin/systemctl\n",
        "/etc/sudoers.d/10-x": "Defaults:erin !authenticate\n",
        "/etc/sudoers.d/skip.me": "frank ALL=(ALL) NOPASSWD: ALL\n",  # a "." : sudo skips it
        "/etc/sudoers.d/old~": "gina ALL=(ALL) NOPASSWD: ALL\n",
    }
    rules = passwordless({"/etc/sudoers": MAIN, **files})
    assert [(r.path, r.line, r.principals, r.all_commands) for r in rules] == [
        ("/etc/sudoers.local", 2, ("carol", "dave"), False),
        ("/etc/sudoers.d/10-x", 1, ("erin",), True),
    ]
    finding = check(facts(files))
    assert finding.status is Status.FAIL  # !authenticate for erin is all commands


def test_specific_commands_only_is_a_warn() -> None:
    files = {"/etc/sudoers.d/20-app": "app ALL=(root) NOPASSWD: /usr/bin/systemctl restart app\n"}
    assert check(facts(files)).status is Status.WARN


def test_relative_include_and_uid_is_not_a_comment() -> None:
    files = {
        "/etc/sudoers": "#include extra\n#1001 ALL=(ALL) NOPASSWD: ALL\n",
        "/etc/extra": "zed ALL=(ALL) NOPASSWD: ALL\n",
    }
    assert [t for _, _, t in read_order(files)] == [
        "zed ALL=(ALL) NOPASSWD: ALL",
        "#1001 ALL=(ALL) NOPASSWD: ALL",
    ]
    assert {p for r in passwordless(files) for p in r.principals} == {"zed", "#1001"}


def test_default_user_from_cloud_init_or_the_usual_names() -> None:
    ci = CloudInit(
        installed=True,
        config={"/etc/cloud/cloud.cfg": "system_info:\n  default_user:\n    name: builder\n"},
    )
    assert default_user(Facts(cloud_init=ci)) == "builder"
    assert default_user(Facts(accounts=(ROOT, account("ubuntu", 1000)))) == "ubuntu"
    assert default_user(Facts(accounts=(ROOT,))) == ""
    # with cloud-init naming builder, admin's NOPASSWD rule is someone else's
    files = {"/etc/sudoers.d/90": "admin ALL=(ALL) NOPASSWD:ALL\n"}
    assert check(facts(files, cloud_init=ci)).status is Status.FAIL


def test_login_shell_without_home_warns() -> None:
    ghost = account("ghost", 1005, home="/home/ghost")
    finding = check(facts({}, ROOT, ADMIN, ghost, missing_homes=("ghost",)))
    assert finding.status is Status.WARN
    assert "/home/ghost does not exist" in finding.evidence[0].detail
    assert unchanged(facts({}, ROOT, ghost, missing_homes=("ghost",)), "remove-world-write")


def test_world_writable_fails_and_plans_a_checked_chmod() -> None:
    f = FileInfo("/etc/app.conf", size=12, mode=0o666, uid=0, dev=2049, ino=77, mtime=1)
    finding = check(facts({}, world_writable=(f,)))
    assert finding.status is Status.FAIL
    assert finding.evidence[0].path == "/etc/app.conf"
    (action,) = plan(facts({}, world_writable=(f,)), "remove-world-write")
    assert isinstance(action, RemoveWorldWrite)
    assert action.expect == f and action.reversible


def test_search_cut_short_is_never_a_pass() -> None:
    note = SearchNote("world-writable", "stopped after 10 s (probe.timeout)")
    finding = check(facts({}, incomplete=(note,)))
    assert finding.status is Status.WARN


def test_pending_security_updates_warn_with_the_count() -> None:
    finding = check(facts({}, pending_security=5, package_manager="apt"))
    assert finding.status is Status.WARN
    assert "5 pending security" in finding.summary
    assert "not known" in check(facts({})).summary
    assert check(facts({}, pending_security=0)).status is Status.PASS


CI_RULE = {"/etc/sudoers.d/50-ci": "ci ALL=(ALL:ALL) NOPASSWD: ALL\n"}


def test_fix_all_restates_the_rule_with_a_password_in_a_drop_in_read_last() -> None:
    files = {
        **CI_RULE,
        "/etc/sudoers.d/10-x": "Defaults:erin !authenticate\n",
        "/etc/sudoers.d/90-cloud-init-users": "admin ALL=(ALL) NOPASSWD:ALL\n",
    }
    actions = plan(facts(files), "fix-all", PlanContext(login_user="admin"))
    (drop_in,) = [a for a in actions if isinstance(a, WriteSudoers)]
    assert drop_in.path == "/etc/sudoers.d/zz-ami-wizard" and drop_in.reversible
    text = drop_in.content.decode()
    assert "ci ALL=(ALL:ALL) PASSWD: ALL\n" in text
    assert "Defaults:erin authenticate\n" in text
    assert "admin" not in text.split("\n", 3)[-1]  # the default user's rule is not touched
    after = facts({**files, drop_in.path: text})
    assert check(after).status is Status.PASS
    assert plan(after, "fix-all") == ()
    assert plan(facts(files), "remove-world-write") == ()


def test_the_operators_own_rule_groups_and_root_are_never_restated() -> None:
    files = {
        "/etc/sudoers.d/50-ops": "ops ALL=(ALL) NOPASSWD: ALL\n%wheel ALL=(ALL) NOPASSWD: ALL\n",
    }
    assert plan(facts(files), "fix-all", PlanContext(login_user="ops")) == ()
    finding = check(facts(files))
    assert finding.status is Status.FAIL
    gone = unchanged(facts(files), "fix-all")
    assert gone is not None and "sudo" in gone.reason


def test_no_drop_in_where_sudo_would_not_read_it_last() -> None:
    files = {"/etc/sudoers": "#includedir /etc/sudoers.d\nci ALL=(ALL) NOPASSWD: ALL\n"}
    assert plan(facts(files), "fix-all") == ()
    no_dir = {"/etc/sudoers": "ci ALL=(ALL) NOPASSWD: ALL\n"}
    assert plan(facts(no_dir), "fix-all") == ()


def test_sudoers_is_never_changed_in_an_image() -> None:
    with pytest.raises(PlanRefused, match="visudo"):
        plan(facts(CI_RULE, live=False), "fix-all")
