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
