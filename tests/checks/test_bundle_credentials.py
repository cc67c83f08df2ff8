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


def test_secret_in_a_system_file_is_never_deleted_nor_moved() -> None:
    from checks import bundle_credentials
    from wizard.actions import DeleteFile, MoveFile, PlanContext

    env = CredentialFile(
        file("/etc/environment"),
        "system-environment",
        (SecretHit("/etc/environment", 3, "aws-access-key-id", "AKIA"),),
    )
    unit = CredentialFile(
        file("/etc/systemd/system/app.service"),
        "systemd-unit",
        (SecretHit("/etc/systemd/system/app.service", 7, "unit-environment", "hunt"),),
    )
    key = CredentialFile(
        file("/opt/deploy_key"),
        "private-key",
        (SecretHit("/opt/deploy_key", 1, "private-key", "----"),),
    )
    facts = Facts(live=True, credentials=(env, unit, key))
    finding = bundle_credentials.check(facts)
    assert finding.status is Status.FAIL
    assert "2 in system files: edit by hand" in finding.summary
    first = {e.path: e.detail for e in finding.evidence if e.line == 0}
    assert "edit the secret out by hand" in first["/etc/environment"]
    assert "edit the secret out by hand" in first["/etc/systemd/system/app.service"]
    assert "by hand" not in first["/opt/deploy_key"]
    assert any(e.line == 7 and e.detail == "Environment= secret hunt****" for e in finding.evidence)
    for option in ("delete", "move-outside-bundle"):
        actions = bundle_credentials.plan(facts, option, PlanContext())
        paths = [a.path for a in actions if isinstance(a, DeleteFile | MoveFile)]
        assert paths == ["/opt/deploy_key"], option
    assert bundle_credentials.unchanged(facts, "delete") is None
    only_system = Facts(live=False, credentials=(env, unit))
    assert bundle_credentials.plan(only_system, "delete") == ()
    # An image has no other file system, but nothing is to be moved: no refusal either.
    assert bundle_credentials.plan(only_system, "move-outside-bundle") == ()
    reason = bundle_credentials.unchanged(only_system, "delete")
    assert reason is not None and "/etc/environment" in reason.reason


def test_every_kind_the_probe_sends_has_words() -> None:
    import re
    from pathlib import Path

    from checks.bundle_credentials import FILE_KINDS, HIT_KINDS
    from wizard import probe_secrets

    script = (Path(__file__).parents[2] / "wizard" / "probe.sh").read_text()
    sent = set(re.findall(r'hit\((?:unit \? )?"([a-z0-9-]+)"', script))
    sent |= set(re.findall(r': "([a-z0-9-]+)", v\)', script))
    assert {"github-token", "pgpass-password", "unit-environment", "secret-value"} <= sent
    assert sent <= set(HIT_KINDS)
    kinds = {k for _, k in probe_secrets._CREDENTIAL_KINDS} | {"secret-in-file", "private-key"}
    assert kinds <= set(FILE_KINDS)


def test_a_host_keytab_is_shredded_even_under_etc() -> None:
    from checks import bundle_credentials
    from wizard.actions import DeleteFile

    keytab = CredentialFile(file("/etc/krb5.keytab"), "kerberos-keytab", ())
    nm = CredentialFile(
        file("/etc/NetworkManager/system-connections/w.nmconnection"),
        "network-profile",
        (
            SecretHit(
                "/etc/NetworkManager/system-connections/w.nmconnection", 8, "network-secret", "Tr0u"
            ),
        ),
    )
    facts = Facts(live=True, credentials=(keytab, nm))
    finding = bundle_credentials.check(facts)
    assert "1 in system files: edit by hand" in finding.summary
    assert any(
        e.detail == "network secret (Wi-Fi key, VPN or 802.1X password) Tr0u****"
        for e in finding.evidence
    )
    actions = bundle_credentials.plan(facts, "delete")
    assert [(a.path, a.shred) for a in actions if isinstance(a, DeleteFile)] == [
        ("/etc/krb5.keytab", True)
    ]
