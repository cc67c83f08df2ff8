from checks.identify import check
from wizard.facts import Facts
from wizard.model import Status


def test_publisher_and_description_pass() -> None:
    facts = Facts(identity={"publisher": "Example Ltd", "description": "Debian 12 web base"})
    finding = check(facts)
    assert finding.status is Status.PASS
    assert "Example Ltd" in finding.summary


def test_missing_description_is_info() -> None:
    finding = check(Facts(identity={"publisher": "Example Ltd", "description": "  "}))
    assert finding.status is Status.INFO
    assert "description" in finding.summary and "publisher" not in finding.summary


def test_nothing_set_is_info() -> None:
    finding = check(Facts())
    assert finding.status is Status.INFO
    assert finding.options == ("set",)
