from checks.paid_product_code import check
from wizard.facts import Facts, Unit
from wizard.model import Status


def test_free_ami_skips() -> None:
    assert check(Facts(is_ec2=True)).status is Status.SKIP
    assert check(Facts(is_ec2=False, product_codes=("abc",))).status is Status.SKIP


def test_paid_ami_without_verification_is_info() -> None:
    finding = check(Facts(is_ec2=True, product_codes=("8fjh3k2",)))
    assert finding.status is Status.INFO
    assert "8fjh3k2" in finding.summary
    assert finding.options == ()
    assert finding.recommended is None


def test_paid_ami_with_a_verifying_unit_passes() -> None:
    unit = Unit(
        "/etc/systemd/system/licence.service",
        "ExecStart=/opt/app/check latest/meta-data/product-codes",
        True,
    )
    finding = check(Facts(is_ec2=True, product_codes=("8fjh3k2",), units=(unit,)))
    assert finding.status is Status.PASS
    assert finding.evidence[-1].path == unit.path
