"""The check registry: what it finds, what it validates, and that nothing outside checks/
names a check (screens, session, driver, report and CLI ask the registry)."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from checks import registry
from checks.account import ACCOUNT_CHECKS
from checks.base import catalog
from checks.registry import CheckMeta, RegistryError
from wizard.actions import Phase, PlanContext, PlanRefused
from wizard.errors import WizardError
from wizard.facts import Facts

ROOT = Path(__file__).resolve().parents[2]

# The order the wizard walks the guidelines and the audit JSON lists them: a contract.
ORDER = (
    "root-ssh-login",
    "ssh-password-auth",
    "ssh-use-dns",
    "sshd-hardening",
    "root-password",
    "user-passwords",
    "accounts-privilege",
    "authorized-keys",
    "ssh-host-keys",
    "launch-key",
    "bundle-credentials",
    "shell-history",
    "system-traces",
    "machine-id",
    "cloud-init-state",
    "cloud-init-config",
    "ami-tools",
    "bundle-excludes",
    "identify",
    "ami-imdsv2",
    "paid-product-code",
)


def test_registry_finds_every_check_in_order() -> None:
    assert registry.ids() == ORDER
    assert registry.final_ids() == (
        "ssh-host-keys",
        "authorized-keys",
        "bundle-credentials",
        "system-traces",
        "shell-history",
    )
    assert registry.last_command() == "shell-history"
    assert registry.final_ids()[-1] == registry.last_command()
    assert registry.exclude_list_check() == "bundle-excludes"
    assert registry.by_group("ssh-access") == ORDER[:4]
    for check in registry.checks():
        assert check.entry.id == check.id
        assert registry.module_name(check.id) == "checks." + check.id.replace("-", "_")


def test_every_catalog_entry_is_a_check_the_account_chapter_or_the_runbook() -> None:
    for entry in catalog().values():
        assert (
            registry.is_check(entry.id) or entry.id in ACCOUNT_CHECKS or entry.group == "runbook"
        ), entry.id


# --- nothing outside checks/ names a check -----------------------------------------------


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_module_outside_checks_names_a_check_id() -> None:
    """Every string literal (f-string parts included) in wizard/ and screens/ that is not prose
    is searched for a check id as a word of its own; a path such as /etc/machine-id is not
    one. Prose (a literal with white space: docstrings, messages) may say "machine-id" as the
    name of the file. A hit means knowledge of one guideline outside its module: ask the
    registry."""
    ids = sorted({*registry.ids(), *ACCOUNT_CHECKS}, key=len, reverse=True)
    word = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, ids)) + r")(?![\w/.-])")
    hits = [
        f"{path.relative_to(ROOT)}:{line}: {m.group(1)}"
        for folder in ("wizard", "screens")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, text in _string_constants(path)
        if not any(c.isspace() for c in text)
        for m in word.finditer(text)
    ]
    assert hits == []


def test_no_module_outside_checks_imports_a_check_module() -> None:
    """The engine and the screens reach a check through the registry, never its module."""
    modules = {c.module.__name__ for c in registry.checks()}
    hits = []
    for folder in ("wizard", "screens"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                hits += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n in modules
                ]
    assert hits == []


def test_the_grep_would_see_a_check_id(tmp_path: Path) -> None:
    # the search itself works: the old screens/finale.py line is found
    sample = tmp_path / "sample.py"
    sample.write_text('LAST_CHECK = "shell-history"\nPATH = "/etc/machine-id"\n')
    assert [t for _, t in _string_constants(sample)] == ["shell-history", "/etc/machine-id"]


# --- what a check declares is what it does --------------------------------------------------


class _Recorder:
    """Facts that note every field a check reads."""

    def __init__(self, facts: Facts, seen: set[str]) -> None:
        object.__setattr__(self, "_facts", facts)
        object.__setattr__(self, "_seen", seen)

    def __getattr__(self, name: str) -> Any:
        self._seen.add(name)
        return getattr(self._facts, name)


def _practice_facts() -> list[Facts]:
    from wizard.demo import PracticeTarget
    from wizard.engine import audit

    target = PracticeTarget()
    try:
        facts = audit(target).facts
    finally:
        target.close()
    return [facts, dataclasses.replace(facts, live=True), Facts(), Facts(live=False)]


@pytest.fixture(scope="module")
def fact_sets() -> list[Facts]:
    return _practice_facts()


def _fields_read(check: registry.Check, facts: Facts) -> tuple[set[str], set[type], set[Phase]]:
    seen: set[str] = set()
    kinds: set[type] = set()
    phases: set[Phase] = set()
    check.check(_Recorder(facts, seen))
    for option in check.entry.options:
        try:
            actions = check.plan(_Recorder(facts, seen), option.id, PlanContext("http://x.test"))
        except (PlanRefused, WizardError):
            continue
        kinds |= {type(a) for a in actions}
        phases |= {a.phase for a in actions}
    return seen, kinds, phases


@pytest.mark.parametrize("check_id", ORDER)
def test_meta_needs_and_actions_cover_what_the_check_does(
    check_id: str, fact_sets: list[Facts]
) -> None:
    check = registry.get(check_id)
    fields = {f.name for f in dataclasses.fields(Facts)}
    for facts in fact_sets:
        seen, kinds, phases = _fields_read(check, facts)
        read = {"accounts" if n == "account" else n for n in seen}  # Facts.account() reads it
        assert read & fields <= set(check.meta.needs), sorted(read - set(check.meta.needs))
        assert kinds <= set(check.meta.actions), kinds - set(check.meta.actions)
        # only a final-phase check plans steps for the finale; only the last command, last
        later = {Phase.LAST} if check.meta.last_command else {Phase.FINAL}
        assert phases - {Phase.NORMAL} <= (later if check.meta.phase == "final" else set())


# --- validation -------------------------------------------------------------------------


def _module(name: str, meta: object, **functions: object) -> ModuleType:
    module = ModuleType(f"checks.{name}")
    module.META = meta  # type: ignore[attr-defined]
    for key, value in {"check": lambda f: None, "plan": lambda *a: (), **functions}.items():
        setattr(module, key, value)
    return module


@pytest.mark.parametrize(
    ("name", "meta", "message"),
    [
        ("identify", {"id": "identify"}, "checks.identify: META: not a CheckMeta"),
        ("identify", CheckMeta("machine-id", 1), "checks.identify: META.id: 'machine-id' is"),
        ("no_such", CheckMeta("no-such", 1), "checks.no_such: META.id: no catalog/no-such.yaml"),
        (
            "identify",
            CheckMeta("identify", 1, needs=("hostnam",)),
            "checks.identify: META.needs: 'hostnam' is not a Facts field",
        ),
        (
            "identify",
            CheckMeta("identify", 1, needs="identity"),  # type: ignore[arg-type]
            "checks.identify: META.needs: not a tuple",
        ),
        (
            "identify",
            CheckMeta("identify", 1, phase="final"),
            "checks.identify: META.final_order: set it exactly for the final phase",
        ),
        (
            "identify",
            CheckMeta("identify", 1, last_command=True),
            "checks.identify: META.last_command: only a final-phase check runs last",
        ),
        (
            "identify",
            CheckMeta("identify", 1, actions=(str,)),  # type: ignore[arg-type]
            "checks.identify: META.actions: <class 'str'> is not an Action type",
        ),
    ],
)
def test_a_bad_declaration_is_one_line_naming_module_and_field(
    name: str, meta: object, message: str
) -> None:
    with pytest.raises(RegistryError) as info:
        registry._validate(_module(name, meta), meta)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_a_check_without_plan_is_refused() -> None:
    meta = CheckMeta("identify", 1)
    module = _module("identify", meta, plan=None)
    with pytest.raises(RegistryError, match=r"^checks.identify: plan: missing$"):
        registry._validate(module, meta)
    meta = CheckMeta("identify", 1, exclude_list=True)
    with pytest.raises(RegistryError, match=r"^checks.identify: exclude_list: missing$"):
        registry._validate(_module("identify", meta), meta)
