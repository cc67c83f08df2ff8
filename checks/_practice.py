"""The flaws `ami-wizard learn` can plant, by guideline: each guideline knows the ways an
unprepared image gets it wrong, so they live here beside the checks (pure data; the engine
picks them with a seeded random generator and writes them, `wizard/learn_*`).

A variant is a level (basic: where the guideline's text says; real-world: where it really
hides; tricky: a disguise that fools a quick look) and a function of a `random.Random` that
returns the changes to the clean base tree (`wizard/learn_image.py`). The random generator
only picks names and places; the same generator state always gives the same changes.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from checks._practice_changes import (
    EXAMPLE_KEY_ID,
    EXAMPLE_SECRET,
    FAKE_HASH,
    LEVELS,
    SSHD,
    SSHD_ANCHOR,
    Append,
    Change,
    Edit,
    Key,
    Variant,
    Write,
    user,
)
from checks._practice_system import SYSTEM_VARIANTS


def _sshd_global(line: str) -> Edit:
    return Edit(SSHD, SSHD_ANCHOR, SSHD_ANCHOR + line + "\n")


def _dropin(rng: random.Random, line: str) -> Append:
    """A line in a drop-in; two flaws that pick the same file name share the file."""
    name = rng.choice(("00-local", "05-build", "10-vendor", "01-image"))
    return Append(f"/etc/ssh/sshd_config.d/{name}.conf", f"# added by a build step\n{line}\n")


def _match_block(rng: random.Random, line: str, root: bool = False) -> Append:
    """A Match block at the end of sshd_config (for root's login: one that can match root)."""
    who = ("Address 10.0.0.0/8", "User root", "LocalPort 22", "Host *.internal")
    if not root:
        who = ("User deploy", "Group sudo", "Address 192.168.0.0/16", "User admin,deploy")
    return Append(SSHD, f"\nMatch {rng.choice(who)}\n    {line}\n")


VARIANTS: dict[str, tuple[Variant, ...]] = {
    "root-ssh-login": (
        Variant(
            "main-file",
            "basic",
            "PermitRootLogin yes in sshd_config itself",
            lambda r: (_sshd_global("PermitRootLogin yes"),),
        ),
        Variant(
            "drop-in",
            "real-world",
            "a drop-in in sshd_config.d, read before the main "
            "file's own line: the first value sshd reads wins",
            lambda r: (_dropin(r, "PermitRootLogin yes"),),
        ),
        Variant(
            "match",
            "tricky",
            "a Match block at the end of sshd_config: the global line "
            "looks right, but it is overridden for some connections",
            lambda r: (_match_block(r, "PermitRootLogin yes", root=True),),
        ),
    ),
    "ssh-password-auth": (
        Variant(
            "main-file",
            "basic",
            "PasswordAuthentication yes in sshd_config",
            lambda r: (Edit(SSHD, "PasswordAuthentication no\n", "PasswordAuthentication yes\n"),),
        ),
        Variant(
            "drop-in",
            "real-world",
            "a drop-in (as cloud images ship) that wins over the main file's 'no'",
            lambda r: (_dropin(r, "PasswordAuthentication yes"),),
        ),
        Variant(
            "match",
            "tricky",
            "a Match block turns passwords back on for some users or addresses",
            lambda r: (_match_block(r, "PasswordAuthentication yes"),),
        ),
    ),
    "ssh-use-dns": (
        Variant(
            "main-file",
            "basic",
            "UseDNS yes in sshd_config",
            lambda r: (Edit(SSHD, "UseDNS no\n", "UseDNS yes\n"),),
        ),
        Variant(
            "drop-in",
            "real-world",
            "UseDNS yes in a drop-in",
            lambda r: (_dropin(r, "UseDNS yes"),),
        ),
    ),
    "root-password": (
        Variant(
            "hash",
            "basic",
            "root has a password hash in /etc/shadow",
            lambda r: (Edit("/etc/shadow", "root:*:", f"root:{FAKE_HASH}:"),),
        ),
        Variant(
            "empty",
            "tricky",
            "root's password field is empty: no password at all is "
            "needed where an empty one is accepted",
            lambda r: (Edit("/etc/shadow", "root:*:", "root::"),),
        ),
    ),
    "user-passwords": (
        Variant(
            "builder",
            "basic",
            "the image builder's account kept its password",
            lambda r: (Edit("/etc/shadow", "admin:!:", f"admin:{FAKE_HASH}:"),),
        ),
        Variant(
            "second-user",
            "real-world",
            "a second user added by hand has a password",
            lambda r: _withuser(
                r,
                1101,
                lambda name, home: (Edit("/etc/shadow", f"{name}:!:", f"{name}:{FAKE_HASH}:"),),
            ),
        ),
        Variant(
            "service-empty",
            "tricky",
            "a service account (not a person) has an empty password field",
            lambda r: (Edit("/etc/shadow", "deploy:!:", "deploy::"),),
        ),
    ),
    "authorized-keys": (
        Variant(
            "root",
            "basic",
            "the builder's key in /root/.ssh/authorized_keys",
            lambda r: (
                Write("/root/.ssh/authorized_keys", Key("builder", True, "admin@laptop"), 0o600),
            ),
        ),
        Variant(
            "second-user",
            "real-world",
            "a key in another user's home, not only root's",
            lambda r: _withuser(
                r,
                1102,
                lambda name, home: (
                    Write(
                        f"{home}/.ssh/authorized_keys",
                        Key("colleague", True, f"{name}@desk"),
                        0o600,
                    ),
                ),
            ),
        ),
        Variant(
            "odd-place",
            "tricky",
            "AuthorizedKeysFile points sshd at a second place, under /etc/ssh, where nobody looks",
            lambda r: (
                _sshd_global("AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u"),
                Write("/etc/ssh/keys/root", Key("ci", True, "ci-runner"), 0o600),
            ),
        ),
    ),
    "ssh-host-keys": (
        Variant(
            "ed25519",
            "basic",
            "the build machine's host key in /etc/ssh",
            lambda r: (
                Write("/etc/ssh/ssh_host_ed25519_key", Key("host"), 0o600),
                Write("/etc/ssh/ssh_host_ed25519_key.pub", Key("host", True, "root@builder")),
            ),
        ),
        Variant(
            "private-only",
            "tricky",
            "only the private half is left (its .pub was "
            "deleted), so a glance at the .pub files misses it",
            lambda r: (Write("/etc/ssh/ssh_host_ed25519_key", Key("host-old"), 0o600),),
        ),
    ),
    "bundle-credentials": (
        Variant(
            "aws-dir",
            "basic",
            "an AWS credentials file in a home",
            lambda r: (
                Write(
                    "/home/admin/.aws/credentials",
                    f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\n"
                    f"aws_secret_access_key = {EXAMPLE_SECRET}\n",
                    0o600,
                ),
            ),
        ),
        Variant(
            "private-key",
            "real-world",
            "an SSH private key copied to a backup folder",
            lambda r: (
                Write(
                    f"/opt/{r.choice(('backup', 'old', 'migrate'))}/id_ed25519",
                    Key("deploy-key"),
                    0o600,
                ),
            ),
        ),
        Variant(
            "bashrc-export",
            "tricky",
            "an access key exported from a .bashrc: not a credentials file by its name",
            lambda r: (
                Write("/srv/deploy/.bashrc", f"export AWS_ACCESS_KEY_ID={EXAMPLE_KEY_ID}\n"),
            ),
        ),
        Variant(
            "dotenv",
            "tricky",
            "an application's .env with a token in it",
            lambda r: (
                Write(
                    f"/opt/{r.choice(('app', 'shop', 'api'))}/.env",
                    "DATABASE_URL=postgres://db/app\nAPI_TOKEN=tok-practice-0000\n",
                    0o600,
                ),
            ),
        ),
    ),
    "shell-history": (
        Variant(
            "root",
            "basic",
            "root's .bash_history",
            lambda r: (
                Write(
                    "/root/.bash_history", "aws configure\nsudo vi /etc/ssh/sshd_config\n", 0o600
                ),
            ),
        ),
        Variant(
            "second-user",
            "real-world",
            "an old history in a second user's home",
            lambda r: _withuser(
                r,
                1103,
                lambda name, home: (
                    Write(f"{home}/.bash_history", "mysql -u root -p\nls\n", 0o600),
                ),
            ),
        ),
        Variant(
            "repl",
            "tricky",
            "a REPL history (python, mysql, less) in a service "
            "account's home: not a shell, still a history",
            lambda r: (
                Write(
                    f"/srv/deploy/{r.choice(('.python_history', '.mysql_history', '.lesshst'))}",
                    "select 1;\n",
                    0o600,
                ),
            ),
        ),
    ),
    "machine-id": (
        Variant(
            "filled",
            "basic",
            "/etc/machine-id holds the builder's id",
            lambda r: (Write("/etc/machine-id", f"{r.getrandbits(128):032x}\n", 0o444),),
        ),
        Variant(
            "dbus-copy",
            "tricky",
            "/etc/machine-id is empty, but dbus keeps a separate copy with the id",
            lambda r: (Write("/var/lib/dbus/machine-id", f"{r.getrandbits(128):032x}\n"),),
        ),
    ),
    "cloud-init-state": (
        Variant(
            "instance",
            "basic",
            "cloud-init's record of the build instance under /var/lib/cloud",
            lambda r: _cloud_state(r),
        ),
    ),
}
# The system-wide guidelines' flaws, and more disguises for credentials, live in
# checks._practice_system.
for _check_id, _more in SYSTEM_VARIANTS.items():
    VARIANTS[_check_id] = VARIANTS.get(_check_id, ()) + _more


# Tricky scenarios also plant look-alikes that are fine: a learner who "fixes" them wastes
# time, one who reads the probe's evidence does not. Every one leaves its guideline passing.
DECOYS: tuple[tuple[str, Callable[[random.Random], tuple[Change, ...]]], ...] = (
    (
        "a commented-out PermitRootLogin yes",
        lambda r: (_sshd_global("#PermitRootLogin yes   # old setting, kept for reference"),),
    ),
    (
        "a commented-out PasswordAuthentication yes in a drop-in",
        lambda r: (_dropin(r, "#PasswordAuthentication yes"),),
    ),
    (
        "an empty authorized_keys in the builder's home",
        lambda r: (Write("/home/admin/.ssh/authorized_keys", "", 0o600),),
    ),
    (
        "a public key on its own (no private half) in a home",
        lambda r: (Write("/home/admin/.ssh/id_ed25519.pub", Key("laptop", True, "admin@laptop")),),
    ),
)


def _withuser(
    rng: random.Random, uid: int, more: Callable[[str, str], tuple[Change, ...]]
) -> tuple[Change, ...]:
    name, home, changes = user(rng, uid)
    return (*changes, *more(name, home))


def _cloud_state(rng: random.Random) -> tuple[Change, ...]:
    iid = f"i-0{rng.getrandbits(60):015x}"
    return (
        Write(f"/var/lib/cloud/instances/{iid}/boot-finished", "done\n"),
        Write("/var/lib/cloud/data/instance-id", iid + "\n"),
    )


def variants(check_id: str, level: str) -> tuple[Variant, ...]:
    """The variants of one guideline a scenario at `level` may use: its own level's, or
    the nearest easier level's when the guideline has none at that level."""
    rank = LEVELS.index(level)
    pool = VARIANTS.get(check_id, ())
    for wanted in LEVELS[rank::-1]:
        found = tuple(v for v in pool if v.level == wanted)
        if found:
            return found
    return ()
