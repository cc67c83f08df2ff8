"""Shared pieces of the checks' pure `plan()` functions: option validation and first-boot units.

The unit texts are written here once (like the shared sshd helper) so that the checks that
install them and the tests that read them back agree on names and contents.
"""

from __future__ import annotations

import re

from checks._cloudinit import default_user
from checks.base import catalog
from wizard.actions import (
    Action,
    DisablePassword,
    LockPassword,
    PlanContext,
    PlanRefused,
    Symlink,
    WriteFile,
)
from wizard.errors import UsageError
from wizard.facts import Account, Facts, PasswordState

UNIT_DIR = "/etc/systemd/system"
WANTS_DIR = f"{UNIT_DIR}/multi-user.target.wants"

KEYGEN_UNIT = "ssh-keygen-firstboot.service"
LAUNCH_KEY_UNIT = "launch-key-imds.service"
ROOT_PASSWORD_UNIT = "root-password-firstboot.service"  # noqa: S105 - a unit name

# A user name we are willing to put into a unit file and a shell command.
_SAFE_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")


def option(check_id: str, option_id: str) -> str:
    """The option id if the catalog lists it for this check, else a UsageError."""
    entry = catalog()[check_id]
    base = option_id.split(":", 1)[0]
    if entry.option(base) is None:
        known = ", ".join(o.id for o in entry.options) or "none"
        raise UsageError(f"{check_id} has no option {option_id!r} (options: {known})")
    return base


def password_actions(check_id: str, accounts: list[Account], chosen: str) -> list[Action]:
    """Lock (`lock*` options) or disable (`disable`) the accounts' passwords; the same step
    removes the account files' backup copies (see LockPassword). Disabling also takes a
    locked password that still carries a hash ("!$6$..."): locking keeps the hash."""
    actions: list[Action] = []
    for a in accounts:
        open_ = a.password in (PasswordState.USABLE, PasswordState.EMPTY)
        if chosen == "disable":
            if open_ or (a.password is PasswordState.LOCKED and a.password_scheme):
                actions.append(DisablePassword(check_id=check_id, user=a.name))
        elif open_:
            actions.append(
                LockPassword(
                    check_id=check_id, user=a.name, was_empty=a.password is PasswordState.EMPTY
                )
            )
    return actions


def unit_actions(check_id: str, name: str, text: str) -> tuple[WriteFile | Symlink, ...]:
    """Install a unit and enable it the way `systemctl enable` would (a wants/ symlink)."""
    path = f"{UNIT_DIR}/{name}"
    return (
        WriteFile(check_id=check_id, path=path, content=text.encode(), mode=0o644),
        Symlink(check_id=check_id, path=f"{WANTS_DIR}/{name}", target=path),
    )


def unit_installed(facts: Facts, name: str) -> bool:
    """True when the unit is already on the target and enabled (so nothing to do)."""
    return any(u.path == f"{UNIT_DIR}/{name}" and u.enabled for u in facts.units)


KEYGEN_TEXT = """\
# Installed by ami-wizard: this image ships without SSH host keys.
# Creates any missing host key before sshd starts, on every boot (ssh-keygen -A only
# writes the keys that are missing). Debian's ssh.service does not do this itself.
[Unit]
Description=Create missing SSH host keys before sshd starts
Before=ssh.service sshd.service
ConditionPathExists=/usr/bin/ssh-keygen

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""

# Where the first-boot units remember what they did. Each stamp holds the id of the instance
# it was written on (machine-id, or the instance id from metadata), never a bare "done": an
# image whose builder booted with the units still runs them on every new instance.
STATE_DIR = "/var/lib/ami-wizard"
ROOT_PASSWORD_STAMP = f"{STATE_DIR}/root-password.machine-id"
LAUNCH_KEY_STAMP = f"{STATE_DIR}/launch-key.instance-id"
# The stamp of the first version of the root-password unit: present in an image, it stopped
# the unit on every launch (see checks/root_password.py).
LEGACY_ROOT_PASSWORD_STAMP = "/var/lib/root-password-firstboot.done"  # noqa: S105 - a path
# Every stamp above: the probe reports which of them exist (Facts.stamps).
FIRST_BOOT_STAMPS = (LEGACY_ROOT_PASSWORD_STAMP, ROOT_PASSWORD_STAMP, LAUNCH_KEY_STAMP)

# Each instance gets a root password nobody knows, then it is locked again: no two instances
# share a hash and nobody can log in with it. The stamp keys it to this instance's machine-id
# (emptied in the image, so new on every launch).
ROOT_PASSWORD_TEXT = f"""\
# Installed by ami-wizard: give root a random, unknown and locked password once per instance.
# {ROOT_PASSWORD_STAMP} holds the machine-id it was done for.
[Unit]
Description=Randomise and lock root's password on the first boot of each instance

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'id=$$(cat /etc/machine-id); s={ROOT_PASSWORD_STAMP}; \
[ -n "$$id" ] || exit 1; [ "$$(cat "$$s" 2>/dev/null)" = "$$id" ] && exit 0; \
printf "root:%%s\\\\n" "$$(head -c 48 /dev/urandom | base64 | tr -d /+=)" | chpasswd && \
usermod -L root && mkdir -p {STATE_DIR} && printf "%%s\\\\n" "$$id" > "$$s"'

[Install]
WantedBy=multi-user.target
"""


def launch_key_text(endpoint: str, user: str) -> str:
    """A unit that fetches the launch key over IMDSv2 (token PUT, then GET) into `user`'s
    authorized_keys, once per instance: the stamp holds the instance id it was done for, so a
    reboot never re-adds a key the user removed, and a new instance always gets its key. The
    whole script sits in the unit so that it can be audited from the unit file alone; `$$`
    and `%%` are systemd's escapes for `$` and `%`."""
    if not _SAFE_USER.match(user):
        raise UsageError(f"cannot install a launch-key unit for user {user!r}")
    if not re.fullmatch(r"https?://[A-Za-z0-9.\[\]:-]+", endpoint):
        raise UsageError(f"metadata endpoint {endpoint!r} is not a plain http(s) base URL")
    script = (
        f"base={endpoint}/latest; u={user}; s={LAUNCH_KEY_STAMP}; "
        'tok=$$(curl -fsS -m 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" '
        '"$$base/api/token") || exit 1; '
        'id=$$(curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $$tok" '
        '"$$base/meta-data/instance-id") || exit 1; '
        '[ "$$(cat "$$s" 2>/dev/null)" = "$$id" ] && exit 0; '
        'key=$$(curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $$tok" '
        '"$$base/meta-data/public-keys/0/openssh-key") || exit 1; '
        'home=$$(getent passwd "$$u" | cut -d: -f6); [ -n "$$home" ] || exit 1; '
        'install -d -m 700 -o "$$u" -g "$$(id -g "$$u")" "$$home/.ssh"; '
        'f="$$home/.ssh/authorized_keys"; touch "$$f"; '
        'grep -qxF "$$key" "$$f" || printf "%%s\\\\n" "$$key" >> "$$f"; '
        'chown "$$u:" "$$f"; chmod 600 "$$f"; '
        f'mkdir -p {STATE_DIR}; printf "%%s\\\\n" "$$id" > "$$s"'
    )
    return (
        "# Installed by ami-wizard: install the launch key pair's public key, once per instance.\n"
        "# IMDSv2: a session token (x-aws-ec2-metadata-token) first, then\n"
        "# meta-data/public-keys/0/openssh-key, appended to the user's authorized_keys.\n"
        "[Unit]\n"
        f"Description=Install the EC2 launch key for {user} (IMDSv2)\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "Before=ssh.service sshd.service\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart=/bin/sh -c '{script}'\n\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


# Who else usually receives the launch key, after cloud-init's default user (in this order).
LAUNCH_KEY_USERS = ("ec2-user", "admin", "ubuntu", "debian")
FIRST_REGULAR_UID = 1000
NOBODY_UID = 65534


def launch_user_problem(facts: Facts, name: str) -> str | None:
    """Why `name` cannot receive the launch key, or None. Never a system account: root, a
    UID below 1000 (unless it is cloud-init's named default user), nobody, or an account
    whose shell refuses logins."""
    if not _SAFE_USER.match(name):
        return f"{name!r} is not a valid user name"
    found = facts.account(name)
    if found is None:
        return f"no account {name!r} on the target (create it first, or pick another)"
    if found.uid == 0:
        return f"{name} has UID 0: the launch key never goes to root (root logins are refused)"
    if not found.can_login_shell:
        return f"{name} is a system account: its shell {found.shell or '(none)'} refuses logins"
    system = found.uid < FIRST_REGULAR_UID and name != default_user(facts)
    if system or found.uid >= NOBODY_UID:
        return f"{name} is a system account (UID {found.uid}): pick a login user"
    return None


def launch_user_candidates(facts: Facts) -> tuple[str, ...]:
    """Who may receive the launch key, the default first: cloud-init's default user, then
    ec2-user, admin, ubuntu, debian, then other login accounts (sudo-capable first). Only
    accounts that exist and are no system account."""
    sudo_text = "\n".join(facts.sudoers.values())

    def can_sudo(name: str) -> bool:
        return bool(re.search(rf"(^|\s){re.escape(name)}\s", sudo_text, re.MULTILINE))

    others = sorted((a.name for a in facts.accounts), key=lambda n: not can_sudo(n))
    names = dict.fromkeys([default_user(facts), *LAUNCH_KEY_USERS, *others])
    return tuple(n for n in names if n and launch_user_problem(facts, n) is None)


def launch_key_user(facts: Facts, ctx: PlanContext, option_id: str) -> str:
    """Who receives the launch key: `imds-fetch-unit:USER`, else the operator's choice (config
    launch_key.user), else the default of `launch_user_candidates` (after the operator's own
    non-root login when none of the usual names exists). Never a system account."""
    _, _, chosen = option_id.partition(":")
    for name in (chosen, ctx.launch_key_user):
        if name:
            problem = launch_user_problem(facts, name)
            if problem:
                raise UsageError(f"launch-key user: {problem}")
            return name
    candidates = launch_user_candidates(facts)
    named = [n for n in candidates if n in (default_user(facts), *LAUNCH_KEY_USERS)]
    login = ctx.login_user
    if not named and login and launch_user_problem(facts, login) is None:
        return login
    if candidates:
        return candidates[0]
    raise PlanRefused(
        "no account can receive the launch key (no login user with UID 1000 or more): create "
        "one, or choose cloud-init, which creates its default user at first boot"
    )
