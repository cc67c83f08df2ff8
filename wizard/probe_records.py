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
from dataclasses import dataclass

from wizard.facts import PublicKey, SearchNote

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


# ---- pending package updates, as each package manager prints them from its local cache ----
# `check-update`'s status when updates are pending (dnf and yum); 0 means none, others fail.
_RC_PENDING = {"dnf": "100", "yum": "100"}


def parse_updates(manager: str, rc: str, text: str) -> dict[str, str] | None:
    """Pending updates as package name -> the version offered; None when the command failed
    (no cache, a timeout: the number is unknown, never zero)."""
    if rc not in ("0", _RC_PENDING.get(manager, "0")):
        return None
    out: dict[str, str] = {}
    pending = ""
    for line in lines(text):
        if manager == "apt":  # "name/suite version arch [upgradable from: old]"
            m = re.match(r"^([^/\s]+)/\S+\s+(\S+)\s.*\[upgradable from:", line)
            if m:
                out[m[1]] = m[2]
        elif manager in ("dnf", "yum"):  # "name.arch  version  repo"; obsoletes follow
            if line.startswith(("Obsoleting", "Security:")):
                break
            if line[:1].isspace() and pending:  # a long name wraps: the rest is indented
                line = pending + line
            pending = line if len(line.split()) == 1 and not line[:1].isspace() else ""
            parts = line.split()
            if len(parts) == 3 and "." in parts[0] and not line[:1].isspace():
                out[parts[0].rsplit(".", 1)[0]] = parts[1]
        elif manager == "zypper":  # "v | repo | name | current | available | arch"
            cells = [c.strip() for c in line.split("|")]
            if len(cells) >= 6 and cells[0] == "v":
                out[cells[2]] = cells[4]
        elif manager == "apk":  # "name-version-rN   < newversion-rN"
            m = re.match(r"^(\S+?)-\d\S*\s+<\s+(\S+)", line)
            if m:
                out[m[1]] = m[2]
    return out


def count_security_updates(
    manager: str, rc: str, text: str, updates: dict[str, str] | None
) -> int | None:
    """How many pending updates fix a security issue; None when the manager cannot say."""
    if manager == "apt":  # the suite an upgrade comes from: "bookworm-security", "jammy-security"
        if updates is None:
            return None
        return sum(1 for line in lines(text) if re.match(r"^[^/\s]+/\S*-security[,\s]", line))
    if rc != "0":
        return None
    if manager in ("dnf", "yum"):  # "ADVISORY  severity/Sec.  name-version.arch"
        found = {
            parts[-1]
            for line in lines(text)
            if len(parts := line.split()) >= 3 and "sec" in parts[1].lower()
        }
        return len(found)
    if manager == "zypper":  # "repo | patch | category | severity | interactive | status | ..."
        count = 0
        for line in lines(text):
            cells = [c.strip().lower() for c in line.split("|")]
            if len(cells) >= 6 and cells[2] == "security" and "needed" in cells[5:]:
                count += 1
        return count
    return None


@dataclass(frozen=True)
class PackageFacts:
    name: str = ""
    version: str = ""
    update: str = ""
    pending: int | None = None
    names: tuple[str, ...] = ()
    security: int | None = None


def package_facts(other: dict[str, list[str]]) -> PackageFacts:
    """The AMI tools' package (`pkgver`) and the pending updates (`pkgupd`, `pkgsec`)."""
    name, version = (other.get("pkgver") or ["", ""])[:2]
    upd = other.get("pkgupd")
    if not upd or len(upd) < 3:
        return PackageFacts(name, version)
    updates = parse_updates(upd[0], upd[1], upd[2])
    sec = other.get("pkgsec")
    if upd[0] == "apt":
        security = count_security_updates("apt", upd[1], upd[2], updates)
    elif sec and len(sec) >= 3:
        security = count_security_updates(sec[0], sec[1], sec[2], updates)
    else:
        security = None
    if updates is None:
        return PackageFacts(name, version, security=security)
    return PackageFacts(
        name,
        version,
        updates.get(name, "") if name else "",
        len(updates),
        tuple(sorted(updates)),
        security,
    )


def read_world_writable(
    fields: list[str], max_files: int, timeout: str
) -> tuple[list[tuple[str, str]], list[SearchNote]]:
    """The world-writable search's "w metadata", path pairs and how it ended (as a walk)."""
    status = fields.pop()[3:] if fields and fields[-1].startswith("rc=") else None
    pairs = [
        (meta[2:], path)
        for meta, path in zip(fields[0::2], fields[1::2], strict=False)
        if meta.startswith("w ")
    ]
    reason = ""
    if max_files and len(pairs) > max_files:
        pairs = pairs[:max_files]
        reason = f"stopped after {max_files} files (probe.max_files)"
    elif status == "124":
        reason = f"stopped after {timeout} s (probe.timeout)"
    elif status is None:
        reason = "was cut short (its output ended early)"
    return pairs, [SearchNote("world-writable", reason)] if reason else []
