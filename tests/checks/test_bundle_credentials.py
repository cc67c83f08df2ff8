from checks.bundle_credentials import check
from tests.checks import file
from wizard.facts import CredentialFile, Facts, SecretHit
from wizard.model import Severity, Status

SECRET = "AKIAIOSFODNN7EXAMPLE"


def test_nothing_found_passes() -> None:
    assert check(Facts()).status is Status.PASS


def test_hits_show_only_a_masked_prefix() -> None:
    path = "/root/.aws/credentials"
    # Even if a probe bug sent the whole secret, at most four characters may come out.
    facts = Facts(
        credentials=(
            CredentialFile(
                file(path),
                "aws-credentials",
                (
                    SecretHit(path, 2, "aws-access-key-id", SECRET),
                    SecretHit(path, 3, "aws-secret-access-key", "wJal"),
                ),
            ),
            CredentialFile(file("/root/pk-ABCDEF.pem"), "x509-private-key"),
        )
    )
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence[1].line == 2
    assert finding.evidence[1].detail == "AWS access key id AKIA****"
    assert finding.evidence[2].detail == "AWS secret access key wJal****"
    assert "X.509 private key" in finding.evidence[3].detail
    text = " ".join(e.detail for e in finding.evidence) + finding.summary
    assert SECRET[4:8] not in text
    assert finding.recommended == "delete"


def test_incomplete_search_never_passes_and_keeps_a_fail() -> None:
    from dataclasses import replace

    from checks import bundle_credentials
    from wizard.facts import CredentialFile, Facts, FileInfo, SearchNote

    cut = (SearchNote("secrets", "stopped after 10 s (probe.timeout)"),)
    empty = bundle_credentials.check(Facts(incomplete=cut))
    assert empty.status.value == "warn"
    assert empty.summary.startswith("search incomplete: secrets search stopped after 10 s")
    other = bundle_credentials.check(Facts(incomplete=(SearchNote("history", "x"),)))
    assert other.status.value == "pass"  # a search this check does not depend on
    cred = CredentialFile(FileInfo(path="/root/.aws/credentials"), "aws-credentials")
    found = bundle_credentials.check(replace(Facts(incomplete=cut), credentials=(cred,)))
    assert found.status.value == "fail"
    assert "search incomplete: " in found.summary
