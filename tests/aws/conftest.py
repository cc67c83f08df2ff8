"""Fixtures for the account chapter: a real moto HTTP server on loopback, fake credentials.

Every boto3 call in these tests goes to 127.0.0.1; no real ~/.aws file is read and the
instance metadata service is disabled, so nothing can reach AWS. Missing moto or boto3
skips these tests on a workstation and fails them in CI (CI=true).
"""

from __future__ import annotations

import importlib
import os
import socket
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REGION = "eu-west-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need(module: str) -> Any:
    """Import `module`, or skip (fail in CI, where the dev and aws extras must be installed)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} missing in CI: install '.[dev,aws]' ({exc})")
        pytest.skip(f"needs {module}: pip install -e '.[dev,aws]'")


def post(url: str, data: bytes = b"") -> None:
    """POST to moto's control API (reset, reset-auth)."""
    # not a form content type: Flask would hide the body from moto
    headers = {"Content-Type": "text/plain"}
    req = urllib.request.Request(url, data=data, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's real HTTP server, started once for the session on a free loopback port."""
    need("moto.server")
    from tests.aws.flawed import start_moto

    server, url = start_moto(_free_port())  # without moto's ~2,600 default images
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean moto account and an environment that can only reach it; returns its URL."""
    # moto keeps state between tests in one server: start each test from an empty account,
    # with IAM enforcement off (a test may turn it on through /moto-api/reset-auth)
    post(f"{moto_url}/moto-api/reset-auth", b"inf")
    post(f"{moto_url}/moto-api/reset")
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\nregion = {REGION}\n\n[profile audit]\nregion = {REGION}\n")
    creds = tmp_path / "aws-credentials"
    creds.write_text(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n"
        "[audit]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("AMI_WIZARD_AWS_ENDPOINT_URL", moto_url)
    return moto_url


@pytest.fixture
def aws(aws_env: str) -> Callable[..., Any]:
    """A client factory for seeding the moto account: aws("iam"), aws("cloudwatch", region)."""
    boto3 = need("boto3")
    session = boto3.Session(region_name=REGION)

    def client(service: str, region: str = REGION) -> Any:
        return session.client(service, region_name=region, endpoint_url=aws_env)

    return client
