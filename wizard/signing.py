"""SSH signatures (OpenSSH SSHSIG, PROTOCOL.sshsig) for the signed checklist report.

Signs with a private key file or a key held in ssh-agent and verifies against an
allowed_signers file or a single public key; `ssh-keygen -Y verify` accepts what we make.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import os
import re
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from wizard.errors import SignatureError, UsageError
from wizard.fsutil import SMALL_FILE_LIMIT, read_capped, write_atomic

log = logging.getLogger(__name__)

NAMESPACE = "ami-wizard"
MAGIC = b"SSHSIG"
SIG_VERSION = 1
HASH_ALGORITHM = "sha512"
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"
# ssh-keygen wraps at 70 columns (PROTOCOL.sshsig says 76, its own example uses 70).
_ARMOR_WIDTH = 70

_HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}

# key type -> (curve, hash used by the ECDSA signature of that curve), RFC 5656.
_ECDSA: dict[str, tuple[type[ec.EllipticCurve], type[hashes.HashAlgorithm]]] = {
    "ecdsa-sha2-nistp256": (ec.SECP256R1, hashes.SHA256),
    "ecdsa-sha2-nistp384": (ec.SECP384R1, hashes.SHA384),
    "ecdsa-sha2-nistp521": (ec.SECP521R1, hashes.SHA512),
}
_CURVE_TO_TYPE = {
    "secp256r1": "ecdsa-sha2-nistp256",
    "secp384r1": "ecdsa-sha2-nistp384",
    "secp521r1": "ecdsa-sha2-nistp521",
}
# Legacy "ssh-rsa" (SHA-1) signatures are refused, as OpenSSH does for SSHSIG.
_RSA_SIG_ALGS: dict[str, type[hashes.HashAlgorithm]] = {
    "rsa-sha2-512": hashes.SHA512,
    "rsa-sha2-256": hashes.SHA256,
}
_RSA_MIN_BITS = 1024  # OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE
# A report (or any file) to sign or verify: large, but not endless (/dev/zero).
SIGNED_FILE_LIMIT = 256 << 20
SUPPORTED_KEY_TYPES = ("ssh-ed25519", *_ECDSA, "ssh-rsa")
# Every key type name OpenSSH writes in authorized_keys / allowed_signers lines; used to
# tell an options field from a key type field.
_KNOWN_KEY_TYPES = {
    *SUPPORTED_KEY_TYPES,
    "ssh-dss",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
}

# ssh-agent protocol (draft-miller-ssh-agent).
_AGENT_FAILURE = 5
_AGENTC_REQUEST_IDENTITIES = 11
_AGENT_IDENTITIES_ANSWER = 12
_AGENTC_SIGN_REQUEST = 13
_AGENT_SIGN_RESPONSE = 14
SSH_AGENT_RSA_SHA2_512 = 4
_AGENT_MAX_REPLY = 256 * 1024  # OpenSSH's AGENT_MAX_LEN

PrivateKey: TypeAlias = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey: TypeAlias = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PassphraseCallback: TypeAlias = Callable[[str], str | None]


@dataclass(frozen=True)
class Verified:
    """Who signed: the matched principal (None with a bare public key) and the key."""

    principal: str | None
    key_type: str
    fingerprint: str
    namespace: str


@dataclass(frozen=True)
class AllowedSigner:
    """One usable line of an allowed_signers file (see ssh-keygen(1) ALLOWED SIGNERS)."""

    line: int
    principals: str
    key_blob: bytes
    namespaces: str | None = None
    cert_authority: bool = False
    valid_after: dt.datetime | None = None
    valid_before: dt.datetime | None = None


# --- canonical JSON ---------------------------------------------------------------------


def canonical_json(obj: object) -> bytes:
    """The exact bytes a report is signed as: sorted keys, no spaces, UTF-8, final newline.

    NaN and infinities are refused: they are not JSON and would not round-trip.
    """
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8") + b"\n"


# --- SSH wire encoding ------------------------------------------------------------------


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _mpint(value: int) -> bytes:
    """Encode a non-negative integer as an SSH mpint (RFC 4251 section 5)."""
    if value == 0:
        return _string(b"")
    # One spare byte keeps the top bit clear so the number does not read as negative.
    return _string(value.to_bytes(value.bit_length() // 8 + 1, "big"))


class _Reader:
    """Reads SSH wire types from a buffer; any malformation is a SignatureError."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def _take(self, n: int) -> bytes:
        if n > len(self._data) - self._pos:
            raise SignatureError(f"{self._what} is truncated")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def u32(self) -> int:
        value: int = struct.unpack(">I", self._take(4))[0]
        return value

    def string(self) -> bytes:
        return self._take(self.u32())

    def text(self) -> str:
        raw = self.string()
        # OpenSSH's sshbuf_get_cstring refuses embedded NULs; so do we.
        if b"\0" in raw:
            raise SignatureError(f"{self._what} holds a string with a NUL byte")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureError(f"{self._what} holds a string that is not UTF-8") from None

    def mpint(self) -> int:
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise SignatureError(f"{self._what} holds a negative number")
        return int.from_bytes(raw, "big")

    def done(self) -> None:
        if self._pos != len(self._data):
            raise SignatureError(f"{self._what} has trailing data")


def _read(path: str | os.PathLike[str], what: str, limit: int = SMALL_FILE_LIMIT) -> bytes:
    """Read a file the operator named (at most `limit` bytes: never /dev/zero forever);
    any failure is a one-line SignatureError."""
    try:
        return read_capped(path, limit)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SignatureError(f"cannot read {what} {os.fspath(path)}: {reason}") from None


def fingerprint(public_key_blob: bytes) -> str:
    """OpenSSH's default fingerprint of a public key blob: "SHA256:" + unpadded base64."""
    digest = hashlib.sha256(public_key_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _public_blob(key: PublicKey) -> bytes:
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


@dataclass(frozen=True)
class _Public:
    key_type: str
    blob: bytes
    key: PublicKey


def _parse_public_blob(blob: bytes) -> _Public:
    """Load a public key blob of a supported type, refusing any non-canonical encoding."""
    key_type = _Reader(blob, "public key").text()
    if key_type not in SUPPORTED_KEY_TYPES:
        raise SignatureError(f"unsupported key type {key_type!r}")
    try:
        key = serialization.load_ssh_public_key(
            key_type.encode("ascii") + b" " + base64.b64encode(blob)
        )
    # cryptography says NotImplementedError for compressed EC points, which SSH forbids.
    except (ValueError, TypeError, UnsupportedAlgorithm, NotImplementedError):
        raise SignatureError(f"malformed {key_type} public key") from None
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise SignatureError(f"unsupported key type {key_type!r}")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < _RSA_MIN_BITS:
        raise SignatureError(f"RSA key of {key.key_size} bits is too small")
    # A blob that re-encodes differently (trailing bytes, padded numbers) is not trusted
    # to compare equal with the key an allowed_signers line names.
    if _public_blob(key) != blob:
        raise SignatureError(f"malformed {key_type} public key")
    return _Public(key_type, blob, key)


def _parse_key_line(line: str, what: str) -> _Public:
    """Parse "TYPE BASE64 [comment]" as found in .pub files."""
    fields = line.split()
    if len(fields) < 2:
        raise SignatureError(f"{what}: not a public key line")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{what}: public key is not valid base64") from None
    pub = _parse_public_blob(blob)
    if pub.key_type != fields[0]:
        raise SignatureError(f"{what}: key type {fields[0]!r} does not match its key")
    return pub


# --- signature blobs --------------------------------------------------------------------


def _signed_data(namespace: str, hash_algorithm: str, digest: bytes) -> bytes:
    """What the key actually signs (PROTOCOL.sshsig section 3); reserved is always empty."""
    return (
        MAGIC
        + _string(namespace.encode("utf-8"))
        + _string(b"")
        + _string(hash_algorithm.encode("ascii"))
        + _string(digest)
    )


def _sshsig_blob(public_blob: bytes, namespace: str, hash_algorithm: str, sig: bytes) -> bytes:
    return (
        MAGIC
        + struct.pack(">I", SIG_VERSION)
        + _string(public_blob)
        + _string(namespace.encode("utf-8"))
        + _string(b"")
        + _string(hash_algorithm.encode("ascii"))
        + _string(sig)
    )


def _armor(blob: bytes) -> str:
    b64 = base64.b64encode(blob).decode("ascii")
    lines = [b64[i : i + _ARMOR_WIDTH] for i in range(0, len(b64), _ARMOR_WIDTH)]
    return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


_B64_BODY = re.compile(r"[A-Za-z0-9+/=]*")


def _dearmor(text: str) -> bytes:
    lines = text.replace("\r\n", "\n").strip().split("\n")
    if len(lines) < 2 or lines[0].strip() != ARMOR_BEGIN:
        raise SignatureError("not an SSH signature: missing BEGIN SSH SIGNATURE header")
    if lines[-1].strip() != ARMOR_END:
        raise SignatureError("not an SSH signature: missing END SSH SIGNATURE footer")
    body = "".join("".join(line.split()) for line in lines[1:-1])
    if not _B64_BODY.fullmatch(body):
        raise SignatureError("SSH signature body is not base64")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("SSH signature body is not valid base64") from None


@dataclass(frozen=True)
class _SigBlob:
    public_blob: bytes
    namespace: str
    hash_algorithm: str
    signature: bytes


def _parse_sshsig(blob: bytes) -> _SigBlob:
    if not blob.startswith(MAGIC):
        raise SignatureError("not an SSH signature: bad magic")
    reader = _Reader(blob[len(MAGIC) :], "SSH signature")
    version = reader.u32()
    # OpenSSH also takes version 0, which was never written by anyone; only 1 exists.
    if version != SIG_VERSION:
        raise SignatureError(f"unsupported SSH signature version {version}")
    public_blob = reader.string()
    namespace = reader.text()
    reader.string()  # reserved: ignored, as the spec says
    hash_algorithm = reader.text()
    signature = reader.string()
    reader.done()
    return _SigBlob(public_blob, namespace, hash_algorithm, signature)


def _sign_raw(key: PrivateKey, message: bytes) -> bytes:
    """Sign with a private key; return the SSH signature encoding (type + blob)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return _string(b"ssh-ed25519") + _string(key.sign(message))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key_type = _CURVE_TO_TYPE.get(key.curve.name)
        if key_type is None:
            raise SignatureError(f"unsupported ECDSA curve {key.curve.name}")
        hash_cls = _ECDSA[key_type][1]
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hash_cls())))
        return _string(key_type.encode("ascii")) + _string(_mpint(r) + _mpint(s))
    sig = key.sign(message, padding.PKCS1v15(), hashes.SHA512())
    return _string(b"rsa-sha2-512") + _string(sig)


def _verify_raw(pub: _Public, sig_blob: bytes, message: bytes) -> None:
    reader = _Reader(sig_blob, "key signature")
    algorithm = reader.text()
    raw = reader.string()
    reader.done()
    key = pub.key
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if algorithm != "ssh-ed25519" or len(raw) != 64:
                raise SignatureError(f"signature algorithm {algorithm!r} does not fit the key")
            key.verify(raw, message)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if algorithm != pub.key_type:
                raise SignatureError(f"signature algorithm {algorithm!r} does not fit the key")
            inner = _Reader(raw, "ECDSA signature")
            r, s = inner.mpint(), inner.mpint()
            inner.done()
            hash_cls = _ECDSA[pub.key_type][1]
            key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hash_cls()))
        else:
            hash_rsa = _RSA_SIG_ALGS.get(algorithm)
            if hash_rsa is None:
                raise SignatureError(f"unsupported RSA signature algorithm {algorithm!r}")
            size = (key.key_size + 7) // 8
            if len(raw) > size:
                raise SignatureError("RSA signature is longer than the key")
            # Some signers drop leading zero bytes; OpenSSH pads them back, so do we.
            key.verify(raw.rjust(size, b"\0"), message, padding.PKCS1v15(), hash_rsa())
    except InvalidSignature:
        raise SignatureError("bad signature: the data or the signature was changed") from None


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
    data = _read(key_path, "private key")
    try:
        key = _decode_private(data, None)
    except TypeError:
        key = _decrypt_private(data, key_path, passphrase_cb, passphrase)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SignatureError(f"cannot load private key {key_path}: {exc}") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in _CURVE_TO_TYPE:
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

    def _request(self, payload: bytes) -> tuple[int, _Reader]:
        try:
            self._sock.sendall(_string(payload))
            (length,) = struct.unpack(">I", self._recv(4))
            if not 1 <= length <= _AGENT_MAX_REPLY:
                raise SignatureError(f"ssh-agent sent a reply of bad length {length}")
            body = self._recv(length)
        except OSError as exc:
            raise SignatureError(f"ssh-agent request failed: {exc}") from None
        return body[0], _Reader(body[1:], "ssh-agent reply")

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
            bytes([_AGENTC_SIGN_REQUEST]) + _string(public_blob) + _string(data)
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
        return _Reader(blob, "agent key").text()
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
        wanted = fingerprint(_read_public_key(agent_key).blob)
    for blob in supported:
        if fingerprint(blob) == wanted:
            return blob
    raise SignatureError(f"ssh-agent does not hold key {wanted}")


def _agent_sign(
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


# --- signing ----------------------------------------------------------------------------


def _check_namespace(namespace: str) -> None:
    if not namespace or "\0" in namespace:
        raise UsageError("the signature namespace must be a non-empty string")


def sign(
    data: bytes,
    *,
    key_file: str | None = None,
    passphrase: str | None = None,
    agent_key: str | None = None,
    namespace: str = NAMESPACE,
    agent_socket: str | None = None,
    passphrase_cb: PassphraseCallback | None = None,
) -> str:
    """Sign `data` and return the armored SSH signature text.

    With `key_file` the key is read from that file; otherwise the key comes from
    ssh-agent (`agent_socket` or SSH_AUTH_SOCK): `agent_key` is a "SHA256:..."
    fingerprint, a .pub path, or None for the agent's first Ed25519/ECDSA/RSA key.
    """
    _check_namespace(namespace)
    if key_file is not None and agent_key is not None:
        raise UsageError("sign with either a key file or an agent key, not both")
    digest = hashlib.sha512(data).digest()
    message = _signed_data(namespace, HASH_ALGORITHM, digest)
    if key_file is not None:
        key = load_private_key(key_file, passphrase_cb, passphrase=passphrase)
        public_blob = _public_blob(key.public_key())
        sig = _sign_raw(key, message)
    else:
        public_blob, sig = _agent_sign(message, agent_key, agent_socket)
    # Check before handing it out: an agent may ignore the RSA flag or sign badly.
    _verify_raw(_parse_public_blob(public_blob), sig, message)
    log.info("signed %d bytes with %s", len(data), fingerprint(public_blob))
    return _armor(_sshsig_blob(public_blob, namespace, HASH_ALGORITHM, sig))


def sign_file(path: str, **kw: Any) -> str:
    """Sign the file at `path` into `path`.sig (mode 0644); return the .sig path.

    Keyword arguments are those of `sign`.
    """
    source = Path(path)
    data = _read(source, "file", SIGNED_FILE_LIMIT)
    armored = sign(data, **kw)
    target = source.with_name(source.name + ".sig")
    try:
        write_atomic(target, armored.encode("ascii"), 0o644)
    except OSError as exc:
        raise SignatureError(f"cannot write {target}: {exc.strerror}") from None
    return str(target)


# --- allowed_signers --------------------------------------------------------------------


def _next_field(line: str, pos: int) -> tuple[str, int]:
    """The next whitespace-separated field; double quotes may hold spaces."""
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    start = pos
    quoted = False
    while pos < len(line) and (quoted or line[pos] not in " \t"):
        if line[pos] == "\\" and quoted:
            pos += 1
        elif line[pos] == '"':
            quoted = not quoted
        pos += 1
    if quoted:
        raise ValueError("unterminated quote")
    return line[start:pos], pos


def _split_options(options: str) -> list[str]:
    parts, current, quoted, i = [], "", False, 0
    while i < len(options):
        ch = options[i]
        if ch == "\\" and quoted and i + 1 < len(options):
            current += options[i + 1]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return parts


def _parse_time(value: str) -> dt.datetime:
    """ssh-keygen's YYYYMMDD[HHMM[SS]][Z]; without Z the time is local."""
    utc = value.endswith(("Z", "z"))
    digits = value[:-1] if utc else value
    formats = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    if not digits.isdigit() or len(digits) not in formats:
        raise ValueError(f"bad time {value!r}")
    parsed = dt.datetime.strptime(digits, formats[len(digits)])
    return parsed.replace(tzinfo=dt.UTC) if utc else parsed.astimezone()


def _parse_allowed_line(number: int, line: str) -> AllowedSigner:
    principals, pos = _next_field(line, 0)
    if len(principals) >= 2 and principals[0] == principals[-1] == '"':
        principals = principals[1:-1]
    field, pos = _next_field(line, pos)
    options = None
    if field not in _KNOWN_KEY_TYPES and not field.endswith("-cert-v01@openssh.com"):
        options = field
        field, pos = _next_field(line, pos)
    key_type = field
    key_b64, pos = _next_field(line, pos)
    if not key_type or not key_b64:
        raise ValueError("missing key")
    try:
        blob = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("key is not valid base64") from None
    try:
        embedded_type = _Reader(blob, "key").text()
    except SignatureError:
        raise ValueError("malformed key") from None
    if embedded_type != key_type:
        raise ValueError(f"key type {key_type!r} does not match its key")
    entry = AllowedSigner(line=number, principals=principals, key_blob=blob)
    values: dict[str, Any] = {}
    for option in _split_options(options) if options else []:
        name, _, value = option.partition("=")
        name = name.lower()
        if name == "cert-authority" and not value:
            values["cert_authority"] = True
        elif name == "namespaces" and value:
            values["namespaces"] = value
        elif name == "valid-after" and value:
            values["valid_after"] = _parse_time(value)
        elif name == "valid-before" and value:
            values["valid_before"] = _parse_time(value)
        else:
            raise ValueError(f"unknown option {name!r}")
    return replace(entry, **values)


def read_allowed_signers(path: str) -> tuple[list[AllowedSigner], list[str]]:
    """Parse an allowed_signers file: the good entries and one message per bad line.

    Bad lines are skipped, as ssh-keygen does, but reported so a refusal can say why.
    """
    text = _read(path, "allowed signers").decode("utf-8", "replace")
    entries: list[AllowedSigner] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            entries.append(_parse_allowed_line(number, stripped))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    return entries, problems


def _glob(value: str, pattern: str) -> bool:
    # OpenSSH patterns know only * and ?; brackets are literal, unlike fnmatch.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def match_pattern_list(value: str, patterns: str) -> bool:
    """OpenSSH's match_pattern_list: comma-separated globs, "!" negates and wins."""
    positive = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        if _glob(value, pattern[1:] if negated else pattern):
            if negated:
                return False
            positive = True
    return positive


def _check_allowed(
    path: str, pub: _Public, namespace: str, principal: str | None, now: dt.datetime
) -> str:
    entries, problems = read_allowed_signers(path)
    for entry in entries:
        if principal is not None and not match_pattern_list(principal, entry.principals):
            continue
        if entry.cert_authority:
            problems.append(f"line {entry.line}: cert-authority entries are not supported")
            continue
        try:
            same_key = _parse_public_blob(entry.key_blob).blob == pub.blob
        except SignatureError:
            same_key = False
        if not same_key:
            continue
        if entry.namespaces is not None and not match_pattern_list(namespace, entry.namespaces):
            problems.append(f"line {entry.line}: key not allowed for namespace {namespace!r}")
            continue
        if entry.valid_after is not None and now < entry.valid_after:
            problems.append(f"line {entry.line}: key not valid before {entry.valid_after}")
            continue
        if entry.valid_before is not None and now > entry.valid_before:
            problems.append(f"line {entry.line}: key expired at {entry.valid_before}")
            continue
        return principal if principal is not None else entry.principals
    who = f" for principal {principal!r}" if principal is not None else ""
    why = f" ({'; '.join(problems[:3])})" if problems else ""
    raise SignatureError(f"key {fingerprint(pub.blob)} is not allowed{who} by {path}{why}")


def _read_public_key(spec: str) -> _Public:
    """A public key from a key line, or from the first key line of a file."""
    first = spec.split(maxsplit=1)[0] if spec.strip() else ""
    if first in _KNOWN_KEY_TYPES:
        return _parse_key_line(spec, "public key")
    text = _read(spec, "public key").decode("utf-8", "replace")
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return _parse_key_line(line, spec)
    raise SignatureError(f"no public key in {spec}")


# --- verifying --------------------------------------------------------------------------


def verify(
    data: bytes,
    signature: str,
    *,
    allowed_signers: str | None = None,
    public_key: str | None = None,
    namespace: str = NAMESPACE,
    principal: str | None = None,
) -> Verified:
    """Check an armored SSH signature of `data`; raise SignatureError saying why not.

    Trust comes from exactly one of `allowed_signers` (a file; `principal` narrows the
    lines, else any line naming the key counts) or `public_key` (a .pub path or key line).
    """
    _check_namespace(namespace)
    if (allowed_signers is None) == (public_key is None):
        raise UsageError("verify needs exactly one of allowed_signers or public_key")
    parsed = _parse_sshsig(_dearmor(signature))
    hash_fn = _HASHES.get(parsed.hash_algorithm)
    if hash_fn is None:
        raise SignatureError(f"unsupported hash algorithm {parsed.hash_algorithm!r}")
    if parsed.namespace != namespace:
        raise SignatureError(
            f"signature is for namespace {parsed.namespace!r}, expected {namespace!r}"
        )
    pub = _parse_public_blob(parsed.public_blob)
    message = _signed_data(namespace, parsed.hash_algorithm, hash_fn(data).digest())
    _verify_raw(pub, parsed.signature, message)
    if allowed_signers is not None:
        now = dt.datetime.now(dt.UTC)
        matched: str | None = _check_allowed(allowed_signers, pub, namespace, principal, now)
    else:
        assert public_key is not None
        if _read_public_key(public_key).blob != pub.blob:
            raise SignatureError(f"signed by {fingerprint(pub.blob)}, not by the given key")
        matched = None
    return Verified(
        principal=matched,
        key_type=pub.key_type,
        fingerprint=fingerprint(pub.blob),
        namespace=parsed.namespace,
    )


def verify_file(path: str, signature_path: str | None = None, **kw: Any) -> Verified:
    """Verify the file at `path` against `signature_path` (default `path`.sig)."""
    sig_path = signature_path or path + ".sig"
    data = _read(path, "file", SIGNED_FILE_LIMIT)
    signature = _read(sig_path, "signature").decode("ascii", "replace")
    return verify(data, signature, **kw)
