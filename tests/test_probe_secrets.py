"""The secret scan's lines (probe.sh) read into CredentialFile facts."""

from __future__ import annotations

from pathlib import Path

from wizard.facts import FileInfo
from wizard.probe_secrets import credentials, read_scan


def _info(meta: str, path: str) -> FileInfo:
    size, mode, uid, _gid, _mtime, dev, ino = meta.split(" ")
    return FileInfo(
        path=path, size=int(size), mode=int(mode, 8), uid=int(uid), dev=int(dev), ino=int(ino)
    )


def test_hits_get_the_metadata_of_their_batch() -> None:
    text = "\n".join(
        [
            "M\t/opt/deploy\\x20key\t2",
            "/opt/deploy\\x20key\t1\tprivate-key\t----",
            "S\t2\t399 600 0 0 1700000000 64 11",
            # a second batch reuses index 2 for another file
            "M\t/etc/environment\t2",
            "/etc/environment\t3\taws-access-key-id\tAKIAQ3EXAMPLE",
            "S\t2\t120 644 0 0 1700000000 64 12",
            "rc\t0",
        ]
    )
    scan = read_scan(text, "10")
    assert scan.notes == []
    creds = credentials(scan, (), _info, lambda p: p)
    by_path = {c.file.path: c for c in creds}
    assert by_path["/opt/deploy key"].kind == "private-key"
    assert by_path["/opt/deploy key"].file.ino == 11
    assert by_path["/etc/environment"].kind == "system-environment"
    assert by_path["/etc/environment"].file.ino == 12
    assert by_path["/etc/environment"].hits[0].prefix == "AKIA"  # never more than four


def test_host_keys_certificates_and_public_keys_are_not_credentials() -> None:
    text = "\n".join(
        [
            "/etc/ssh/ssh_host_ed25519_key\t1\tprivate-key\t----",
            "/etc/ssl/certs/a.pem\t1\tcertificate\t----",
            "/home/u/.ssh/id_rsa.pub\t1\tprivate-key\t----",
            "rc\t0",
        ]
    )
    assert credentials(read_scan(text, "10"), (), _info, lambda p: p) == ()


def test_a_scan_that_stops_says_so_for_the_whole_walk() -> None:
    limited = read_scan("limit\t5", "10")
    assert {n.search for n in limited.notes} == {"history", "credential", "secrets"}
    assert "probe.max_files" in limited.notes[0].reason
    timed = read_scan("rc\t124", "7")
    assert [n.reason for n in timed.notes] == ["stopped after 7 s (probe.timeout)"]
    cut = read_scan("/x\t1\tgithub-token\tghp_", "7")
    assert [n.reason for n in cut.notes] == ["was cut short (its output ended early)"]


def test_named_files_that_need_a_hit() -> None:
    named = [FileInfo(path="/home/u/.aws/config"), FileInfo(path="/home/u/.pgpass")]
    creds = credentials(read_scan("rc\t0", "10"), named, _info, lambda p: p)
    assert [(c.file.path, c.kind) for c in creds] == [("/home/u/.pgpass", "password-file")]


NM_PROFILE = """[connection]
id=office
uuid=0b7e1b0e-8c1f-4bb4-9c3e-4f1c2a9d0e11
type=wifi

[wifi-security]
key-mgmt=wpa-psk
psk=Tr0ub4dor-office-wifi
psk-flags=0

[802-1x]
password-flags=1

[vpn-secrets]
Xauth password=hunter2-vpn-pass
"""


def test_host_secrets_and_network_profiles_found_on_an_image(tmp_path: Path) -> None:
    """The probe itself (dash, on an image root): a Kerberos keytab and FreeIPA's host key
    database by name, the Wi-Fi key and VPN secret of a NetworkManager profile by content,
    each shown with four characters at most."""
    from tests.test_probe import run
    from wizard import probe

    root = tmp_path / "root"
    (root / "etc/NetworkManager/system-connections").mkdir(parents=True)
    (root / "etc/ipa/nssdb").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/krb5.keytab").write_bytes(b"\x05\x02\x00\x00\x00\x42host/builder\x00\x17")
    (root / "etc/ipa/nssdb/key4.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 64)
    (root / "etc/ipa/nssdb/pwdfile.txt").write_text("a-random-nss-password\n")
    (root / "etc/ipa/ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    profile = root / "etc/NetworkManager/system-connections/office.nmconnection"
    profile.write_text(NM_PROFILE)
    out, proc = run(root, ["dash"])
    assert proc.returncode == 0, proc.stderr
    facts = probe.parse(out, root=str(root), live=False, target_kind="image")
    kinds = {c.file.path: c.kind for c in facts.credentials}
    assert kinds == {
        "/etc/krb5.keytab": "kerberos-keytab",
        "/etc/ipa/nssdb/key4.db": "ipa-host-key",
        "/etc/ipa/nssdb/pwdfile.txt": "ipa-host-key",
        "/etc/NetworkManager/system-connections/office.nmconnection": "network-profile",
    }
    nm = next(c for c in facts.credentials if c.kind == "network-profile")
    assert [(h.line, h.kind, h.prefix) for h in nm.hits] == [
        (8, "network-secret", "Tr0u"),
        (15, "network-secret", "hunt"),
    ]
    assert b"Tr0ub4" not in out and b"hunter2" not in out and b"a-random" not in out
