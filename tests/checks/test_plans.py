"""Each check's pure `plan(facts, option_id)`: the actions it returns, and that carrying them
out (simulated on the facts) makes the check pass. No I/O: facts in, actions out."""

from __future__ import annotations

import dataclasses
import importlib
import re

import pytest

from checks import INSTANCE_CHECKS, _plans, module_name, run_one
from checks.base import catalog
from wizard.actions import (
    DeleteFile,
    DisablePassword,
    ExportExcludeList,
    LockPassword,
    MoveFile,
    Phase,
    PlanContext,
    PlanRefused,
    RunCommand,
    SetSshd,
    ShredHistories,
    Symlink,
    WriteFile,
)
from wizard.apply import resolve_sshd
from wizard.errors import UsageError
from wizard.facts import (
    Account,
    AuthorizedKeysFile,
    CloudInit,
    CredentialFile,
    Facts,
    FileInfo,
    HostKey,
    PasswordState,
    Unit,
)
from wizard.model import Status

MAIN = "/etc/ssh/sshd_config"
DROPIN_MAIN = "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nUseDNS yes\n"
ENDPOINT = "http://metadata.test"  # never contacted: the unit is only written


def plan(check_id: str, facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple:
    module = importlib.import_module(module_name(check_id))
    return module.plan(facts, option_id, ctx or PlanContext(imds_endpoint=ENDPOINT))


def sshd_facts(main: str, extra: dict[str, str] | None = None) -> Facts:
    return Facts(sshd_files={MAIN: main, **(extra or {})}, sshd_version="9.2p1", live=False)


def after_sshd(facts: Facts, actions: tuple) -> Facts:
    texts = resolve_sshd(dict(facts.sshd_files), MAIN, facts.sshd_version, actions)
    return dataclasses.replace(facts, sshd_files=texts)


@pytest.mark.parametrize("value", ["prohibit-password", "no", "forced-commands-only"])
def test_root_login_goes_to_a_dropin_read_first_and_takes_effect(value: str) -> None:
    facts = sshd_facts(DROPIN_MAIN)
    actions = plan("root-ssh-login", facts, value)
    assert actions == (
        SetSshd(check_id="root-ssh-login", keyword="PermitRootLogin", args=(value,)),
    )
    done = after_sshd(facts, actions)
    assert "/etc/ssh/sshd_config.d/00-ami-wizard.conf" in done.sshd_files
    assert run_one("root-ssh-login", done).status is Status.PASS
    assert plan("root-ssh-login", done, value) == ()  # compliant now: nothing more to do


def test_root_login_without_include_goes_before_first_match() -> None:
    main = "PermitRootLogin yes\nMatch User bob\n    PermitRootLogin yes\n"
    facts = sshd_facts(main)
    actions = plan("root-ssh-login", facts, "prohibit-password")
    assert actions[0].clear_in_match == ("yes",)  # the Match block reopening it goes too
    done = after_sshd(facts, actions)
    text = done.sshd_files[MAIN]
    assert text.index("PermitRootLogin prohibit-password") < text.index("Match User bob")
    assert run_one("root-ssh-login", done).status is Status.PASS


def test_deprecated_spelling_is_rewritten_but_compliant_value_is_left_alone() -> None:
    assert plan(
        "root-ssh-login", sshd_facts("PermitRootLogin without-password\n"), "prohibit-password"
    )
    assert plan("root-ssh-login", sshd_facts("PermitRootLogin no\n"), "no") == ()


def test_password_auth_turns_off_both_routes_and_match_reopeners() -> None:
    facts = sshd_facts(
        "PasswordAuthentication yes\nKbdInteractiveAuthentication yes\n"
        "Match User deploy\n  PasswordAuthentication yes\n"
    )
    actions = plan("ssh-password-auth", facts, "disable")
    assert {a.keyword for a in actions} == {
        "PasswordAuthentication",
        "KbdInteractiveAuthentication",
    }
    done = after_sshd(facts, actions)
    assert run_one("ssh-password-auth", done).status is Status.PASS
    assert plan("ssh-password-auth", done, "disable") == ()


@pytest.mark.parametrize("value", ["no", "yes"])
def test_use_dns_both_ways(value: str) -> None:
    facts = sshd_facts("UseDNS maybe-not\n" if value == "yes" else "UseDNS yes\n")
    actions = plan("ssh-use-dns", facts, value)
    done = after_sshd(facts, actions)
    assert f"UseDNS {value}" in "".join(done.sshd_files.values())


def test_no_sshd_means_nothing_to_plan() -> None:
    for check_id, option in (("root-ssh-login", "no"), ("ssh-password-auth", "disable")):
        assert plan(check_id, Facts(), option) == ()


def account(name: str, uid: int, state: PasswordState) -> Account:
    return Account(name, uid, uid, f"/home/{name}", "/bin/bash", state)


def test_password_locks_and_first_boot_unit() -> None:
    facts = Facts(
        accounts=(
            account("root", 0, PasswordState.USABLE),
            account("bob", 1001, PasswordState.EMPTY),
            account("eve", 1002, PasswordState.LOCKED),
        )
    )
    assert plan("root-password", facts, "lock") == (
        LockPassword(check_id="root-password", user="root"),
    )
    with_unit = plan("root-password", facts, "lock-and-randomise-at-first-boot")
    unit = next(a for a in with_unit if isinstance(a, WriteFile))
    assert unit.path == f"/etc/systemd/system/{_plans.ROOT_PASSWORD_UNIT}"
    assert b"chpasswd" in unit.content and b"rc.local" not in unit.content
    assert any(
        isinstance(a, Symlink) and a.path.endswith(".wants/" + _plans.ROOT_PASSWORD_UNIT)
        for a in with_unit
    )
    users = plan("user-passwords", facts, "lock")
    assert users == (LockPassword(check_id="user-passwords", user="bob", was_empty=True),)


def test_disable_replaces_every_hash_even_a_locked_one() -> None:
    locked_hash = dataclasses.replace(
        account("eve", 1002, PasswordState.LOCKED), password_scheme="6"
    )
    facts = Facts(
        accounts=(
            account("root", 0, PasswordState.USABLE),
            account("bob", 1001, PasswordState.EMPTY),
            locked_hash,
            account("svc", 999, PasswordState.LOCKED),  # "*": no hash to remove
        )
    )
    (root,) = plan("root-password", facts, "disable")
    assert root == DisablePassword(check_id="root-password", user="root")
    assert not root.reversible and "cannot be undone" in root.describe()
    users = plan("user-passwords", facts, "disable")
    assert users == tuple(
        DisablePassword(check_id="user-passwords", user=u) for u in ("bob", "eve")
    )
    done = Facts(accounts=(account("root", 0, PasswordState.LOCKED),))
    assert plan("root-password", done, "disable") == ()
    assert plan("root-password", done, "lock") == ()


def test_authorized_keys_clear_is_final_and_reversible_keep_changes_nothing() -> None:
    info = FileInfo("/root/.ssh/authorized_keys", size=81, mode=0o600, mtime=5, dev=3, ino=9)
    ak = AuthorizedKeysFile(info, "root")
    root = Account("root", 0, 0, "/root", "/bin/sh", PasswordState.LOCKED)
    facts = Facts(accounts=(root,), authorized_keys=(ak,))
    (action,) = plan("authorized-keys", facts, "clear")
    assert isinstance(action, DeleteFile) and action.phase is Phase.FINAL and action.reversible
    assert action.expect == info  # the step checks the file is still the one probed
    assert plan("authorized-keys", facts, "keep-and-exclude") == ()


def test_host_keys_need_a_regeneration_unit_before_deletion() -> None:
    key = HostKey(
        FileInfo("/etc/ssh/ssh_host_ed25519_key"), FileInfo("/etc/ssh/ssh_host_ed25519_key.pub")
    )
    facts = Facts(host_keys=(key,))
    actions = plan("ssh-host-keys", facts, "delete-and-regenerate")
    normal = [a for a in actions if a.phase is Phase.NORMAL]
    final = [a for a in actions if a.phase is Phase.FINAL]
    assert {type(a) for a in normal} == {WriteFile, Symlink}
    assert all(isinstance(a, DeleteFile) and not a.reversible for a in final)
    assert [a.shred for a in final] == [True, False]  # the private key is shredded
    # Simulate the apply: the unit exists and is enabled, the keys are gone.
    unit_text = _plans.KEYGEN_TEXT
    done = Facts(units=(Unit(f"/etc/systemd/system/{_plans.KEYGEN_UNIT}", unit_text, True),))
    assert run_one("ssh-host-keys", done).status is Status.PASS
    assert plan("ssh-host-keys", done, "delete-and-regenerate") == ()


def test_launch_key_unit_uses_the_configured_endpoint_and_imdsv2() -> None:
    facts = Facts(
        accounts=(
            account("root", 0, PasswordState.LOCKED),
            account("admin", 1000, PasswordState.LOCKED),
        ),
        sudoers={"/etc/sudoers.d/admin": "admin ALL=(ALL) NOPASSWD:ALL\n"},
    )
    actions = plan("launch-key", facts, "imds-fetch-unit")
    unit = next(a for a in actions if isinstance(a, WriteFile))
    text = unit.content.decode()
    assert f"base={ENDPOINT}/latest" in text
    assert "X-aws-ec2-metadata-token-ttl-seconds" in text and "-X PUT" in text
    assert "public-keys/0/openssh-key" in text and "u=admin;" in text
    # installed and enabled, the check agrees it is an IMDSv2 fetch
    done = dataclasses.replace(facts, units=(Unit(unit.path, text, True),))
    assert run_one("launch-key", done).status is Status.PASS
    chosen = plan("launch-key", facts, "imds-fetch-unit:admin")
    assert b"u=admin;" in next(a for a in chosen if isinstance(a, WriteFile)).content
    with pytest.raises(UsageError, match="never goes to root"):
        plan("launch-key", facts, "imds-fetch-unit:root")
    with pytest.raises(UsageError):
        plan("launch-key", facts, "imds-fetch-unit:nobody-here")
    with pytest.raises(PlanRefused, match="not installed"):
        plan("launch-key", facts, "cloud-init")
    disabled = Facts(cloud_init=CloudInit(installed=True, enabled=False))
    assert plan("launch-key", disabled, "cloud-init") == (
        DeleteFile(check_id="launch-key", path="/etc/cloud/cloud-init.disabled"),
    )


def test_launch_key_refuses_an_endpoint_that_is_not_a_plain_url() -> None:
    with pytest.raises(UsageError):
        plan("launch-key", Facts(), "imds-fetch-unit", PlanContext(imds_endpoint="http://x/$(id)"))


def test_authorized_keys_outside_homes_and_etc_ssh_are_never_deleted() -> None:
    accounts = (
        Account("root", 0, 0, "/root", "/bin/sh", PasswordState.LOCKED),
        Account("bob", 1000, 1000, "/home/bob", "/bin/sh", PasswordState.LOCKED),
        Account("sys", 2, 2, "/etc", "/usr/sbin/nologin", PasswordState.LOCKED),
    )
    files = {
        "/etc/shadow": "root",  # AuthorizedKeysFile /etc/shadow (or any absolute path)
        "/etc/ssl/private/key.pem": "bob",
        "/home/bobby/.ssh/authorized_keys": "bob",  # a prefix of bob's home, not in it
        "/etc/gshadow": "sys",  # "inside" a home that is a system directory
        "/home/bob/.ssh/authorized_keys": "bob",
        "/etc/ssh/keys/bob": "bob",
    }
    facts = Facts(
        accounts=accounts,
        authorized_keys=tuple(AuthorizedKeysFile(FileInfo(p), u) for p, u in files.items()),
    )
    actions = plan("authorized-keys", facts, "clear")
    assert [a.path for a in actions] == ["/home/bob/.ssh/authorized_keys", "/etc/ssh/keys/bob"]


def test_credentials_delete_or_move_keeping_the_path() -> None:
    info = FileInfo("/home/a/.aws/credentials", size=10, mode=0o600, uid=1000, owner="a")
    cred = CredentialFile(info, "aws-credentials")
    facts = Facts(credentials=(cred,))
    (delete,) = plan("bundle-credentials", facts, "delete")
    assert delete.shred and not delete.reversible and delete.phase is Phase.FINAL
    assert delete.expect == info and "(owner a)" in delete.describe()
    (move,) = plan("bundle-credentials", facts, "move-outside-bundle")
    assert isinstance(move, MoveFile) and move.reversible
    assert move.destination == "/mnt/ami-wizard-moved/home/a/.aws/credentials"
    assert move.expect == info
    # an image has no place outside the image
    with pytest.raises(PlanRefused, match="use delete"):
        plan("bundle-credentials", dataclasses.replace(facts, live=False), "move-outside-bundle")


def test_history_shred_is_last_and_planned_even_when_none_found() -> None:
    (action,) = plan("shell-history", Facts(histories=(FileInfo("/root/.bash_history"),)), "shred")
    assert isinstance(action, ShredHistories) and action.phase is Phase.LAST
    assert action.files == ("/root/.bash_history",) and not action.reversible
    assert plan("shell-history", Facts(), "shred")[0].phase is Phase.LAST


def test_machine_id_empty_and_dbus_link() -> None:
    facts = Facts(machine_id="abc\n", dbus_machine_id="abc\n")
    actions = plan("machine-id", facts, "empty")
    assert (
        WriteFile(check_id="machine-id", path="/etc/machine-id", content=b"", mode=0o444) in actions
    )
    assert any(isinstance(a, Symlink) and a.target == "/etc/machine-id" for a in actions)
    assert plan("machine-id", Facts(machine_id=""), "empty") == ()


def test_cloud_init_clean_live_runs_it_image_deletes_state() -> None:
    ci = CloudInit(
        installed=True, enabled=True, state_entries=("instances/i-1", "/var/log/cloud-init.log")
    )
    (live,) = plan("cloud-init-state", Facts(cloud_init=ci, live=True), "clean")
    assert isinstance(live, RunCommand) and live.argv == ("cloud-init", "clean", "--logs")
    image = plan("cloud-init-state", Facts(cloud_init=ci, live=False), "clean")
    assert [a.path for a in image] == ["/var/lib/cloud/instances/i-1", "/var/log/cloud-init.log"]


def test_ami_tools_update_only_live_with_a_package_manager() -> None:
    assert plan("ami-tools", Facts(pending_updates=0), "update") == ()
    (run,) = plan("ami-tools", Facts(pending_updates=3, package_manager="apt"), "update")
    assert "apt-get" in run.argv and run.argv[-1] == "upgrade" and not run.reversible
    with pytest.raises(PlanRefused):
        plan("ami-tools", Facts(pending_updates=3, package_manager="apt", live=False), "update")


def test_bundle_excludes_writes_on_the_operators_machine() -> None:
    (action,) = plan(
        "bundle-excludes", Facts(histories=(FileInfo("/root/.bash_history"),)), "write"
    )
    assert isinstance(action, ExportExcludeList) and "/root/.bash_history" in action.entries


@pytest.mark.parametrize("check_id", INSTANCE_CHECKS)
def test_every_check_has_a_plan_and_rejects_unknown_options(check_id: str) -> None:
    with pytest.raises(UsageError):
        plan(check_id, Facts(), "no-such-option")
    for option in catalog()[check_id].options:
        try:
            actions = plan(check_id, Facts(live=False), option.id)
        except PlanRefused:
            continue
        assert all(a.check_id == check_id for a in actions)
        # An option the catalog calls irreversible never plans a reversible-only change set
        # that claims otherwise, and every action says what it does in words.
        assert all(a.describe() for a in actions)


def test_unit_texts_escape_for_systemd() -> None:
    # systemd reads `$$` as `$` and `%%` as `%`; a lone `$` or `%` would be expanded by it.
    for text in (
        _plans.KEYGEN_TEXT,
        _plans.ROOT_PASSWORD_TEXT,
        _plans.launch_key_text(ENDPOINT, "root"),
    ):
        for line in text.splitlines():
            if line.startswith("ExecStart="):
                assert not re.search(r"(?<!\$)\$(?!\$)", line.replace("$$", "")), line
                assert not re.search(r"%(?!%)", line.replace("%%", "")), line
