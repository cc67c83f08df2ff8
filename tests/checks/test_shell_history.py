from checks.shell_history import check
from tests.checks import file
from wizard.facts import Facts
from wizard.model import Status


def test_no_history_passes() -> None:
    assert check(Facts()).status is Status.PASS


def test_histories_fail_with_owner_and_size() -> None:
    facts = Facts(
        histories=(
            file("/root/.bash_history", 2048),
            file("/home/bob/.python_history", 12, owner="bob", uid=1000),
            file("/home/gone/.zsh_history", 5, owner="", uid=1234),
        )
    )
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert finding.evidence[0].path == "/root/.bash_history"
    assert finding.evidence[0].detail == "owner root, 2048 bytes"
    assert finding.evidence[2].detail == "owner uid 1234, 5 bytes"
    assert finding.options == ("shred",)
