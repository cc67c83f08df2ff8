"""sshd-hardening: optional and off by default; judged from sshd -T or the files; the fix
names only supported baseline algorithms, and keeps one the wizard's own client speaks."""

from __future__ import annotations

import dataclasses

import paramiko
import pytest

from checks import registry, run_checks, run_one
from checks.sshd_hardening import BASELINE, ID, check, plan, supported
from wizard.actions import PlanRefused, SetSshd
from wizard.config import Config
from wizard.facts import Facts
from wizard.model import Status

MAIN = "/etc/ssh/sshd_config"
GOOD = """\
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
MaxAuthTries 3
LoginGraceTime 30s
X11Forwarding no
"""
# What `ssh -Q` printed on a Debian 12 (OpenSSH 9.2) machine, shortened.
SSH_Q = {
    "cipher": ("aes128-ctr", "aes256-ctr", "aes128-gcm@openssh.com", "3des-cbc"),
    "mac": ("hmac-sha1", "hmac-sha2-256", "hmac-sha2-256-etm@openssh.com", "umac-64@openssh.com"),
    "kex": ("curve25519-sha256", "diffie-hellman-group14-sha1", "sntrup761x25519-sha512"),
}


def facts(text: str, version: str = "9.2p1", **kw: object) -> Facts:
    f = Facts(sshd_files={MAIN: text}, sshd_version=version, live=False, selected=(ID,))
    return dataclasses.replace(f, **kw)  # type: ignore[arg-type]


def test_off_by_default_is_not_selected_never_pass() -> None:
    assert registry.get(ID).meta.off_by_default and registry.get(ID).entry.optional
    assert ID in registry.off_by_default()
    finding = run_one(ID, Facts(sshd_files={MAIN: GOOD}, sshd_version="9.2p1"))
    assert finding.status is Status.SKIP and finding.summary.startswith("not selected")
    # every other check still runs; turned on, it is judged
    assert run_one(ID, facts(GOOD)).status is Status.PASS
    assert next(f for f in run_checks(facts(GOOD)) if f.id == ID).status is Status.PASS


def test_a_good_configuration_passes() -> None:
    finding = check(facts(GOOD))
    assert finding.status is Status.PASS, finding.summary
    assert plan(facts(GOOD), "apply-baseline") == ()


def test_the_stock_defaults_warn_for_macs_kex_tries_grace_and_debian_x11() -> None:
    finding = check(facts("X11Forwarding yes\n"))
    assert finding.status is Status.WARN
    for word in ("MACs not set", "KexAlgorithms not set", "MaxAuthTries is 6", "120s"):
        assert word in finding.summary
    assert "X11Forwarding is yes" in finding.summary
    assert "Ciphers" not in finding.summary  # the 9.2 default ciphers are at the baseline
    actions = plan(facts("X11Forwarding yes\n"), "apply-baseline")
    assert {a.keyword: a.args for a in actions if isinstance(a, SetSshd)} == {
        "MACs": (",".join(n for n, _ in BASELINE["macs"]),),
        # 9.2: no ML-KEM (9.9), and the NTRU Prime hybrid only under its @openssh.com name
        "KexAlgorithms": (",".join(n for n, _ in BASELINE["kexalgorithms"][2:]),),
        "MaxAuthTries": ("3",),
        "LoginGraceTime": ("30",),
        "X11Forwarding": ("no",),
    }
    assert plan(facts("X11Forwarding yes\n"), "keep") == ()


def test_weak_algorithms_from_sshd_t_are_named() -> None:
    live = facts(
        GOOD,
        live=True,
        sshd_t={
            "ciphers": ("aes128-ctr,aes128-cbc",),
            "macs": ("hmac-sha2-256,hmac-sha1",),
            "kexalgorithms": ("curve25519-sha256",),
            "maxauthtries": ("3",),
            "logingracetime": ("30",),
            "x11forwarding": ("no",),
        },
    )
    finding = check(live)
    assert finding.status is Status.WARN
    assert "Ciphers offers aes128-cbc (sshd -T)" in finding.summary
    assert "MACs offers hmac-sha1" in finding.summary
    assert "Kex" not in finding.summary and "MaxAuthTries" not in finding.summary


def test_the_fix_names_only_what_ssh_q_lists() -> None:
    live = facts("MaxAuthTries 3\n", live=True, ssh_algorithms=SSH_Q)
    actions = {a.keyword: a.args[0] for a in plan(live, "apply-baseline") if isinstance(a, SetSshd)}
    assert actions["MACs"] == "hmac-sha2-256-etm@openssh.com,hmac-sha2-256"
    assert actions["KexAlgorithms"] == "sntrup761x25519-sha512,curve25519-sha256"
    assert "3des" not in ",".join(actions.values()) and "sha1" not in actions["KexAlgorithms"]


def test_an_old_release_gets_only_what_it_has_and_nothing_refuses() -> None:
    old = facts("Port 22\n", version="6.6p1")
    assert supported(old, "kexalgorithms") == [
        "curve25519-sha256@libssh.org",
        "diffie-hellman-group-exchange-sha256",
    ]
    assert "Ciphers not set" in check(old).summary  # 6.6's default still has CBC
    nothing = facts("Port 22\n", live=True, ssh_algorithms={"mac": ("hmac-md5",)})
    with pytest.raises(PlanRefused, match="MACs: none of the baseline"):
        plan(nothing, "apply-baseline")


def test_a_plus_minus_list_and_x11_in_a_match_block_are_not_the_baseline() -> None:
    text = GOOD.replace("MACs hmac", "MACs -hmac") + "Match User build\n  X11Forwarding yes\n"
    finding = check(facts(text))
    assert "changes the default list" in finding.summary
    assert "X11Forwarding is no, and yes in a Match block" in finding.summary
    x11 = next(a for a in plan(facts(text), "apply-baseline") if a.keyword == "X11Forwarding")
    assert isinstance(x11, SetSshd) and x11.clear_in_match == ("yes",)


def test_the_baseline_keeps_an_algorithm_the_wizards_own_client_speaks() -> None:
    # After an sshd fix the wizard proves it with a new login (paramiko): the fix must not
    # leave it without a common algorithm, or every apply would roll back.
    theirs = paramiko.Transport
    for keyword, ours in (
        ("ciphers", theirs._preferred_ciphers),
        ("macs", theirs._preferred_macs),
        ("kexalgorithms", theirs._preferred_kex),
    ):
        assert set(supported(facts(""), keyword)) & set(ours), keyword


def test_the_config_turns_it_on() -> None:
    assert Config(selected=(ID,)).selected == (ID,)
    finding = run_one(ID, dataclasses.replace(facts(GOOD), selected=()))
    assert finding.status is Status.SKIP


def test_choosing_it_in_a_session_turns_it_on_for_the_re_audit(tmp_path: object) -> None:
    from pathlib import Path

    from wizard.demo import seed_practice_image
    from wizard.session import Session
    from wizard.targets.image import ImageTarget

    root = Path(str(tmp_path)) / "practice"
    root.mkdir()
    session = Session(ImageTarget(str(seed_practice_image(root)), kind="demo", uri="demo"))
    first = next(f for f in session.audit().findings if f.id == ID)
    assert first.status is Status.SKIP
    outcome = session.apply({ID: "apply-baseline"}, include_final=False)
    assert outcome.ok, outcome.errors
    assert ID in session.config.selected
    assert session.after is not None
    after = next(f for f in session.after.findings if f.id == ID)
    assert after.status is Status.PASS, after.summary
    dropin = (root / "etc/ssh/sshd_config.d/00-ami-wizard.conf").read_text().lower()
    assert "maxauthtries 3" in dropin and "x11forwarding no" in dropin
