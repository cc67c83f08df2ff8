"""A learn scenario, pure: seed and level in, the scenario out (which guidelines have a flaw,
in which disguise, and the whole tree to plant). No I/O: `wizard.learn_plant` writes it.

The same (seed, level) always gives the same scenario; the random generator is seeded with
both, so `--seed 7 --level basic` and `--seed 7 --level tricky` differ too.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from checks import _practice as practice
from checks import registry
from wizard.errors import UsageError
from wizard.learn_image import DIRS, File, base_files

LEVELS = practice.LEVELS
# How many guidelines get a flaw at each level (at least, at most).
FLAW_COUNT = {"basic": (3, 4), "real-world": (4, 6), "tricky": (5, 7)}


@dataclass(frozen=True)
class Flaw:
    check_id: str
    variant: str
    level: str
    where: str  # the debrief line: where it was hidden


@dataclass(frozen=True)
class Scenario:
    seed: int
    level: str
    flaws: tuple[Flaw, ...]  # in the wizard's order of guidelines
    files: tuple[tuple[str, File], ...]  # the whole tree, sorted by path
    dirs: tuple[str, ...]
    decoys: tuple[str, ...] = ()  # look-alikes planted at the tricky level (all fine)

    @property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(f.check_id for f in self.flaws)

    def describe(self) -> dict[str, object]:
        """The scenario as plain data (what the tests compare and the state file keeps)."""
        return {
            "seed": self.seed,
            "level": self.level,
            "flaws": [
                {"check": f.check_id, "variant": f.variant, "level": f.level} for f in self.flaws
            ],
            "decoys": list(self.decoys),
            "tree": self.digest(),
        }

    def digest(self) -> str:
        """A hash of the tree as planned (paths, modes, contents): equal trees, equal digest."""
        h = hashlib.sha256()
        for path, f in self.files:
            content = f.content if isinstance(f.content, str) else repr(f.content)
            h.update(f"{path}\0{f.mode:o}\0{len(content)}\0{content}\0".encode())
        for d in self.dirs:
            h.update(f"dir {d}\0".encode())
        return h.hexdigest()


def teachable() -> tuple[str, ...]:
    """The guidelines a scenario can plant a flaw for, in the wizard's order."""
    return tuple(i for i in registry.ids() if i in practice.VARIANTS)


def make_scenario(seed: int, level: str = "basic") -> Scenario:
    if level not in LEVELS:
        raise UsageError(f"unknown level {level!r} (known: {', '.join(LEVELS)})")
    rng = random.Random(f"ami-wizard-learn/{level}/{seed}")  # noqa: S311 (not for secrets)
    pool = teachable()
    low, high = FLAW_COUNT[level]
    chosen = set(rng.sample(pool, min(len(pool), rng.randint(low, high))))
    files = base_files()
    flaws = []
    for check_id in pool:  # the wizard's order, so the plan does not depend on set order
        if check_id not in chosen:
            continue
        variant = rng.choice(practice.variants(check_id, level))
        for change in variant.changes(rng):
            _apply(files, change)
        flaws.append(Flaw(check_id, variant.id, variant.level, variant.where))
    decoys: tuple[str, ...] = ()
    if level == "tricky":
        picked = rng.sample(practice.DECOYS, 2)
        for _, changes in picked:
            for change in changes(rng):
                _apply(files, change)
        decoys = tuple(what for what, _ in picked)
    return Scenario(seed, level, tuple(flaws), tuple(sorted(files.items())), DIRS, decoys)


def _apply(files: dict[str, File], change: practice.Change) -> None:
    if isinstance(change, practice.Write):
        files[change.path] = File(change.content, change.mode)
        return
    old = files.get(change.path)
    if old is None and isinstance(change, practice.Append):
        files[change.path] = File(change.text)
        return
    if old is None or not isinstance(old.content, str):
        raise AssertionError(f"practice change on a missing text file {change.path}")
    if isinstance(change, practice.Append):
        files[change.path] = File(old.content + change.text, old.mode)
    elif change.old not in old.content:
        raise AssertionError(f"practice edit: {change.old!r} not in {change.path}")
    else:
        files[change.path] = File(old.content.replace(change.old, change.new, 1), old.mode)
