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


# --- the operator's inputs (asked on the identify screen) ----------------------------------

from checks import registry  # noqa: E402
from checks.identify import ID  # noqa: E402


def problems(**values: str) -> dict[str, str]:
    return registry.input_problems(ID, Facts(), {f"identity.{k}": v for k, v in values.items()})


def test_the_screen_asks_publisher_description_and_contact() -> None:
    keys = [i.key for i in registry.inputs(ID)]
    assert keys == ["identity.publisher", "identity.description", "identity.contact"]


def test_good_values_pass_and_contact_is_optional() -> None:
    assert problems(publisher="Example Ltd", description="Debian 12 web base", contact="") == {}
    assert problems(contact="images@example.org") == {}
    assert problems(contact="https://example.org/images") == {}


def test_required_too_long_multiline_and_bad_contact_are_refused() -> None:
    found = problems(publisher=" ", description="x" * 256, contact="call me")
    assert "required" in found["identity.publisher"]
    assert "at most 255" in found["identity.description"]
    assert "e-mail" in found["identity.contact"]
    assert "one line" in problems(publisher="a\nb")["identity.publisher"]
    assert (
        "asks for no"
        in registry.input_problems(ID, Facts(), {"probe.timeout": "1"})["probe.timeout"]
    )


def test_a_secret_looking_value_is_refused_and_never_quoted() -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    assert "secret" in problems(description=f"token {token}")["identity.description"]
    finding = check(Facts(identity={"publisher": "Example", "description": f"see {token}"}))
    assert finding.status is Status.WARN
    shown = finding.summary + " ".join(e.detail for e in finding.evidence)
    assert token not in shown and "(not usable)" in shown


def test_contact_is_part_of_the_pass() -> None:
    facts = Facts(
        identity={"publisher": "Ex", "description": "Web base", "contact": "ops@example.org"}
    )
    finding = check(facts)
    assert finding.status is Status.PASS and "ops@example.org" in finding.summary
