"""The practice AWS account: moto's server on 127.0.0.1 with a careless account, boto3
pointed at it for the learn process only, and everything given back when it stops."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

from tests.aws.conftest import need
from wizard.aws.reader import ENDPOINT_ENV
from wizard.engine import gather_and_check_account
from wizard.learn_account import start_practice_account
from wizard.model import Status


def test_practice_account_is_flawed_local_and_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    need("moto.server")
    need("boto3")
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    account = start_practice_account(7)
    try:
        url = urlparse(account.url)
        assert url.hostname == "127.0.0.1" and url.port
        assert os.environ[ENDPOINT_ENV] == account.url and "AWS_PROFILE" not in os.environ
        _, findings, _ = gather_and_check_account(None, None)
        found = {f.id: f for f in findings}
        assert found["account-console-mfa"].status is Status.FAIL
        assert {e.path for e in found["account-console-mfa"].evidence} == {
            f"iam:user/{u}" for u in account.users
        }
        assert found["account-public-amis"].status is Status.FAIL
        assert found["account-password-policy"].status is Status.FAIL
    finally:
        account.stop()
    assert os.environ["AWS_PROFILE"] == "someone-real" and ENDPOINT_ENV not in os.environ
    with socket.socket() as s, pytest.raises(OSError):
        s.settimeout(1)
        s.connect(("127.0.0.1", url.port))
    account.stop()  # twice is fine
