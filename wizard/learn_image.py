"""The clean base of a learn scenario: a small image that passes the guidelines a lesson
teaches, so that every failing badge on it is a flaw the scenario planted on purpose.

Pure data: `base_files()` is the tree as {path: File}; `wizard.learn_plant` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks._practice import Key


@dataclass(frozen=True)
class File:
    """One file of a scenario's tree: text, or an SSH key the planter derives from the seed."""

    content: str | Key
    mode: int = 0o644


USERS_FILE = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sshd:x:105:65534::/run/sshd:/usr/sbin/nologin
admin:x:1000:1000:Image builder:/home/admin:/bin/bash
deploy:x:998:998:Deploy bot:/srv/deploy:/bin/sh
"""

# Every account locked: no usable password anywhere in the clean base.
SHADOW = """\
root:*:19700:0:99999:7:::
daemon:*:19700:0:99999:7:::
sshd:*:19700:0:99999:7:::
admin:!:19700:0:99999:7:::
deploy:!:19700:0:99999:7:::
"""

SSHD_CONFIG = """\
# Practice image for ami-wizard learn.
Include /etc/ssh/sshd_config.d/*.conf

Port 22
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
UsePAM yes
Subsystem sftp /usr/lib/openssh/sftp-server
"""

CLOUD_CFG = """\
users:
  - default
disable_root: true
ssh_pwauth: false
cloud_init_modules:
  - seed_random
  - bootcmd
  - write-files
  - set_hostname
  - users-groups
  - ssh
cloud_config_modules:
  - runcmd
"""

OS_RELEASE = """\
PRETTY_NAME="Practice Linux 1 (ami-wizard learn)"
NAME="Practice Linux"
ID=practice
ID_LIKE=debian
VERSION_ID="1"
"""

# Directories the tree has even when no file is planted in them (homes the probe walks).
DIRS = ("/root", "/home/admin", "/srv/deploy", "/tmp", "/var/tmp", "/opt", "/etc/ssh/sshd_config.d")


def base_files() -> dict[str, File]:
    """The clean base, path -> File (a new dict each call: the scenario edits it)."""
    return {
        "/etc/os-release": File(OS_RELEASE),
        "/etc/hostname": File(""),  # empty: cloud-init names each instance
        "/etc/passwd": File(USERS_FILE),
        "/etc/shadow": File(SHADOW, 0o640),
        "/etc/sudoers": File("root ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n", 0o440),
        "/etc/ssh/sshd_config": File(SSHD_CONFIG),
        # Not a real sshd: just enough for the version to be read, as from the real binary.
        "/usr/sbin/sshd": File("practice placeholder for sshd OpenSSH_9.2p1\n", 0o755),
        "/etc/machine-id": File("", 0o444),
        "/etc/cloud/cloud.cfg": File(CLOUD_CFG),
        "/usr/bin/cloud-init": File("#!/bin/sh\n# practice placeholder\n", 0o755),
        "/usr/bin/apt-get": File("#!/bin/sh\n# practice placeholder\n", 0o755),
    }
