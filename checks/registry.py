"""The check registry: which guidelines exist, in what order, and what each one declares.

A guideline is three files: `checks/<id>.py` (the id with `-` as `_`), its words in
`checks/catalog/<id>.yaml` and its tests in `tests/checks/test_<id>.py`. The module declares
everything the engine must know about it in ONE place, a module-level `META = CheckMeta(...)`,
next to its pure `check(facts)` and `plan(facts, option_id, ctx)` (and, when it has them,
`unchanged(facts, option_id)` and `refusal(facts, option_id, actions, ctx)`).

The registry finds those modules itself (pkgutil over the `checks` package, plus any package
given to `add_package`: checks kept outside this repository, or a test's throw-away one),
validates them against the catalog and the Facts, and answers every question the engine,
the screens, the report and the CLI have about checks. Nothing outside `checks/` names a
check id.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any, Literal

from checks import _catalog
from checks._catalog import CatalogEntry
from wizard.actions import Action, PlanContext
from wizard.errors import WizardError
from wizard.facts import Facts
from wizard.model import Finding

CheckFn = Callable[[Any], Finding]
PlanFn = Callable[..., tuple[Action, ...]]
UnchangedFn = Callable[[Any, str], Any]
RefusalFn = Callable[[Any, str, tuple[Action, ...], PlanContext], "str | None"]
ValidateFn = Callable[[Facts, str], "str | None"]
SuggestFn = Callable[[Facts], tuple[str, ...]]
ExcludeFn = Callable[[Any], list[str]]

_PACKAGES: list[str] = ["checks"]


class RegistryError(WizardError):
    """A check module that does not declare itself correctly: one line, module and field."""


@dataclass(frozen=True)
class OperatorInput:
    """One value the operator types for a guideline (the TUI asks it on the guideline's
    screen); it is kept in the config file under `key` ("section.name"), never on the target.

    `validate(facts, value)` says what is wrong with a value (one line), or None when it is
    fine; an empty value means "not set" and is validated too. `suggest(facts)` lists good
    values, the first being the default used when nothing is set. Never a secret: the config
    file is plain text.
    """

    key: str
    label: str
    placeholder: str = ""
    max_length: int = 255
    validate: ValidateFn | None = None
    suggest: SuggestFn | None = None

    def problem(self, facts: Facts, value: str) -> str | None:
        """What is wrong with `value` (length, then the check's own rule), or None."""
        if len(value) > self.max_length:
            return f"{self.label}: at most {self.max_length} characters"
        return self.validate(facts, value) if self.validate else None

    def suggestions(self, facts: Facts) -> tuple[str, ...]:
        return self.suggest(facts) if self.suggest else ()


@dataclass(frozen=True)
class CheckMeta:
    """What a check declares about itself; its title and options live in its catalog YAML."""

    id: str
    order: int  # where the wizard walks it: lower first (access first, traces last)
    phase: Literal["normal", "final"] = "normal"  # final: runs in the finale, after the rest
    final_order: int = 0  # its place in the finale (final phase only, 1 first)
    last_command: bool = False  # its action is the very last command sent to the target
    needs: tuple[str, ...] = ()  # the Facts fields it reads
    actions: tuple[type[Action], ...] = ()  # the kinds of action its options can plan
    exclude_list: bool = False  # it derives the bundle exclude list: `exclude_list(facts)`
    # What it finds would ride from the builder into every launch: test-boot judges it again
    # on the image as shipped.
    launch_trace: bool = False
    # What the operator types for it (publisher, the launch-key user...): see OperatorInput.
    inputs: tuple[OperatorInput, ...] = ()
    # An optional guideline (catalog `optional: true`) that is not judged unless the operator
    # turns it on (config `guidelines.enable`, or choosing it in the wizard): until then its
    # finding is `skip`, "not selected" (see `not_selected`), never a pass.
    off_by_default: bool = False


@dataclass(frozen=True)
class Check:
    """One registered check: its declaration, its catalog entry and its functions (looked up
    on the module at each use, so a test that patches the module is what runs)."""

    meta: CheckMeta
    module: ModuleType

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def entry(self) -> CatalogEntry:
        return _catalog.catalog()[self.meta.id]

    @property
    def check(self) -> CheckFn:
        fn: CheckFn = self.module.check
        return fn

    @property
    def plan(self) -> PlanFn:
        fn: PlanFn = self.module.plan
        return fn

    @property
    def unchanged(self) -> UnchangedFn | None:
        return getattr(self.module, "unchanged", None)  # optional: most checks need none

    @property
    def refusal(self) -> RefusalFn | None:
        return getattr(self.module, "refusal", None)  # optional: a session lock-out rule

    @property
    def exclude_list(self) -> ExcludeFn | None:
        """`exclude_list(facts)` of the check that declares META.exclude_list, else None."""
        return self.module.exclude_list if self.meta.exclude_list else None


def _facts_fields() -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(Facts))


def _modules(package: str) -> Iterator[ModuleType]:
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{package}.{info.name}")


def _validate(module: ModuleType, meta: Any) -> Check:
    where = module.__name__
    if not isinstance(meta, CheckMeta):
        raise RegistryError(f"{where}: META: not a CheckMeta")
    if module.__name__.rsplit(".", 1)[-1] != meta.id.replace("-", "_"):
        raise RegistryError(f"{where}: META.id: {meta.id!r} is not the module's name")
    if meta.id not in _catalog.catalog():
        raise RegistryError(f"{where}: META.id: no catalog/{meta.id}.yaml")
    for name in ("needs", "actions", "inputs"):
        if not isinstance(getattr(meta, name), tuple):
            raise RegistryError(f"{where}: META.{name}: not a tuple")
    unknown = sorted(set(meta.needs) - _facts_fields())
    if unknown:
        raise RegistryError(f"{where}: META.needs: {unknown[0]!r} is not a Facts field")
    if (meta.phase == "final") != (meta.final_order > 0):
        raise RegistryError(f"{where}: META.final_order: set it exactly for the final phase")
    if meta.last_command and meta.phase != "final":
        raise RegistryError(f"{where}: META.last_command: only a final-phase check runs last")
    if any(not isinstance(i, OperatorInput) or i.key.count(".") != 1 for i in meta.inputs):
        raise RegistryError(f"{where}: META.inputs: each is an OperatorInput keyed SECTION.NAME")
    if meta.off_by_default and not _catalog.catalog()[meta.id].optional:
        raise RegistryError(f"{where}: META.off_by_default: the catalog must say optional: true")
    bad = [a for a in meta.actions if not (isinstance(a, type) and issubclass(a, Action))]
    if bad:
        raise RegistryError(f"{where}: META.actions: {bad[0]!r} is not an Action type")
    for name in ("check", "plan", "unchanged", "refusal", "exclude_list"):
        fn = getattr(module, name, None)
        if fn is not None and not callable(fn):
            raise RegistryError(f"{where}: {name}: not a function")
    for name in ("check", "plan", *(("exclude_list",) if meta.exclude_list else ())):
        if getattr(module, name, None) is None:
            raise RegistryError(f"{where}: {name}: missing")
    return Check(meta=meta, module=module)


@cache
def _registered() -> dict[str, Check]:
    found: dict[str, Check] = {}
    for package in _PACKAGES:
        for module in _modules(package):
            meta = getattr(module, "META", None)
            if meta is None:
                continue  # shared helpers, the account chapter, the runbook
            check = _validate(module, meta)
            if check.id in found:
                raise RegistryError(f"{module.__name__}: META.id: {check.id!r} is registered twice")
            found[check.id] = check
    ordered = sorted(found.values(), key=lambda c: (c.meta.order, c.id))
    finals = [c for c in ordered if c.meta.phase == "final"]
    if len({c.meta.final_order for c in finals}) != len(finals):
        raise RegistryError("checks: META.final_order: two final-phase checks share a place")
    last = [c.id for c in ordered if c.meta.last_command]
    if len(last) > 1:
        raise RegistryError(f"checks: META.last_command: more than one ({', '.join(last)})")
    if last and max(finals, key=lambda c: c.meta.final_order).id != last[0]:
        raise RegistryError(f"checks.{last[0].replace('-', '_')}: META.final_order: not last")
    return {c.id: c for c in ordered}


# --- the questions ---------------------------------------------------------------------


def checks() -> tuple[Check, ...]:
    """Every registered check, in the order the wizard walks them."""
    return tuple(_registered().values())


def ids() -> tuple[str, ...]:
    """Every registered check id, in order: what an audit runs and reports."""
    return tuple(_registered())


def is_check(check_id: str) -> bool:
    return check_id in _registered()


def get(check_id: str) -> Check:
    """The registered check (KeyError for an id that is not one)."""
    return _registered()[check_id]


def module_name(check_id: str) -> str:
    """The module that holds a check (registered or not: `checks.<id with _>`)."""
    check = _registered().get(check_id)
    return check.module.__name__ if check else "checks." + check_id.replace("-", "_")


def by_group(group: str) -> tuple[str, ...]:
    """The check ids of one overview group (catalog `group`), in order."""
    return tuple(c.id for c in checks() if c.entry.group == group)


def final_ids() -> tuple[str, ...]:
    """The finale's checks in the order it shows and confirms them; the last command last."""
    finals = [c for c in checks() if c.meta.phase == "final"]
    return tuple(c.id for c in sorted(finals, key=lambda c: c.meta.final_order))


def last_command() -> str | None:
    """The check whose action is the very last command of a session (the history shred)."""
    return next((c.id for c in checks() if c.meta.last_command), None)


def launch_trace_ids() -> tuple[str, ...]:
    """The checks test-boot judges again on the image as shipped (see CheckMeta.launch_trace)."""
    return tuple(c.id for c in checks() if c.meta.launch_trace)


def inputs(check_id: str) -> tuple[OperatorInput, ...]:
    """What the operator types for a check (empty for most), in the order it is asked."""
    check = _registered().get(check_id)
    return check.meta.inputs if check else ()


def input_problems(check_id: str, facts: Facts, values: dict[str, str]) -> dict[str, str]:
    """The problem of each value given for the check's inputs (by key), plus keys it has no
    input for; empty when every value is fine."""
    known = {i.key: i for i in inputs(check_id)}
    problems = {k: f"{check_id} asks for no {k!r}" for k in values if k not in known}
    for key, value in values.items():
        found = known[key].problem(facts, value) if key in known else None
        if found:
            problems[key] = found
    return problems


def off_by_default() -> tuple[str, ...]:
    """The optional guidelines that are judged only once the operator turns them on."""
    return tuple(c.id for c in checks() if c.meta.off_by_default)


def not_selected(check_id: str, facts: Facts) -> bool:
    """True when the check is off by default and the operator has not turned it on."""
    check = _registered().get(check_id)
    return check is not None and check.meta.off_by_default and check_id not in facts.selected


def exclude_list_check() -> str | None:
    """The check whose finding lists the bundle exclude list as its evidence."""
    return next((c.id for c in checks() if c.meta.exclude_list), None)


def exclude_list(facts: Facts) -> list[str]:
    """The bundle exclude list (ec2-bundle-vol --exclude) the facts call for, as derived by
    the check that declares it; empty when none does."""
    check = next((c for c in checks() if c.exclude_list is not None), None)
    return list(check.exclude_list(facts)) if check and check.exclude_list else []


def exclusions(facts: Facts) -> list[Any]:
    """The exclude list with a reason per path (`.path`, `.reason`, `.found`), from the check
    that declares the exclude list; empty when none does."""
    check = next((c for c in checks() if c.meta.exclude_list), None)
    fn = getattr(check.module, "exclusions", None) if check else None
    return list(fn(facts)) if fn else []


# --- extension --------------------------------------------------------------------------


def add_package(package: str) -> None:
    """Also register the checks of `package` (its modules with META; its `catalog/` folder)."""
    if package not in _PACKAGES:
        _PACKAGES.append(package)
        _catalog.add_package(package)
        _registered.cache_clear()


def remove_package(package: str) -> None:
    if package in _PACKAGES and package != "checks":
        _PACKAGES.remove(package)
        _catalog.remove_package(package)
        _registered.cache_clear()


@contextmanager
def extra_package(package: str) -> Iterator[None]:
    """Register `package`'s checks for the `with` block (tests, plug-ins tried out)."""
    add_package(package)
    try:
        yield
    finally:
        remove_package(package)
