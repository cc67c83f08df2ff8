"""The probe's output framing and the small text formats inside its fields.

The script prints records of NUL-terminated fields, each record closed by a field holding
the single byte 0x1e (a field that starts with 0x1e carries one more in front). Text made by
awk (secrets, shadow) is escaped to printable ASCII: `\\xHH` for every other byte. The parser
splits on exactly that framing, never on what Python's str methods call a line break. File
names and contents are data all the way: decoded with surrogateescape, never interpreted.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterator

from wizard.facts import PublicKey

log = logging.getLogger(__name__)

RECORD_END = b"\x1e"


def records(data: bytes) -> Iterator[list[str]]:
    """Split probe output into records of decoded fields."""
    fields: list[str] = []
    for raw in data.split(b"\0"):
        if raw == RECORD_END:
            yield fields
            fields = []
        else:
            if raw.startswith(RECORD_END):  # stuffed: data that starts with 0x1e
                raw = raw[1:]
            fields.append(raw.decode("utf-8", "surrogateescape"))
    # Whatever follows the last record end is an unterminated tail (the probe was cut short).
    if any(fields) and fields != [""]:
        log.debug("probe output has an unterminated tail of %d fields", len(fields))


_ESCAPED = re.compile(rb"\\x([0-9a-f]{2})")


def unescape(s: str) -> str:
    """Undo the probe's awk `esc()`: every `\\xHH` is the byte HH (a backslash is `\\x5c`)."""
    raw = _ESCAPED.sub(lambda m: bytes([int(m[1], 16)]), s.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "surrogateescape")


def lines(text: str) -> list[str]:
    """Lines as sshd, libc and awk read them: split on "\\n" only (a "\\r", "\\v", "\\x1c" or
    U+2028 inside a line is data, whatever Python's str methods think)."""
    out = text.split("\n")
    if out and out[-1] == "":
        out.pop()
    return out


def key_fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


_KEY_TYPE = re.compile(r"^(ssh-(rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp\d+|sk-\S+@openssh\.com)$")


def _split_options(line: str) -> tuple[str, str]:
    """Split an authorized_keys line into (options, rest), honouring double quotes."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch in " \t" and not quoted:
            return line[:i], line[i:].strip()
    return line, ""


def parse_public_keys(path: str, text: str) -> tuple[PublicKey, ...]:
    """Public keys in a .pub or authorized_keys file; lines that are not keys are skipped."""
    keys: list[PublicKey] = []
    for n, raw in enumerate(lines(text), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        options = ""
        first = line.split(None, 1)[0]
        if not _KEY_TYPE.match(first):
            options, line = _split_options(line)
        parts = line.split(None, 2)
        if len(parts) < 2 or not _KEY_TYPE.match(parts[0]):
            continue
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except ValueError:
            continue
        keys.append(
            PublicKey(
                path=path,
                line=n,
                key_type=parts[0],
                fingerprint=key_fingerprint(blob),
                comment=parts[2] if len(parts) > 2 else "",
                options=options,
            )
        )
    return tuple(keys)


def read_os_release(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines(text):
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip().strip("\"'")
    return out


def count_pending_updates(text: str) -> int | None:
    m = re.search(r"(\d+)\s+(?:updates?|packages?)\s+can be", text)
    return int(m[1]) if m else None
