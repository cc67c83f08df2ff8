"""The practice AWS account for the account chapter: moto's server on 127.0.0.1 (a random
free port), seeded with a careless account, so the account screens can be practised without
AWS. The learn process points boto3 at it (fake credentials, no real config file, no
instance metadata) and stops it when learn exits.

Needs the `moto[server]` package (the dev extra); without it the chapter says how to get it.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.aws.reader import ENDPOINT_ENV

REGION = "us-east-1"
MOTO_MISSING = "the practice AWS account needs moto's server: pip install 'moto[server]>=5,<6'"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PracticeAccount:
    url: str
    server: Any
    users: tuple[str, ...]
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _folder: str = ""

    def stop(self) -> None:
        """Stop the server and give the environment back (safe to call twice)."""
        server, self.server = self.server, None
        if server is not None:
            with suppress(Exception):
                server.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        if self._folder:
            for name in ("config", "credentials"):
                Path(self._folder, name).unlink(missing_ok=True)
            with suppress(OSError):
                os.rmdir(self._folder)
            self._folder = ""


def moto_available() -> bool:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return False
    return True


def _point_boto_at(url: str, folder: str) -> dict[str, str | None]:
    """This process's AWS environment -> the practice account only; returns what it was."""
    Path(folder, "config").write_text(f"[default]\nregion = {REGION}\n")
    Path(folder, "credentials").write_text("")
    env = {
        ENDPOINT_ENV: url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(Path(folder, "config")),
        "AWS_SHARED_CREDENTIALS_FILE": str(Path(folder, "credentials")),
        "AWS_EC2_METADATA_DISABLED": "true",
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    saved: dict[str, str | None] = {k: os.environ.get(k) for k in env}
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        saved[name] = os.environ.pop(name, None)
    os.environ.update(env)
    return saved


def _seed(url: str, seed: int) -> tuple[str, ...]:
    """A careless account: console users without MFA and with unused keys, no password
    policy, no trail, a public image. Names vary with the seed."""
    import boto3

    rng = random.Random(f"ami-wizard-learn-account/{seed}")  # noqa: S311 (names only)
    names = tuple(sorted(rng.sample(("alice", "bruno", "chen", "dana", "emeka", "fatima"), 2)))
    session = boto3.Session(region_name=REGION)
    iam = session.client("iam", endpoint_url=url)
    for name in names:
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Practice-only-" + name)
        iam.create_access_key(UserName=name)
    ec2 = session.client("ec2", endpoint_url=url)
    image = ec2.register_image(
        Name=rng.choice(("golden", "base-2024", "web-ami")),
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    return names


def _reset(url: str) -> None:
    """Empty moto's backends: in one process every moto server shares them, so a practice
    account starts from nothing, whatever another server in this process held before."""
    import urllib.request

    reset = f"{url}/moto-api/reset"  # an http://127.0.0.1 URL we built
    request = urllib.request.Request(reset, data=b"", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def start_practice_account(seed: int) -> PracticeAccount:
    """Start moto on loopback, point boto3 at it and seed it. Raises ImportError without moto."""
    from moto.server import ThreadedMotoServer

    # moto's web server logs every request, and a traceback for each API it lacks: not for
    # the learner's terminal (the account chapter reports those APIs as not available).
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)

    folder = tempfile.mkdtemp(prefix="ami-wizard-learn-aws-")
    saved = _point_boto_at("", folder)  # the variables are in place before moto reads them
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ[ENDPOINT_ENV] = url
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    account = PracticeAccount(url, server, (), saved, folder)
    try:
        server.start()
        _reset(url)
        account.users = _seed(url, seed)
    except BaseException:
        account.stop()
        raise
    return account
