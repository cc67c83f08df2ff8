"""The secret scan's lines (probe.sh) read into CredentialFile facts."""

from __future__ import annotations

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
