"""Plant a learn scenario: write its tree into a fresh practice dir (an image target).

SSH keys are derived from the scenario's seed and the key's name (Ed25519 from 32 bytes of
SHA-256), so the same scenario always plants the same bytes: `tree_hash` of two plantings of
one seed is equal. The keys are practice keys, of no use anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from checks._practice import Key
from wizard.learn_scenario import Scenario


def key_bytes(seed: int, key: Key) -> bytes:
    """The OpenSSH text of the key `key` of a scenario with `seed` (private or public)."""
    raw = hashlib.sha256(f"ami-wizard-learn-key/{seed}/{key.name}".encode()).digest()
    private = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
    if key.public:
        public = private.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        return public + (b" " + key.comment.encode() if key.comment else b"") + b"\n"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return _fixed_checkint(pem, raw[:4])


def _fixed_checkint(pem: bytes, check: bytes) -> bytes:
    """The OpenSSH private key format starts its private part with a random 32-bit "check"
    written twice (PROTOCOL.key); put a value derived from the key there instead, so the same
    key always has the same bytes."""
    lines = pem.splitlines()
    blob = bytearray(base64.b64decode(b"".join(lines[1:-1])))
    at = len(b"openssh-key-v1\0")
    for _ in range(3):  # cipher name, kdf name, kdf options
        at += 4 + int.from_bytes(blob[at : at + 4], "big")
    at += 4  # number of keys (1)
    at += 4 + int.from_bytes(blob[at : at + 4], "big")  # the public key
    at += 4  # the private part's length
    blob[at : at + 8] = check * 2
    body = base64.b64encode(bytes(blob))
    wrapped = [body[i : i + 70] for i in range(0, len(body), 70)]
    return b"\n".join([lines[0], *wrapped, lines[-1]]) + b"\n"


def plant(scenario: Scenario, root: Path) -> Path:
    """Write the scenario's tree under `root` (which must exist and be empty)."""
    for d in scenario.dirs:
        (root / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for path, f in scenario.files:
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        data = (
            f.content.encode()
            if isinstance(f.content, str)
            else key_bytes(scenario.seed, f.content)
        )
        dest.write_bytes(data)
        dest.chmod(f.mode)
    return root


def make_scenario_image(scenario: Scenario, parent: str | None = None) -> Path:
    """A new temp dir (mode 0700) with the scenario planted; the caller removes it."""
    base = Path(tempfile.mkdtemp(prefix="ami-wizard-learn-", dir=parent))
    try:
        os.chmod(base, 0o700)
        return plant(scenario, base)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def tree_hash(root: Path) -> str:
    """A hash of a planted tree as found on disk: relative paths, kinds, modes and bytes."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        h.update(f"d {rel} {os.stat(dirpath).st_mode & 0o7777:o}\0".encode())
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            h.update(f"f {os.path.join(rel, name)} {st.st_mode & 0o7777:o} {st.st_size}\0".encode())
            with open(path, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()
