"""Interop tests of wizard.signing against the real OpenSSH ssh-keygen and ssh-agent.

Every key is made by ssh-keygen; every signature we make must pass `ssh-keygen -Y verify`,
and every one ssh-keygen makes must pass ours; tampering must fail both.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.errors import SignatureError, UsageError
from wizard.signing import Verified, sign, sign_file, verify, verify_file
from wizard.ssh_keys import load_private_key
from wizard.sshsig import canonical_json, fingerprint

SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
SSH_AGENT = shutil.which("ssh-agent") or "/usr/bin/ssh-agent"
SSH_ADD = shutil.which("ssh-add") or "/usr/bin/ssh-add"
NS = "ami-wizard"
PRINCIPAL = "signer@example.test"
DATA = b'{"schema":"ami-wizard/audit/v1","summary":{"fail":1}}\n'

KEY_SPECS = {
    "ed25519": ["-t", "ed25519"],
    "ecdsa256": ["-t", "ecdsa", "-b", "256"],
    "ecdsa384": ["-t", "ecdsa", "-b", "384"],
    "ecdsa521": ["-t", "ecdsa", "-b", "521"],
    "rsa3072": ["-t", "rsa", "-b", "3072"],
}
KEY_TYPES = {
    "ed25519": "ssh-ed25519",
    "ecdsa256": "ecdsa-sha2-nistp256",
    "ecdsa384": "ecdsa-sha2-nistp384",
    "ecdsa521": "ecdsa-sha2-nistp521",
    "rsa3072": "ssh-rsa",
}


@dataclass(frozen=True)
class Key:
    name: str
    path: Path
    pub: Path

    @property
    def pub_line(self) -> str:
        return self.pub.read_text().strip()

    @property
    def ssh_fingerprint(self) -> str:
        out = subprocess.run(
            [SSH_KEYGEN, "-l", "-E", "sha256", "-f", str(self.pub)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return out.split()[1]


def keygen(directory: Path, name: str, passphrase: str = "") -> Key:
    path = directory / f"id_{name}"
    subprocess.run(
        [SSH_KEYGEN, "-q", *KEY_SPECS[name], "-N", passphrase, "-C", name, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return Key(name, path, Path(str(path) + ".pub"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Key]:
    directory = tmp_path_factory.mktemp("keys")
    return {name: keygen(directory, name) for name in KEY_SPECS}


@pytest.fixture(params=list(KEY_SPECS))
def key(request: pytest.FixtureRequest, keys: dict[str, Key]) -> Key:
    return keys[request.param]


def allowed_signers(directory: Path, key: Key, options: str = "", principals: str = "") -> Path:
    path = directory / "allowed_signers"
    fields = [principals or PRINCIPAL, *([options] if options else []), key.pub_line]
    path.write_text("# test signers\n\n" + " ".join(fields) + "\n")
    return path


def ssh_verify(
    allowed: Path,
    sig: Path,
    data: bytes,
    namespace: str = NS,
    identity: str = PRINCIPAL,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            SSH_KEYGEN,
            "-Y",
            "verify",
            "-f",
            str(allowed),
            "-I",
            identity,
            "-n",
            namespace,
            "-s",
            str(sig),
        ],
        input=data,
        capture_output=True,
    )


def ssh_sign(key: Key, data_file: Path, namespace: str = NS) -> Path:
    subprocess.run(
        [SSH_KEYGEN, "-Y", "sign", "-f", str(key.path), "-n", namespace, str(data_file)],
        check=True,
        capture_output=True,
    )
    return Path(str(data_file) + ".sig")


def decode_armor(text: str) -> bytes:
    lines = text.strip().splitlines()
    assert lines[0] == "-----BEGIN SSH SIGNATURE-----"
    assert lines[-1] == "-----END SSH SIGNATURE-----"
    return base64.b64decode("".join(lines[1:-1]))


def encode_armor(blob: bytes) -> str:
    b64 = base64.b64encode(blob).decode()
    body = "\n".join(b64[i : i + 70] for i in range(0, len(b64), 70))
    return f"-----BEGIN SSH SIGNATURE-----\n{body}\n-----END SSH SIGNATURE-----\n"


def ssh_string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def blob_fields(blob: bytes) -> list[bytes]:
    """The six fields of an SSHSIG blob: publickey, namespace, reserved, hash, signature."""
    assert blob[:6] == b"SSHSIG"
    pos, fields = 10, []
    while pos < len(blob):
        (n,) = struct.unpack(">I", blob[pos : pos + 4])
        fields.append(blob[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return fields


# --- (a) ours -> ssh-keygen -------------------------------------------------------------


def test_our_signature_passes_ssh_keygen(key: Key, tmp_path: Path) -> None:
    armored = sign(DATA, key_file=str(key.path))
    sig = tmp_path / "report.json.sig"
    sig.write_text(armored)
    result = ssh_verify(allowed_signers(tmp_path, key), sig, DATA)
    assert result.returncode == 0, result.stderr
    assert b'Good "ami-wizard" signature for signer@example.test' in result.stdout
    # The armor is wrapped as ssh-keygen wraps it, so the files look alike.
    body = armored.splitlines()[1:-1]
    assert all(len(line) == 70 for line in body[:-1]) and 0 < len(body[-1]) <= 70
    fields = blob_fields(decode_armor(armored))
    assert fields[1] == NS.encode() and fields[2] == b"" and fields[3] == b"sha512"


# --- (b) ssh-keygen -> ours; (g) public key form ----------------------------------------


def test_ssh_keygen_signature_passes_ours(key: Key, tmp_path: Path) -> None:
    data_file = tmp_path / "report.json"
    data_file.write_bytes(DATA)
    sig_text = ssh_sign(key, data_file).read_text()
    allowed = allowed_signers(tmp_path, key)

    result = verify(DATA, sig_text, allowed_signers=str(allowed), principal=PRINCIPAL)
    assert result == Verified(PRINCIPAL, KEY_TYPES[key.name], key.ssh_fingerprint, NS)
    # Without a principal any line naming the key counts, and says whom it names.
    assert verify(DATA, sig_text, allowed_signers=str(allowed)).principal == PRINCIPAL
    by_file = verify(DATA, sig_text, public_key=str(key.pub))
    assert by_file.principal is None and by_file.fingerprint == key.ssh_fingerprint
    assert verify(DATA, sig_text, public_key=key.pub_line).key_type == KEY_TYPES[key.name]
    assert verify_file(str(data_file), public_key=str(key.pub)).fingerprint == key.ssh_fingerprint


def test_fingerprint_matches_ssh_keygen(key: Key) -> None:
    blob = base64.b64decode(key.pub_line.split()[1])
    assert fingerprint(blob) == key.ssh_fingerprint


def test_other_key_is_refused(keys: dict[str, Key], tmp_path: Path) -> None:
    signer, other = keys["ed25519"], keys["ecdsa256"]
    armored = sign(DATA, key_file=str(signer.path))
    sig = tmp_path / "d.sig"
    sig.write_text(armored)
    allowed = allowed_signers(tmp_path, other)
    assert ssh_verify(allowed, sig, DATA).returncode != 0
    with pytest.raises(SignatureError, match="not allowed"):
        verify(DATA, armored, allowed_signers=str(allowed))
    with pytest.raises(SignatureError, match="not by the given key"):
        verify(DATA, armored, public_key=str(other.pub))
    with pytest.raises(SignatureError, match="cannot read public key"):
        verify(DATA, armored, public_key=str(tmp_path / "missing.pub"))
    with pytest.raises(SignatureError, match="cannot read allowed signers"):
        verify(DATA, armored, allowed_signers="bad\0path")


# --- (c) tampering ----------------------------------------------------------------------


def test_flipped_data_byte_rejected_by_both(key: Key, tmp_path: Path) -> None:
    armored = sign(DATA, key_file=str(key.path))
    sig = tmp_path / "d.sig"
    sig.write_text(armored)
    allowed = allowed_signers(tmp_path, key)
    for pos in (0, len(DATA) // 2, len(DATA) - 1):
        tampered = bytearray(DATA)
        tampered[pos] ^= 0x01
        assert ssh_verify(allowed, sig, bytes(tampered)).returncode != 0
        with pytest.raises(SignatureError, match="bad signature"):
            verify(bytes(tampered), armored, allowed_signers=str(allowed))


def test_flipped_signature_byte_rejected_by_both(key: Key, tmp_path: Path) -> None:
    armored = sign(DATA, key_file=str(key.path))
    blob = decode_armor(armored)
    allowed = allowed_signers(tmp_path, key)
    sig = tmp_path / "d.sig"
    # Every byte is flipped for us; ssh-keygen (a process per try) sees a spread sample
    # plus the whole tail, where the key's signature bytes are.
    ssh_positions = set(range(0, len(blob), 9)) | set(range(len(blob) - 24, len(blob)))
    for pos in range(len(blob)):
        tampered = bytearray(blob)
        tampered[pos] ^= 0xFF
        text = encode_armor(bytes(tampered))
        with pytest.raises(SignatureError):
            verify(DATA, text, allowed_signers=str(allowed))
        if pos in ssh_positions:
            sig.write_text(text)
            assert ssh_verify(allowed, sig, DATA).returncode != 0, f"ssh-keygen took byte {pos}"


# --- (d) namespaces ---------------------------------------------------------------------


def test_wrong_namespace_rejected_by_both(key: Key, tmp_path: Path) -> None:
    allowed = allowed_signers(tmp_path, key)
    ours = sign(DATA, key_file=str(key.path), namespace="file")
    sig = tmp_path / "d.sig"
    sig.write_text(ours)
    assert ssh_verify(allowed, sig, DATA).returncode != 0
    assert ssh_verify(allowed, sig, DATA, namespace="file").returncode == 0
    with pytest.raises(SignatureError, match="namespace 'file'"):
        verify(DATA, ours, allowed_signers=str(allowed))

    data_file = tmp_path / "data"
    data_file.write_bytes(DATA)
    theirs = ssh_sign(key, data_file, namespace="git").read_text()
    with pytest.raises(SignatureError, match="namespace"):
        verify(DATA, theirs, allowed_signers=str(allowed))
    assert verify(DATA, theirs, allowed_signers=str(allowed), namespace="git").namespace == "git"


@pytest.mark.parametrize(
    ("options", "accepted"),
    [
        ('namespaces="ami-wizard"', True),
        ('namespaces="file,ami-*"', True),
        ('namespaces="file,git"', False),
        ('valid-before="20000101"', False),
        ('valid-after="29990101Z"', False),
        ('valid-after="20000101",valid-before="29991231235959Z"', True),
    ],
)
def test_allowed_signers_options_agree_with_ssh_keygen(
    keys: dict[str, Key], tmp_path: Path, options: str, accepted: bool
) -> None:
    key = keys["ed25519"]
    armored = sign(DATA, key_file=str(key.path))
    sig = tmp_path / "d.sig"
    sig.write_text(armored)
    allowed = allowed_signers(tmp_path, key, options=options)
    assert (ssh_verify(allowed, sig, DATA).returncode == 0) is accepted
    if accepted:
        verify(DATA, armored, allowed_signers=str(allowed), principal=PRINCIPAL)
    else:
        with pytest.raises(SignatureError, match="not allowed"):
            verify(DATA, armored, allowed_signers=str(allowed), principal=PRINCIPAL)


@pytest.mark.parametrize(
    ("identity", "accepted"),
    [("alice@example.test", True), ("mallory@example.test", False), ("alice@other", False)],
)
def test_principal_patterns_agree_with_ssh_keygen(
    keys: dict[str, Key], tmp_path: Path, identity: str, accepted: bool
) -> None:
    key = keys["ed25519"]
    armored = sign(DATA, key_file=str(key.path))
    sig = tmp_path / "d.sig"
    sig.write_text(armored)
    allowed = allowed_signers(tmp_path, key, principals="*@example.test,!mallory@example.test")
    assert (ssh_verify(allowed, sig, DATA, identity=identity).returncode == 0) is accepted
    if accepted:
        got = verify(DATA, armored, allowed_signers=str(allowed), principal=identity)
        assert got.principal == identity
    else:
        with pytest.raises(SignatureError, match="not allowed"):
            verify(DATA, armored, allowed_signers=str(allowed), principal=identity)


def test_cert_authority_entry_is_refused_with_reason(keys: dict[str, Key], tmp_path: Path) -> None:
    key = keys["ed25519"]
    armored = sign(DATA, key_file=str(key.path))
    sig = tmp_path / "d.sig"
    sig.write_text(armored)
    allowed = allowed_signers(tmp_path, key, options="cert-authority")
    assert ssh_verify(allowed, sig, DATA).returncode != 0
    with pytest.raises(SignatureError, match="cert-authority entries are not supported"):
        verify(DATA, armored, allowed_signers=str(allowed), principal=PRINCIPAL)


def test_bad_allowed_signers_line_is_named(keys: dict[str, Key], tmp_path: Path) -> None:
    key = keys["ed25519"]
    armored = sign(DATA, key_file=str(key.path))
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"{PRINCIPAL} frobnicate {key.pub_line}\n")
    with pytest.raises(SignatureError, match="line 1: unknown option 'frobnicate'"):
        verify(DATA, armored, allowed_signers=str(allowed))


# --- unsupported algorithms -------------------------------------------------------------


def _forge(
    public_blob: bytes, hash_name: str, sig_blob_for: Callable[[bytes], bytes], namespace: str = NS
) -> bytes:
    digest = hashlib.new(hash_name, DATA).digest()
    signed = (
        b"SSHSIG"
        + ssh_string(namespace.encode())
        + ssh_string(b"")
        + ssh_string(hash_name.encode())
        + ssh_string(digest)
    )
    return (
        b"SSHSIG"
        + struct.pack(">I", 1)
        + ssh_string(public_blob)
        + ssh_string(namespace.encode())
        + ssh_string(b"")
        + ssh_string(hash_name.encode())
        + ssh_string(sig_blob_for(signed))
    )


def test_legacy_rsa_sha1_and_sha1_hash_rejected_by_both(
    keys: dict[str, Key], tmp_path: Path
) -> None:
    rsa_key = load_private_key(str(keys["rsa3072"].path))
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    rsa_blob = base64.b64decode(keys["rsa3072"].pub_line.split()[1])
    legacy = _forge(
        rsa_blob,
        "sha512",
        lambda m: (
            ssh_string(b"ssh-rsa") + ssh_string(rsa_key.sign(m, padding.PKCS1v15(), hashes.SHA1()))
        ),
    )
    ed_key = load_private_key(str(keys["ed25519"].path))
    assert isinstance(ed_key, ed25519.Ed25519PrivateKey)
    ed_blob = base64.b64decode(keys["ed25519"].pub_line.split()[1])
    sha1 = _forge(
        ed_blob, "sha1", lambda m: ssh_string(b"ssh-ed25519") + ssh_string(ed_key.sign(m))
    )
    sig = tmp_path / "d.sig"
    for blob, key_name, reason in [
        (legacy, "rsa3072", "unsupported RSA signature algorithm 'ssh-rsa'"),
        (sha1, "ed25519", "unsupported hash algorithm 'sha1'"),
    ]:
        text = encode_armor(blob)
        sig.write_text(text)
        allowed = allowed_signers(tmp_path, keys[key_name])
        assert ssh_verify(allowed, sig, DATA).returncode != 0
        with pytest.raises(SignatureError, match=reason):
            verify(DATA, text, allowed_signers=str(allowed))


# --- (e) encrypted keys -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["ed25519", "ecdsa384", "rsa3072"])
def test_encrypted_private_key(
    keys: dict[str, Key], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # Re-encrypting a copy is much faster than generating another RSA key.
    path = tmp_path / "id_enc"
    shutil.copy(keys[name].path, path)
    subprocess.run(
        [SSH_KEYGEN, "-q", "-p", "-P", "", "-N", "correct horse", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    assert b"bcrypt" in base64.b64decode("".join(path.read_text().splitlines()[1:-1]))
    # The per-test keyring (tests/conftest.py) is empty, so it never answers here.
    sig = tmp_path / "d.sig"
    sig.write_text(sign(DATA, key_file=str(path), passphrase="correct horse"))
    assert ssh_verify(allowed_signers(tmp_path, keys[name]), sig, DATA).returncode == 0

    with pytest.raises(SignatureError, match="wrong passphrase"):
        sign(DATA, key_file=str(path), passphrase="wrong horse")
    with pytest.raises(SignatureError, match="encrypted and no passphrase"):
        sign(DATA, key_file=str(path))
    asked: list[str] = []

    def prompt(p: str) -> str:
        asked.append(p)
        return "correct horse"

    armored = sign(DATA, key_file=str(path), passphrase_cb=prompt)
    assert asked == [str(path)]
    assert verify(DATA, armored, public_key=str(keys[name].pub)).key_type == KEY_TYPES[name]


def test_passphrase_from_keyring_store(
    keys: dict[str, Key], tmp_path: Path, memory_keyring: object
) -> None:
    from wizard import keyring_store

    path = tmp_path / "id_enc"
    shutil.copy(keys["ed25519"].path, path)
    subprocess.run(
        [SSH_KEYGEN, "-q", "-p", "-P", "", "-N", "from keyring", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    # stored the way the SSH target stores a passphrase the operator chose to remember
    keyring_store.set_secret(
        keyring_store.PASSPHRASE, keyring_store.passphrase_name(str(path)), "from keyring"
    )
    armored = sign(DATA, key_file=str(path))
    assert verify(DATA, armored, public_key=str(keys["ed25519"].pub)).principal is None


def test_unreadable_or_garbage_key_file(tmp_path: Path) -> None:
    with pytest.raises(SignatureError, match="cannot read private key"):
        sign(DATA, key_file=str(tmp_path / "missing"))
    junk = tmp_path / "junk"
    junk.write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    with pytest.raises(SignatureError, match="cannot load private key"):
        sign(DATA, key_file=str(junk))


# --- (f) ssh-agent ----------------------------------------------------------------------


@pytest.fixture
def agent() -> Iterator[str]:
    # A short directory: unix socket paths are limited to about 100 bytes.
    directory = tempfile.mkdtemp(prefix="agent-")
    sock = os.path.join(directory, "sock")
    proc = subprocess.Popen(
        [SSH_AGENT, "-D", "-a", sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            assert proc.poll() is None, "ssh-agent exited"
            assert time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.02)
        yield sock
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def ssh_add(sock: str, key: Key) -> None:
    subprocess.run(
        [SSH_ADD, "-q", str(key.path)],
        env={**os.environ, "SSH_AUTH_SOCK": sock},
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize("name", ["ed25519", "rsa3072", "ecdsa521"])
def test_agent_signature_passes_ssh_keygen(
    keys: dict[str, Key], agent: str, tmp_path: Path, name: str
) -> None:
    key = keys[name]
    decoy = keys["ecdsa256"] if name != "ecdsa256" else keys["ed25519"]
    ssh_add(agent, decoy)  # first in the agent, so selection really selects
    ssh_add(agent, key)
    allowed = allowed_signers(tmp_path, key)
    sig = tmp_path / "d.sig"
    for selector in (key.ssh_fingerprint, str(key.pub)):
        armored = sign(DATA, agent_key=selector, agent_socket=agent)
        sig.write_text(armored)
        result = ssh_verify(allowed, sig, DATA)
        assert result.returncode == 0, result.stderr
        sig_field = blob_fields(decode_armor(armored))[4]
        expected_alg = b"rsa-sha2-512" if name.startswith("rsa") else KEY_TYPES[name].encode()
        assert sig_field.startswith(ssh_string(expected_alg))
    # None means the agent's first key: the decoy.
    first = sign(DATA, agent_socket=agent)
    assert verify(DATA, first, public_key=str(decoy.pub)).fingerprint == decoy.ssh_fingerprint


def test_agent_from_environment_and_missing_key(
    keys: dict[str, Key], agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssh_add(agent, keys["ed25519"])
    monkeypatch.setenv("SSH_AUTH_SOCK", agent)
    armored = sign(DATA)
    assert verify(DATA, armored, public_key=keys["ed25519"].pub_line).key_type == "ssh-ed25519"
    with pytest.raises(SignatureError, match="does not hold key"):
        sign(DATA, agent_key=keys["rsa3072"].ssh_fingerprint)
    monkeypatch.delenv("SSH_AUTH_SOCK")
    with pytest.raises(SignatureError, match="SSH_AUTH_SOCK"):
        sign(DATA)


def test_empty_agent_and_dead_socket(agent: str, tmp_path: Path) -> None:
    with pytest.raises(SignatureError, match="holds no"):
        sign(DATA, agent_socket=agent)
    with pytest.raises(SignatureError, match="cannot reach ssh-agent"):
        sign(DATA, agent_socket=str(tmp_path / "nobody"))


def test_key_file_and_agent_key_are_exclusive(keys: dict[str, Key]) -> None:
    with pytest.raises(UsageError):
        sign(DATA, key_file=str(keys["ed25519"].path), agent_key="SHA256:x")
    with pytest.raises(UsageError):
        verify(DATA, "", allowed_signers="a", public_key="b")


# --- sign_file --------------------------------------------------------------------------


def test_sign_file_writes_sig_beside_with_mode_0644(keys: dict[str, Key], tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_bytes(DATA)
    sig_path = tmp_path / "report.json.sig"
    sig_path.write_text("stale")
    old = os.umask(0o077)
    try:
        written = sign_file(str(report), key_file=str(keys["ecdsa256"].path))
    finally:
        os.umask(old)
    assert written == str(sig_path)
    assert sig_path.stat().st_mode & 0o777 == 0o644
    # The temporary file was renamed into place: nothing else is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.json.sig"]
    allowed = allowed_signers(tmp_path, keys["ecdsa256"])
    assert ssh_verify(allowed, sig_path, DATA).returncode == 0
    assert verify_file(str(report), allowed_signers=str(allowed)).principal == PRINCIPAL


# --- canonical JSON ---------------------------------------------------------------------


def test_canonical_json_bytes() -> None:
    obj = {"b": [1, 2.5, None, True], "a": {"z": "é€", "y": "line\nbreak"}}
    expected = '{"a":{"y":"line\\nbreak","z":"é€"},"b":[1,2.5,null,true]}\n'.encode()
    assert canonical_json(obj) == expected
    assert json.loads(canonical_json(obj)) == obj
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


# --- (h) fuzzing ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_arbitrary_text_only_raises_signature_error(keys: dict[str, Key], text: str) -> None:
    with pytest.raises(SignatureError):
        verify(DATA, text, public_key=keys["ed25519"].pub_line)


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=600))
def test_arbitrary_armored_bytes_only_raise_signature_error(
    keys: dict[str, Key], payload: bytes
) -> None:
    with pytest.raises(SignatureError):
        verify(DATA, encode_armor(b"SSHSIG" + payload), public_key=keys["ecdsa256"].pub_line)


@pytest.fixture(scope="module")
def good_blobs(keys: dict[str, Key]) -> dict[str, bytes]:
    return {name: decode_armor(sign(DATA, key_file=str(k.path))) for name, k in keys.items()}


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(list(KEY_SPECS)),
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
        min_size=1,
        max_size=4,
    ),
    cut=st.integers(min_value=-8, max_value=8),
)
def test_mutated_signatures_only_raise_signature_error(
    keys: dict[str, Key],
    good_blobs: dict[str, bytes],
    name: str,
    edits: list[tuple[int, int]],
    cut: int,
) -> None:
    blob = bytearray(good_blobs[name])
    for pos, xor in edits:
        blob[pos % len(blob)] ^= xor
    if cut < 0:
        del blob[cut:]
    else:
        blob += bytes(cut)
    if bytes(blob) == good_blobs[name]:
        return  # two edits cancelled out
    with pytest.raises(SignatureError):
        verify(DATA, encode_armor(bytes(blob)), public_key=str(keys[name].pub))


def test_principal_lookup_matches_ssh_keygen_find_principals(
    keys: dict[str, Key], tmp_path: Path
) -> None:
    key, other = keys["ed25519"], keys["ecdsa256"]
    armored = sign(DATA, key_file=str(key.path))
    sig = tmp_path / "d.sig"
    sig.write_text(armored)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(
        f"someone@example.test {other.pub_line}\n"
        f'"Alice Smith" namespaces="ami-wizard" {key.pub_line}\n'
        f"a@example.test,b@example.test {key.pub_line}\n"
    )
    found = subprocess.run(
        [SSH_KEYGEN, "-Y", "find-principals", "-f", str(allowed), "-s", str(sig)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert found == "Alice Smith"
    assert verify(DATA, armored, allowed_signers=str(allowed)).principal == found
    assert ssh_verify(allowed, sig, DATA, identity="Alice Smith").returncode == 0
    got = verify(DATA, armored, allowed_signers=str(allowed), principal="Alice Smith")
    assert got.principal == "Alice Smith"
