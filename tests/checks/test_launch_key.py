from checks.launch_key import check, cloud_config
from wizard.facts import CloudInit, Facts, Unit
from wizard.model import Status

CLOUD_CFG = """\
disable_root: true
cloud_init_modules:
  - seed_random
  - bootcmd
  - [ssh, always]
  - set_hostname
"""
NO_SSH = """\
cloud_init_modules:
  - seed_random
  - bootcmd
"""
FETCH_V2 = """\
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'T=$(curl -X PUT http://$IMDS/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60"); curl -H "X-aws-ec2-metadata-token: $T" http://$IMDS/latest/meta-data/public-keys/0/openssh-key >> /root/.ssh/authorized_keys'
"""
FETCH_V1 = "ExecStart=/bin/sh -c 'curl http://$IMDS/latest/meta-data/public-keys/0/openssh-key'\n"


def ci(*files: tuple[str, str], enabled: bool = True) -> CloudInit:
    return CloudInit(installed=True, enabled=enabled, config=dict(files))


def test_cloud_init_with_ssh_module_passes_with_line() -> None:
    finding = check(Facts(cloud_init=ci(("/etc/cloud/cloud.cfg", CLOUD_CFG))))
    assert finding.status is Status.PASS
    assert (finding.evidence[0].path, finding.evidence[0].line) == ("/etc/cloud/cloud.cfg", 5)
    assert finding.recommended == "cloud-init"


def test_dropin_replacing_the_module_list_fails() -> None:
    facts = Facts(
        cloud_init=ci(
            ("/etc/cloud/cloud.cfg.d/99-local.cfg", NO_SSH), ("/etc/cloud/cloud.cfg", CLOUD_CFG)
        )
    )
    assert cloud_config(facts).source["cloud_init_modules"].endswith("99-local.cfg")
    assert check(facts).status is Status.FAIL


def test_disabled_cloud_init_fails() -> None:
    finding = check(Facts(cloud_init=ci(("/etc/cloud/cloud.cfg", CLOUD_CFG), enabled=False)))
    assert finding.status is Status.FAIL
    assert "disabled" in finding.evidence[-1].detail


def test_allow_public_ssh_keys_false_fails() -> None:
    cfg = CLOUD_CFG + "allow_public_ssh_keys: false\n"
    finding = check(Facts(cloud_init=ci(("/etc/cloud/cloud.cfg", cfg))))
    assert finding.status is Status.FAIL
    assert finding.evidence[-1].line == 7


def test_disable_root_false_is_reported() -> None:
    cfg = CLOUD_CFG.replace("disable_root: true", "disable_root: false")
    finding = check(Facts(cloud_init=ci(("/etc/cloud/cloud.cfg", cfg))))
    assert finding.status is Status.PASS
    assert any("root" in e.detail and e.line == 1 for e in finding.evidence)


def test_broken_yaml_is_reported_and_ignored() -> None:
    facts = Facts(
        cloud_init=ci(
            ("/etc/cloud/cloud.cfg", CLOUD_CFG), ("/etc/cloud/cloud.cfg.d/x.cfg", "a: [b")
        )
    )
    finding = check(facts)
    assert finding.status is Status.PASS
    assert any(e.path.endswith("x.cfg") for e in finding.evidence)


def test_imdsv2_unit_passes_and_is_recommended_without_cloud_init() -> None:
    unit = Unit("/etc/systemd/system/launch-key.service", FETCH_V2, enabled=True)
    finding = check(Facts(units=(unit,)))
    assert finding.status is Status.PASS
    assert finding.recommended == "imds-fetch-unit"
    assert finding.evidence[0].line == 3


def test_imdsv1_only_warns() -> None:
    finding = check(Facts(rc_local=FETCH_V1))
    assert finding.status is Status.WARN
    assert finding.evidence[0].path == "/etc/rc.local"


def test_disabled_unit_warns() -> None:
    unit = Unit("/etc/systemd/system/launch-key.service", FETCH_V2, enabled=False)
    assert check(Facts(units=(unit,))).status is Status.WARN


def test_nothing_fails() -> None:
    finding = check(Facts())
    assert finding.status is Status.FAIL
    assert finding.recommended == "imds-fetch-unit"


def test_unreadable_cloud_init_config_warns() -> None:
    finding = check(Facts(cloud_init=CloudInit(installed=True, enabled=True)))
    assert finding.status is Status.WARN
    assert "could not be read" in finding.summary


def test_the_builders_instance_keyed_stamp_is_named_and_explained() -> None:
    from checks._plans import LAUNCH_KEY_STAMP

    unit = Unit("/etc/systemd/system/launch-key.service", FETCH_V2, enabled=True)
    finding = check(Facts(units=(unit,), stamps=(LAUNCH_KEY_STAMP,)))
    assert finding.status is Status.PASS  # a new instance has a new id: the unit runs
    assert finding.evidence[-1].path == LAUNCH_KEY_STAMP
    assert "builder's instance id" in finding.evidence[-1].detail
    # and it never turns a missing fetcher into anything better
    assert check(Facts(stamps=(LAUNCH_KEY_STAMP,))).status is Status.FAIL


# --- who receives the launch key (asked on the launch-key screen) ---------------------------

import pytest  # noqa: E402

from checks import _plans, registry  # noqa: E402
from checks.launch_key import ID, plan  # noqa: E402
from wizard.actions import PlanContext, PlanRefused, WriteFile  # noqa: E402
from wizard.errors import UsageError  # noqa: E402
from wizard.facts import Account  # noqa: E402

DEFAULT_USER = "system_info:\n  default_user:\n    name: cloudy\n"
ENDPOINT = "http://127.0.0.1:8111"


def acct(name: str, uid: int, shell: str = "/bin/bash") -> Account:
    return Account(name, uid, uid, f"/home/{name}", shell)


ACCOUNTS = (
    acct("root", 0),
    acct("daemon", 1, "/usr/sbin/nologin"),
    acct("sshd", 105, "/usr/sbin/nologin"),
    acct("backup", 34, "/bin/sh"),  # a system account with a shell
    acct("nobody", 65534, "/bin/sh"),
    acct("svc", 1002, "/bin/false"),
    acct("debian", 1000),
    acct("ec2-user", 1001),
    acct("alice", 1003),
)


def user_input_problem(facts: Facts, name: str) -> str | None:
    return registry.input_problems(ID, facts, {"launch_key.user": name}).get("launch_key.user")


def test_candidates_put_ec2_user_first_then_the_usual_names_never_a_system_account() -> None:
    facts = Facts(accounts=ACCOUNTS)
    assert _plans.launch_user_candidates(facts) == ("ec2-user", "debian", "alice")
    suggested = registry.inputs(ID)[0].suggestions(facts)
    assert suggested == ("ec2-user", "debian", "alice")


def test_cloud_inits_default_user_comes_first_even_below_uid_1000() -> None:
    facts = Facts(
        accounts=(*ACCOUNTS, acct("cloudy", 999)),
        cloud_init=ci(("/etc/cloud/cloud.cfg.d/90-user.cfg", DEFAULT_USER)),
    )
    assert _plans.launch_user_candidates(facts)[:2] == ("cloudy", "ec2-user")
    assert user_input_problem(facts, "cloudy") is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("root", "never goes to root"),
        ("daemon", "refuses logins"),
        ("svc", "refuses logins"),
        ("backup", "system account (UID 34)"),
        ("nobody", "system account (UID 65534)"),
        ("ghost", "no account 'ghost'"),
        ("bad;name", "not a valid user name"),
    ],
)
def test_a_system_or_unknown_account_is_refused_with_a_clear_error(name: str, why: str) -> None:
    facts = Facts(accounts=ACCOUNTS)
    assert why in (user_input_problem(facts, name) or "")
    with pytest.raises(UsageError, match=why.split("(")[0].strip()):
        plan(facts, f"imds-fetch-unit:{name}", PlanContext(imds_endpoint=ENDPOINT))


def test_empty_means_the_default_and_the_configured_user_is_planned() -> None:
    facts = Facts(accounts=ACCOUNTS)
    assert user_input_problem(facts, "") is None

    def unit_user(ctx: PlanContext) -> bytes:
        unit = next(a for a in plan(facts, "imds-fetch-unit", ctx) if isinstance(a, WriteFile))
        return unit.content

    assert b"u=ec2-user;" in unit_user(PlanContext(imds_endpoint=ENDPOINT))
    chosen = PlanContext(imds_endpoint=ENDPOINT, launch_key_user="alice")
    assert b"u=alice;" in unit_user(chosen)
    with pytest.raises(UsageError, match="never goes to root"):
        unit_user(PlanContext(imds_endpoint=ENDPOINT, launch_key_user="root"))


def test_only_system_accounts_is_refused_not_root() -> None:
    facts = Facts(accounts=ACCOUNTS[:5])
    with pytest.raises(PlanRefused, match="no account can receive"):
        plan(facts, "imds-fetch-unit", PlanContext(imds_endpoint=ENDPOINT, login_user="root"))
