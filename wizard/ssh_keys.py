"""Private keys for signing: OpenSSH/PEM key files (passphrase from the keyring or the
operator) and keys held in ssh-agent (draft-miller-ssh-agent), for wizard.signing.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Callable
from typing import TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from wizard.errors import SignatureError
from wizard.sshsig import (
    CURVE_TO_TYPE,
    SUPPORTED_KEY_TYPES,
    PrivateKey,
    WireReader,
    fingerprint,
    read_limited,
    read_public_key,
    ssh_string,
)

log = logging.getLogger(__name__)

# ssh-agent protocol (draft-miller-ssh-agent).
_AGENT_FAILURE = 5
_AGENTC_REQUEST_IDENTITIES = 11
_AGENT_IDENTITIES_ANSWER = 12
_AGENTC_SIGN_REQUEST = 13
_AGENT_SIGN_RESPONSE = 14
SSH_AGENT_RSA_SHA2_512 = 4
_AGENT_MAX_REPLY = 256 * 1024  # OpenSSH's AGENT_MAX_LEN

PassphraseCallback: TypeAlias = Callable[[str], str | None]
# --- private keys -----------------------------------------------------------------------


def _keyring_passphrase(path: str) -> str | None:
    """The key's passphrase as the targets store it (wizard.keyring_store), if there is one."""
    from wizard import keyring_store

    try:
        secret = keyring_store.get_secret(
            keyring_store.PASSPHRASE, keyring_store.passphrase_name(path)
        )
    except Exception as exc:  # keyring backends raise assorted errors; fall back to asking
        log.warning("keyring lookup for the key passphrase failed: %s", type(exc).__name__)
        return None
    return secret if isinstance(secret, str) else None


def _decode_private(data: bytes, password: bytes | None) -> object:
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
        return serialization.load_ssh_private_key(data, password)
    return serialization.load_pem_private_key(data, password)


def load_private_key(
    path: str | os.PathLike[str],
    passphrase_cb: PassphraseCallback | None = None,
    *,
    passphrase: str | None = None,
) -> PrivateKey:
    """Load an OpenSSH (or PEM) private key, decrypting it when needed.

    The passphrase comes from `passphrase`, else the keyring (kind "key", the key's
    absolute path), else `passphrase_cb(path)`.
    """
    key_path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    data = read_limited(key_path, "private key")
    try:
        key = _decode_private(data, None)
    except TypeError:
        key = _decrypt_private(data, key_path, passphrase_cb, passphrase)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SignatureError(f"cannot load private key {key_path}: {exc}") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in CURVE_TO_TYPE:
        raise SignatureError(f"unsupported ECDSA curve {key.curve.name} in {key_path}")
    if not isinstance(
        key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise SignatureError(f"unsupported private key type in {key_path}")
    return key


def _decrypt_private(
    data: bytes,
    key_path: str,
    passphrase_cb: PassphraseCallback | None,
    passphrase: str | None,
) -> object:
    sources: list[tuple[str, Callable[[], str | None]]]
    if passphrase is not None:
        sources = [("given", lambda: passphrase)]
    else:
        sources = [("keyring", lambda: _keyring_passphrase(key_path))]
        if passphrase_cb is not None:
            sources.append(("prompt", lambda: passphrase_cb(key_path)))
    tried: list[str] = []
    for name, source in sources:
        secret = source()
        if secret is None:
            continue
        try:
            return _decode_private(data, secret.encode("utf-8"))
        except (ValueError, TypeError):
            tried.append(name)
        except UnsupportedAlgorithm as exc:
            raise SignatureError(f"cannot decrypt private key {key_path}: {exc}") from None
    if tried:
        raise SignatureError(f"wrong passphrase for private key {key_path} ({', '.join(tried)})")
    raise SignatureError(f"private key {key_path} is encrypted and no passphrase was given")


# --- ssh-agent --------------------------------------------------------------------------


class _AgentClient:
    """The two requests of the ssh-agent protocol we need: list keys and sign.

    paramiko's Agent would do, but it reads SSH_AUTH_SOCK itself and parses every key;
    this keeps the socket explicit and the RSA flag visible.
    """

    def __init__(self, path: str) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(30)
        try:
            self._sock.connect(path)
        except OSError as exc:
            self._sock.close()
            raise SignatureError(f"cannot reach ssh-agent at {path}: {exc.strerror}") from None

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> _AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _recv(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = self._sock.recv(n)
            if not chunk:
                raise SignatureError("ssh-agent closed the connection")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _request(self, payload: bytes) -> tuple[int, WireReader]:
        try:
            self._sock.sendall(ssh_string(payload))
            (length,) = struct.unpack(">I", self._recv(4))
            if not 1 <= length <= _AGENT_MAX_REPLY:
                raise SignatureError(f"ssh-agent sent a reply of bad length {length}")
            body = self._recv(length)
        except OSError as exc:
            raise SignatureError(f"ssh-agent request failed: {exc}") from None
        return body[0], WireReader(body[1:], "ssh-agent reply")

    def identities(self) -> list[tuple[bytes, str]]:
        code, reader = self._request(bytes([_AGENTC_REQUEST_IDENTITIES]))
        if code != _AGENT_IDENTITIES_ANSWER:
            raise SignatureError("ssh-agent refused to list its keys")
        keys = []
        for _ in range(reader.u32()):
            blob = reader.string()
            comment = reader.string().decode("utf-8", "replace")
            keys.append((blob, comment))
        return keys

    def sign(self, public_blob: bytes, data: bytes, flags: int) -> bytes:
        payload = (
            bytes([_AGENTC_SIGN_REQUEST]) + ssh_string(public_blob) + ssh_string(data)
        ) + struct.pack(">I", flags)
        code, reader = self._request(payload)
        if code == _AGENT_FAILURE:
            raise SignatureError("ssh-agent refused to sign (key locked or confirmation denied)")
        if code != _AGENT_SIGN_RESPONSE:
            raise SignatureError(f"ssh-agent sent unexpected reply {code} to a sign request")
        sig = reader.string()
        reader.done()
        return sig


def _key_type_of(blob: bytes) -> str:
    try:
        return WireReader(blob, "agent key").text()
    except SignatureError:
        return "?"


def _select_agent_key(keys: list[tuple[bytes, str]], agent_key: str | None) -> bytes:
    supported = [blob for blob, _ in keys if _key_type_of(blob) in SUPPORTED_KEY_TYPES]
    if agent_key is None:
        if not supported:
            raise SignatureError("ssh-agent holds no Ed25519, ECDSA or RSA key")
        return supported[0]
    if agent_key.startswith("SHA256:"):
        wanted = agent_key
    else:
        wanted = fingerprint(read_public_key(agent_key).blob)
    for blob in supported:
        if fingerprint(blob) == wanted:
            return blob
    raise SignatureError(f"ssh-agent does not hold key {wanted}")


def agent_sign(
    message: bytes, agent_key: str | None, agent_socket: str | None
) -> tuple[bytes, bytes]:
    path = agent_socket or os.environ.get("SSH_AUTH_SOCK")
    if not path:
        raise SignatureError("no ssh-agent: SSH_AUTH_SOCK is not set")
    with _AgentClient(path) as agent:
        blob = _select_agent_key(agent.identities(), agent_key)
        # Without this flag the agent makes a SHA-1 "ssh-rsa" signature, which SSHSIG forbids.
        flags = SSH_AGENT_RSA_SHA2_512 if _key_type_of(blob) == "ssh-rsa" else 0
        return blob, agent.sign(blob, message, flags)
