"""The practice instance: a small root file system in a temp dir, seeded with the flaws an
unprepared image typically has, so newcomers can learn on it without touching anything real.

It is an image target: every path is under its temp root and nothing inside it is executed.
The secrets in it are fakes (AWS's documented example key), but they are masked like real ones.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from wizard.targets.image import ImageTarget

# AWS's own documentation example credentials: well known, never valid.
EXAMPLE_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"

USERS_FILE = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sshd:x:105:65534::/run/sshd:/usr/sbin/nologin
admin:x:1000:1000:Image builder:/home/admin:/bin/bash
bob:x:1001:1001:Bob:/home/bob:/bin/bash
deploy:x:998:998:Deploy bot:/srv/deploy:/bin/sh
"""

# The hashes are made-up strings shaped like SHA-512 crypt (no real password); bob has none.
SHADOW = """\
root:$6$practice$QmVhtB5Ww0WqVqmbcO2o5pI7Y6dQf3Xh5l3zY2kN2QzqR3kS3Ktl6tC0tPz3Ue0rKkQjGx2fEJkIhZtQ5tJw1.:19700:0:99999:7:::
daemon:*:19700:0:99999:7:::
sshd:*:19700:0:99999:7:::
admin:$6$practice$QmVhtB5Ww0WqVqmbcO2o5pI7Y6dQf3Xh5l3zY2kN2QzqR3kS3Ktl6tC0tPz3Ue0rKkQjGx2fEJkIhZtQ5tJw1.:19700:0:99999:7:::
bob::19700:0:99999:7:::
deploy:!:19700:0:99999:7:::
"""

SSHD_CONFIG = """\
# Practice instance: an sshd_config as an unprepared image often has it.
Include /etc/ssh/sshd_config.d/*.conf

Port 22
PermitRootLogin yes
#PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS yes
UsePAM yes
X11Forwarding yes
Subsystem sftp /usr/lib/openssh/sftp-server

Match User deploy
    PasswordAuthentication yes
"""

SSHD_DROPIN = """\
# Added by a cloud image build step.
PasswordAuthentication yes
"""

CLOUD_CFG = """\
users:
  - default
disable_root: false
ssh_pwauth: true
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
PRETTY_NAME="Practice Linux 1 (ami-wizard demo)"
NAME="Practice Linux"
ID=practice
ID_LIKE=debian
VERSION_ID="1"
"""


def _key_pair(comment: str, kind: str = "ed25519") -> tuple[bytes, bytes]:
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public + b" " + comment.encode() + b"\n"


def _write(root: Path, rel: str, data: str | bytes, mode: int = 0o644) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)


def seed_practice_image(root: Path) -> Path:
    """Fill `root` with a practice image. Returns `root`."""
    w = lambda rel, data, mode=0o644: _write(root, rel, data, mode)  # noqa: E731
    w("/etc/os-release", OS_RELEASE)
    w("/etc/hostname", "practice-builder\n")
    w("/etc/passwd", USERS_FILE)
    w("/etc/shadow", SHADOW, 0o640)
    w("/etc/sudoers", "root ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n", 0o440)
    w("/etc/sudoers.d/admin", "admin ALL=(ALL) NOPASSWD:ALL\n", 0o440)
    w("/etc/ssh/sshd_config", SSHD_CONFIG)
    w("/etc/ssh/sshd_config.d/50-cloud-init.conf", SSHD_DROPIN)
    # Not a real sshd: just enough for the version to be read, as from the real binary.
    w("/usr/sbin/sshd", "practice placeholder for sshd OpenSSH_9.2p1\n", 0o755)
    for kind in ("ed25519", "ecdsa", "rsa"):
        private, public = _key_pair("root@practice-builder", kind)
        w(f"/etc/ssh/ssh_host_{kind}_key", private, 0o600)
        w(f"/etc/ssh/ssh_host_{kind}_key.pub", public)
    _, admin_pub = _key_pair("admin@laptop")
    _, ci_pub = _key_pair("ci-runner")
    w("/root/.ssh/authorized_keys", admin_pub, 0o600)
    w("/home/admin/.ssh/authorized_keys", admin_pub + b'from="10.0.0.0/8" ' + ci_pub, 0o600)
    admin_private, admin_public = _key_pair("admin@practice-builder")
    w("/home/admin/.ssh/id_ed25519", admin_private, 0o600)
    w("/home/admin/.ssh/id_ed25519.pub", admin_public)
    w("/root/.bash_history", "aws configure\nsudo vi /etc/ssh/sshd_config\n", 0o600)
    w("/home/admin/.bash_history", "export AWS_SECRET_ACCESS_KEY=" + EXAMPLE_SECRET + "\n", 0o600)
    w("/home/admin/.python_history", "import boto3\n", 0o600)
    w("/home/bob/.mysql_history", "select * from users;\n", 0o600)
    # A hostile name: it must be reported as data and never run.
    w("/home/bob/.$(touch PWNED)history", "ls\n", 0o600)
    w(
        "/home/admin/.aws/credentials",
        f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n",
        0o600,
    )
    w("/home/admin/.aws/config", "[default]\nregion = eu-west-1\n")
    w("/tmp/pk-PRACTICE0123456789.pem", "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n", 0o600)
    w("/tmp/cert-PRACTICE0123456789.pem", "-----BEGIN CERTIFICATE-----\nnot-real\n")
    w("/srv/deploy/.git-credentials", "https://deploy:hunter2token@git.example.com\n", 0o600)
    w("/etc/machine-id", "5f1c7a0e2b8d4c39a6e1f0d2b3c4a5e6\n", 0o444)
    w("/etc/cloud/cloud.cfg", CLOUD_CFG)
    w("/usr/bin/cloud-init", "#!/bin/sh\n# practice placeholder\n", 0o755)
    w("/var/lib/cloud/instances/i-0practice0000001/boot-finished", "done\n")
    w("/var/lib/cloud/data/instance-id", "i-0practice0000001\n")
    w("/var/log/cloud-init.log", "practice log\n")
    w("/usr/bin/apt-get", "#!/bin/sh\n# practice placeholder\n", 0o755)
    for home in ("/root", "/home/admin", "/home/bob", "/srv/deploy"):
        (root / home.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return root


def make_practice_image(parent: str | None = None) -> Path:
    """Create a fresh practice image in a new temp dir (mode 0700) and return its root."""
    base = Path(tempfile.mkdtemp(prefix="ami-wizard-practice-", dir=parent))
    try:
        os.chmod(base, 0o700)
        return seed_practice_image(base)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


class PracticeTarget(ImageTarget):
    """A fresh practice instance in a temp dir of its own, removed when the target is closed
    (`with open_target("demo", ...)`) or, at the latest, when it is dropped or the program
    exits (a wizard quit while still connecting never gets to close it)."""

    def __init__(self, parent: str | None = None) -> None:
        super().__init__(str(make_practice_image(parent)), kind="demo", uri="demo")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.root, True)

    def close(self) -> None:
        super().close()
        self._cleanup()
