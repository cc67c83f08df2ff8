"""SSH signatures (OpenSSH SSHSIG, PROTOCOL.sshsig) for the signed checklist report.

Signs with a private key file or a key held in ssh-agent (wizard.ssh_keys) and verifies
against an allowed_signers file or a single public key; `ssh-keygen -Y verify` accepts what
we make. The wire format is wizard.sshsig.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wizard.errors import SignatureError, UsageError
from wizard.fsutil import write_atomic
from wizard.ssh_keys import PassphraseCallback, agent_sign, load_private_key
from wizard.sshsig import (
    HASH_ALGORITHM,
    HASHES,
    KNOWN_KEY_TYPES,
    NAMESPACE,
    SIGNED_FILE_LIMIT,
    PublicKeyInfo,
    WireReader,
    armor,
    dearmor,
    encode_public_blob,
    fingerprint,
    parse_public_blob,
    parse_sshsig,
    read_limited,
    read_public_key,
    sign_raw,
    signed_data,
    sshsig_blob,
    verify_raw,
)

log = logging.getLogger(__name__)


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
    message = signed_data(namespace, HASH_ALGORITHM, digest)
    if key_file is not None:
        key = load_private_key(key_file, passphrase_cb, passphrase=passphrase)
        public_blob = encode_public_blob(key.public_key())
        sig = sign_raw(key, message)
    else:
        public_blob, sig = agent_sign(message, agent_key, agent_socket)
    # Check before handing it out: an agent may ignore the RSA flag or sign badly.
    verify_raw(parse_public_blob(public_blob), sig, message)
    log.info("signed %d bytes with %s", len(data), fingerprint(public_blob))
    return armor(sshsig_blob(public_blob, namespace, HASH_ALGORITHM, sig))


def sign_file(path: str, **kw: Any) -> str:
    """Sign the file at `path` into `path`.sig (mode 0644); return the .sig path.

    Keyword arguments are those of `sign`.
    """
    source = Path(path)
    data = read_limited(source, "file", SIGNED_FILE_LIMIT)
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
    if field not in KNOWN_KEY_TYPES and not field.endswith("-cert-v01@openssh.com"):
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
        embedded_type = WireReader(blob, "key").text()
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
    text = read_limited(path, "allowed signers").decode("utf-8", "replace")
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
    path: str, pub: PublicKeyInfo, namespace: str, principal: str | None, now: dt.datetime
) -> str:
    entries, problems = read_allowed_signers(path)
    for entry in entries:
        if principal is not None and not match_pattern_list(principal, entry.principals):
            continue
        if entry.cert_authority:
            problems.append(f"line {entry.line}: cert-authority entries are not supported")
            continue
        try:
            same_key = parse_public_blob(entry.key_blob).blob == pub.blob
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
    parsed = parse_sshsig(dearmor(signature))
    hash_fn = HASHES.get(parsed.hash_algorithm)
    if hash_fn is None:
        raise SignatureError(f"unsupported hash algorithm {parsed.hash_algorithm!r}")
    if parsed.namespace != namespace:
        raise SignatureError(
            f"signature is for namespace {parsed.namespace!r}, expected {namespace!r}"
        )
    pub = parse_public_blob(parsed.public_blob)
    message = signed_data(namespace, parsed.hash_algorithm, hash_fn(data).digest())
    verify_raw(pub, parsed.signature, message)
    if allowed_signers is not None:
        now = dt.datetime.now(dt.UTC)
        matched: str | None = _check_allowed(allowed_signers, pub, namespace, principal, now)
    else:
        assert public_key is not None
        if read_public_key(public_key).blob != pub.blob:
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
    data = read_limited(path, "file", SIGNED_FILE_LIMIT)
    signature = read_limited(sig_path, "signature").decode("ascii", "replace")
    return verify(data, signature, **kw)
