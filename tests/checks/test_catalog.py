"""The catalog is complete and coherent: every instance check has its text, module and options."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from checks import INSTANCE_CHECKS, module_name, run_checks
from checks.base import GROUPS, catalog
from tests.checks import account, file
from wizard.facts import CloudInit, Facts, HostKey, PasswordState
from wizard.model import Status

# Option ids are a contract with the apply engine and with plan files.
OPTION_IDS = {
    "root-ssh-login": ["prohibit-password", "no", "forced-commands-only"],
    "ssh-password-auth": ["disable"],
    "ssh-use-dns": ["no", "yes"],
    "sshd-hardening": ["apply-baseline", "keep"],
    "root-password": ["lock", "lock-and-randomise-at-first-boot", "disable"],
    "user-passwords": ["lock", "disable"],
    "authorized-keys": ["clear", "keep-and-exclude"],
    "ssh-host-keys": ["delete-and-regenerate"],
    "launch-key": ["cloud-init", "imds-fetch-unit"],
    "shell-history": ["shred"],
    "bundle-credentials": ["delete", "move-outside-bundle"],
    "bundle-excludes": ["write"],
    "identify": ["set"],
    "paid-product-code": [],
    "ami-imdsv2": [],
    "machine-id": ["empty"],
    "cloud-init-state": ["clean"],
    "cloud-init-config": ["drop-in"],
    "accounts-privilege": ["fix-all", "remove-world-write"],
    "ami-tools": ["update", "ami-tools-only"],
    "system-traces": ["truncate", "remove", "remove-and-zero-free-space", "keep"],
}
# Steps that destroy material the journal must never keep (or, for package upgrades, cannot).
IRREVERSIBLE = {
    ("ami-tools", "update"),
    ("ami-tools", "ami-tools-only"),
    ("ssh-host-keys", "delete-and-regenerate"),
    ("shell-history", "shred"),
    ("bundle-credentials", "delete"),
    ("cloud-init-state", "clean"),
    ("root-password", "disable"),
    ("user-passwords", "disable"),
    # big logs, caches, dumps and the shadow backups are never journaled
    ("system-traces", "truncate"),
    ("system-traces", "remove"),
    ("system-traces", "remove-and-zero-free-space"),
}
SEED = Path("/work/shared/seeds/001_8f3fe873523c5803.txt")


def sentences(text: str) -> int:
    return len(re.findall(r"[.!?](?:\s|$)", text.strip()))


@pytest.mark.parametrize("check_id", INSTANCE_CHECKS)
def test_every_check_has_entry_module_and_texts(check_id: str) -> None:
    entry = catalog()[check_id]
    module = importlib.import_module(module_name(check_id))
    assert callable(module.check)
    assert entry.group in GROUPS
    for text in (entry.title, entry.why, entry.learn, entry.seed):
        assert text.strip()
    assert 2 <= sentences(entry.why) <= 4, entry.why
    assert len(entry.learn) > len(entry.why)
    for option in entry.options:
        assert option.label.strip() and option.tradeoff.strip()


@pytest.mark.parametrize("check_id", INSTANCE_CHECKS)
def test_options_are_the_contract_with_one_recommended(check_id: str) -> None:
    entry = catalog()[check_id]
    ids = [o.id for o in entry.options]
    assert ids == OPTION_IDS[check_id]
    assert len(set(ids)) == len(ids)
    if ids:
        assert sum(o.recommended for o in entry.options) == 1
    for option in entry.options:
        assert option.reversible is not ((check_id, option.id) in IRREVERSIBLE)


def test_no_check_crashes_on_typical_facts() -> None:
    facts = Facts(
        accounts=(account("root", 0, PasswordState.USABLE), account("admin", 1000)),
        sshd_files={"/etc/ssh/sshd_config": "PermitRootLogin yes\n"},
        sshd_version="9.2p1",
        host_keys=(HostKey(file("/etc/ssh/ssh_host_ed25519_key"), None),),
        histories=(file("/root/.bash_history"),),
        cloud_init=CloudInit(installed=True, enabled=True, config={"/etc/cloud/cloud.cfg": "a: ["}),
        machine_id="abc\n",
    )
    findings = run_checks(facts)
    assert [f.id for f in findings] == list(INSTANCE_CHECKS)
    for finding in findings:
        assert not finding.summary.startswith("the check itself failed"), finding
        assert "\n" not in finding.summary
    assert {f.status for f in findings} >= {Status.FAIL, Status.PASS}


@pytest.mark.skipif(not SEED.exists(), reason="seed texts not available")
def test_catalog_text_is_not_copied_from_the_seed() -> None:
    words = re.findall(r"[a-z0-9']+", SEED.read_text(encoding="utf-8").lower())
    shingles = {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}
    for entry in catalog().values():
        if entry.id not in INSTANCE_CHECKS:
            continue
        texts = [entry.why, entry.learn] + [o.tradeoff for o in entry.options]
        ours = re.findall(r"[a-z0-9']+", " ".join(texts).lower())
        copied = {" ".join(ours[i : i + 8]) for i in range(len(ours) - 7)} & shingles
        assert not copied, (entry.id, copied)
