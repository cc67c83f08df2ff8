"""The SSHSIG wire format (OpenSSH PROTOCOL.sshsig) and the canonical bytes a report is signed as.

Encoding and parsing only: SSH strings and mpints, public key blobs and lines, the signed
data, the signature blob and its armor, and the raw signature of each key type. Keys come
from wizard.ssh_keys; signing and verifying files is wizard.signing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from wizard.errors import SignatureError
from wizard.fsutil import SMALL_FILE_LIMIT, read_capped

NAMESPACE = "ami-wizard"
MAGIC = b"SSHSIG"
SIG_VERSION = 1
HASH_ALGORITHM = "sha512"
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"
# ssh-keygen wraps at 70 columns (PROTOCOL.sshsig says 76, its own example uses 70).
_ARMOR_WIDTH = 70

HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}

# key type -> (curve, hash used by the ECDSA signature of that curve), RFC 5656.
_ECDSA: dict[str, tuple[type[ec.EllipticCurve], type[hashes.HashAlgorithm]]] = {
    "ecdsa-sha2-nistp256": (ec.SECP256R1, hashes.SHA256),
    "ecdsa-sha2-nistp384": (ec.SECP384R1, hashes.SHA384),
    "ecdsa-sha2-nistp521": (ec.SECP521R1, hashes.SHA512),
}
CURVE_TO_TYPE = {
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
KNOWN_KEY_TYPES = {
    *SUPPORTED_KEY_TYPES,
    "ssh-dss",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
}

# ssh-agent protocol (draft-miller-ssh-agent).
PrivateKey: TypeAlias = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey: TypeAlias = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
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


def ssh_string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _mpint(value: int) -> bytes:
    """Encode a non-negative integer as an SSH mpint (RFC 4251 section 5)."""
    if value == 0:
        return ssh_string(b"")
    # One spare byte keeps the top bit clear so the number does not read as negative.
    return ssh_string(value.to_bytes(value.bit_length() // 8 + 1, "big"))


class WireReader:
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


def read_limited(path: str | os.PathLike[str], what: str, limit: int = SMALL_FILE_LIMIT) -> bytes:
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


def encode_public_blob(key: PublicKey) -> bytes:
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


@dataclass(frozen=True)
class PublicKeyInfo:
    key_type: str
    blob: bytes
    key: PublicKey


def parse_public_blob(blob: bytes) -> PublicKeyInfo:
    """Load a public key blob of a supported type, refusing any non-canonical encoding."""
    key_type = WireReader(blob, "public key").text()
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
    if encode_public_blob(key) != blob:
        raise SignatureError(f"malformed {key_type} public key")
    return PublicKeyInfo(key_type, blob, key)


def parse_key_line(line: str, what: str) -> PublicKeyInfo:
    """Parse "TYPE BASE64 [comment]" as found in .pub files."""
    fields = line.split()
    if len(fields) < 2:
        raise SignatureError(f"{what}: not a public key line")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{what}: public key is not valid base64") from None
    pub = parse_public_blob(blob)
    if pub.key_type != fields[0]:
        raise SignatureError(f"{what}: key type {fields[0]!r} does not match its key")
    return pub


# --- signature blobs --------------------------------------------------------------------


def signed_data(namespace: str, hash_algorithm: str, digest: bytes) -> bytes:
    """What the key actually signs (PROTOCOL.sshsig section 3); reserved is always empty."""
    return (
        MAGIC
        + ssh_string(namespace.encode("utf-8"))
        + ssh_string(b"")
        + ssh_string(hash_algorithm.encode("ascii"))
        + ssh_string(digest)
    )


def sshsig_blob(public_blob: bytes, namespace: str, hash_algorithm: str, sig: bytes) -> bytes:
    return (
        MAGIC
        + struct.pack(">I", SIG_VERSION)
        + ssh_string(public_blob)
        + ssh_string(namespace.encode("utf-8"))
        + ssh_string(b"")
        + ssh_string(hash_algorithm.encode("ascii"))
        + ssh_string(sig)
    )


def armor(blob: bytes) -> str:
    b64 = base64.b64encode(blob).decode("ascii")
    lines = [b64[i : i + _ARMOR_WIDTH] for i in range(0, len(b64), _ARMOR_WIDTH)]
    return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


_B64_BODY = re.compile(r"[A-Za-z0-9+/=]*")


def dearmor(text: str) -> bytes:
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


def parse_sshsig(blob: bytes) -> _SigBlob:
    if not blob.startswith(MAGIC):
        raise SignatureError("not an SSH signature: bad magic")
    reader = WireReader(blob[len(MAGIC) :], "SSH signature")
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


def sign_raw(key: PrivateKey, message: bytes) -> bytes:
    """Sign with a private key; return the SSH signature encoding (type + blob)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return ssh_string(b"ssh-ed25519") + ssh_string(key.sign(message))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key_type = CURVE_TO_TYPE.get(key.curve.name)
        if key_type is None:
            raise SignatureError(f"unsupported ECDSA curve {key.curve.name}")
        hash_cls = _ECDSA[key_type][1]
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hash_cls())))
        return ssh_string(key_type.encode("ascii")) + ssh_string(_mpint(r) + _mpint(s))
    sig = key.sign(message, padding.PKCS1v15(), hashes.SHA512())
    return ssh_string(b"rsa-sha2-512") + ssh_string(sig)


def verify_raw(pub: PublicKeyInfo, sig_blob: bytes, message: bytes) -> None:
    reader = WireReader(sig_blob, "key signature")
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
            inner = WireReader(raw, "ECDSA signature")
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


def read_public_key(spec: str) -> PublicKeyInfo:
    """A public key from a key line, or from the first key line of a file."""
    first = spec.split(maxsplit=1)[0] if spec.strip() else ""
    if first in KNOWN_KEY_TYPES:
        return parse_key_line(spec, "public key")
    text = read_limited(spec, "public key").decode("utf-8", "replace")
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return parse_key_line(line, spec)
    raise SignatureError(f"no public key in {spec}")
