from checks.authorized_keys import check
from tests.checks import file, pubkey
from wizard.facts import AuthorizedKeysFile, Facts
from wizard.model import Status


def test_no_files_passes() -> None:
    finding = check(Facts())
    assert finding.status is Status.PASS
    assert finding.recommended == "clear"


def test_each_key_is_evidence_with_line_and_fingerprint() -> None:
    path = "/home/admin/.ssh/authorized_keys"
    facts = Facts(
        authorized_keys=(
            AuthorizedKeysFile(
                file(path, owner="admin"),
                "admin",
                (pubkey(path, 1, "builder@laptop"), pubkey(path, 3)),
            ),
        )
    )
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert [(e.path, e.line) for e in finding.evidence] == [(path, 1), (path, 3)]
    assert finding.evidence[0].detail == (
        "admin: ssh-ed25519 SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG builder@laptop"
    )
    assert "admin" in finding.summary


def test_empty_file_passes_but_is_listed() -> None:
    path = "/root/.ssh/authorized_keys"
    finding = check(Facts(authorized_keys=(AuthorizedKeysFile(file(path), "root"),)))
    assert finding.status is Status.PASS
    assert finding.evidence[0].path == path
