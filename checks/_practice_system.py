"""Learn flaws for the guidelines about the system as a whole: credentials found by their
content, cloud-init's configuration, build traces, and accounts and privilege (pure data, like
`checks._practice`, which merges these into its table)."""

from __future__ import annotations

import random

from checks._practice_changes import (
    EXAMPLE_KEY_ID,
    EXAMPLE_SECRET,
    Append,
    Change,
    Variant,
    Write,
    user,
)

CLOUD_DROPINS = "/etc/cloud/cloud.cfg.d"


def _cloud_dropin(rng: random.Random, text: str) -> Write:
    name = rng.choice(("50-build", "60-vendor", "90-image", "99-local"))
    return Write(f"{CLOUD_DROPINS}/{name}.cfg", f"# written by a build step\n{text}")


def _unit_env(rng: random.Random) -> tuple[Change, ...]:
    name = rng.choice(("shop", "billing", "sync"))
    return (
        Write(
            f"/etc/systemd/system/{name}.service",
            "[Unit]\nDescription=Practice app\n\n[Service]\n"
            f"Environment=AWS_ACCESS_KEY_ID={EXAMPLE_KEY_ID}\n"
            f"Environment=AWS_SECRET_ACCESS_KEY={EXAMPLE_SECRET}\n"
            f"ExecStart=/opt/{name}/run\n\n[Install]\nWantedBy=multi-user.target\n",
        ),
    )


def _second_root(rng: random.Random) -> tuple[Change, ...]:
    name = rng.choice(("backup", "toor", "maint"))
    return (
        Append("/etc/passwd", f"{name}:x:0:0:Maintenance:/root:/bin/bash\n"),
        Append("/etc/shadow", f"{name}:!:19700:0:99999:7:::\n"),
    )


def _ci_sudo(rng: random.Random) -> tuple[Change, ...]:
    name, _home, changes = user(rng, 1104)
    file = rng.choice(("90-ci", "50-jenkins", "10-provision"))
    return (
        *changes,
        Append("/etc/sudoers", "@includedir /etc/sudoers.d\n"),
        Write(f"/etc/sudoers.d/{file}", f"{name} ALL=(ALL) NOPASSWD: ALL\n", 0o440),
    )


SYSTEM_VARIANTS: dict[str, tuple[Variant, ...]] = {
    "bundle-credentials": (
        Variant(
            "etc-environment",
            "tricky",
            "an access key and its secret in /etc/environment, which every login reads: "
            "no file name says 'credentials'",
            lambda r: (
                Append(
                    "/etc/environment",
                    f"AWS_ACCESS_KEY_ID={EXAMPLE_KEY_ID}\nAWS_SECRET_ACCESS_KEY={EXAMPLE_SECRET}\n",
                ),
            ),
        ),
        Variant(
            "unit-environment",
            "tricky",
            "Environment= lines of a systemd unit holding an access key and its secret",
            _unit_env,
        ),
    ),
    "cloud-init-config": (
        Variant(
            "pwauth-dropin",
            "basic",
            "a cloud.cfg.d drop-in that turns sshd password logins back on at first boot",
            lambda r: (_cloud_dropin(r, "ssh_pwauth: true\n"),),
        ),
        Variant(
            "root-dropin",
            "real-world",
            "a drop-in that keeps the launch key for root (disable_root: false): cloud.cfg "
            "says true, but the drop-in is read later and wins",
            lambda r: (_cloud_dropin(r, "disable_root: false\n"),),
        ),
        Variant(
            "unlocked-user",
            "tricky",
            "a later drop-in's users: list (which replaces cloud.cfg's whole) that unlocks "
            "the default user's password (lock_passwd: false)",
            lambda r: (_cloud_dropin(r, "users:\n  - name: admin\n    lock_passwd: false\n"),),
        ),
    ),
    "system-traces": (
        Variant(
            "tmp-files",
            "basic",
            "the build's scripts and downloads left in /tmp",
            lambda r: (
                Write(
                    f"/tmp/{r.choice(('provision', 'build', 'setup'))}.sh",
                    "apt-get -y install nginx\n",
                ),
                Write("/var/tmp/build.log", "fetched https://artifacts.internal/app.tgz\n"),
            ),
        ),
        Variant(
            "dhcp-lease",
            "real-world",
            "the build network's DHCP lease, naming its addresses and DNS servers",
            lambda r: (
                Write(
                    f"/var/lib/dhcp/dhclient.{r.choice(('eth0', 'ens5'))}.leases",
                    'lease {\n  interface "eth0";\n  fixed-address 10.0.7.23;\n'
                    "  option domain-name-servers 10.0.0.2;\n}\n",
                ),
            ),
        ),
        Variant(
            "root-known-hosts",
            "tricky",
            "root's known_hosts listing the hosts the builder connected to: not a history "
            "file, still a record of the build",
            lambda r: (
                Write(
                    "/root/.ssh/known_hosts",
                    "git.internal ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPracticeOnlyNotARealKey00000000000000\n",
                    0o600,
                ),
            ),
        ),
    ),
    "accounts-privilege": (
        Variant(
            "second-root",
            "basic",
            "a second account with UID 0 in /etc/passwd",
            _second_root,
        ),
        Variant(
            "ci-nopasswd",
            "real-world",
            "a CI account left with passwordless sudo in a sudoers.d file",
            _ci_sudo,
        ),
        Variant(
            "world-writable",
            "tricky",
            "a login script under /etc/profile.d that anyone may rewrite (mode 0666)",
            lambda r: (
                Write(
                    f"/etc/profile.d/{r.choice(('build-env', 'proxy', 'app'))}.sh",
                    "export PATH=$PATH:/opt/app/bin\n",
                    0o666,
                ),
            ),
        ),
    ),
}
