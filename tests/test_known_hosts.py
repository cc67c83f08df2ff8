"""known_hosts parsing and host matching as OpenSSH does it (no sshd needed here; the real
connections are in tests/integration/test_targets.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from wizard.errors import TargetError
from wizard.targets.ssh import KnownHosts, _hosts_match


def _hashed(name: str, salt: bytes = b"0123456789abcdefghij") -> str:
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


@pytest.mark.parametrize(
    ("field", "name", "expected"),
    [
        ("host1", "host1", True),
        ("HOST1", "host1", True),
        ("host1,host2", "host2", True),
        ("*.example.com", "db.example.com", True),
        ("*.example.com,!db.example.com", "db.example.com", False),
        ("web?.example.com", "web1.example.com", True),
        ("[127.0.0.1]:2222", "[127.0.0.1]:2222", True),
        ("[127.0.0.1]:2222", "1", False),  # brackets are literal, not a character class
        ("[127.0.0.1]:*", "[127.0.0.1]:2222", True),
        (_hashed("[127.0.0.1]:2222"), "[127.0.0.1]:2222", True),
        (_hashed("host1"), "host2", False),
        ("|1|not-base64|x", "host1", False),
    ],
)
def test_host_patterns_match_as_openssh(field: str, name: str, expected: bool) -> None:
    assert _hosts_match(field, name) is expected


def test_markers_are_kept_apart_and_bad_lines_skipped(tmp_path: Path) -> None:
    blob = "AAAAC3NzaC1lZDI1NTE5AAAAIIrd5L6P+JZzzvbVUgX5/XcoCR5+rEieAaRJE/F4YOe5"
    ca = "AAAAC3NzaC1lZDI1NTE5AAAAIEbDSNAecpg9MYiFtPxvPBdSoNmYdR/MG0rTqf6DdVv5"
    path = tmp_path / "known_hosts"
    path.write_bytes(
        f"# comment\n\n@cert-authority *.example.com ssh-ed25519 {ca}\n"
        f"@revoked * ssh-ed25519 {blob}\n@unknown-marker * ssh-ed25519 {blob}\n"
        f"host1 ssh-ed25519 {blob} a comment\nhost2 ssh-ed25519 not*base64\n"
        "host3 ssh-unknown-type AAAA\ntoo few\n".encode()
        + b"caf\xe9 ssh-ed25519 "
        + blob.encode()
        + b"\n"
    )
    known = KnownHosts(str(path))
    assert [k.get_base64() for k in known.known_keys("host1")] == [blob]
    assert known.known_keys("db.example.com") == []  # the CA key is not a host key
    assert [k.get_base64() for k in known.authorities("db.example.com")] == [ca]
    assert known.known_keys("host2") == known.known_keys("host3") == []


def test_known_hosts_that_is_a_device_is_one_line() -> None:
    with pytest.raises(TargetError) as err:
        KnownHosts("/dev/zero")
    assert "\n" not in str(err.value)
