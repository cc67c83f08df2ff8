"""Learn scenarios: pure and reproducible (seed -> scenario -> planted tree), and every
planted flaw is one the wizard finds while the guidelines left alone pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks._practice import LEVELS, VARIANTS
from wizard.engine import audit
from wizard.errors import UsageError
from wizard.learn_plant import plant, tree_hash
from wizard.learn_scenario import make_scenario, teachable
from wizard.model import Status
from wizard.targets.image import ImageTarget


def _planted(tmp_path: Path, name: str, seed: int, level: str) -> Path:
    root = tmp_path / name
    root.mkdir()
    return plant(make_scenario(seed, level), root)


def test_same_seed_same_scenario_and_tree(tmp_path: Path) -> None:
    one, two = make_scenario(7, "tricky"), make_scenario(7, "tricky")
    assert one == two
    assert one.describe() == two.describe()
    assert tree_hash(_planted(tmp_path, "a", 7, "tricky")) == tree_hash(
        _planted(tmp_path, "b", 7, "tricky")
    )


def test_another_seed_or_level_gives_another_scenario(tmp_path: Path) -> None:
    seven = make_scenario(7, "tricky")
    assert make_scenario(8, "tricky").describe() != seven.describe()
    assert make_scenario(7, "basic").describe() != seven.describe()
    assert tree_hash(_planted(tmp_path, "a", 7, "tricky")) != tree_hash(
        _planted(tmp_path, "b", 8, "tricky")
    )
    # over a few seeds the subsets themselves vary, not only the names
    assert len({make_scenario(s, "real-world").check_ids for s in range(10)}) > 5


def test_levels_pick_their_own_variants() -> None:
    for seed in range(10):
        for level in LEVELS:
            for flaw in make_scenario(seed, level).flaws:
                assert LEVELS.index(flaw.level) <= LEVELS.index(level)
    tricky = {f.level for s in range(10) for f in make_scenario(s, "tricky").flaws}
    assert "tricky" in tricky
    assert {f.level for s in range(10) for f in make_scenario(s, "basic").flaws} == {"basic"}
    # tricky scenarios add look-alikes that are fine (the found-test below checks they pass)
    assert all(len(make_scenario(s, "tricky").decoys) == 2 for s in range(10))
    assert not any(make_scenario(s, lv).decoys for s in range(10) for lv in LEVELS[:2])


def test_unknown_level_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown level"):
        make_scenario(1, "expert")


@pytest.mark.parametrize("level", LEVELS)
def test_every_planted_flaw_is_found_and_nothing_else_fails(tmp_path: Path, level: str) -> None:
    for seed in range(8):
        scenario = make_scenario(seed, level)
        root = _planted(tmp_path, f"{level}-{seed}", seed, level)
        result = audit(ImageTarget(str(root), kind="demo", uri="demo"))
        status = {f.id: f.status for f in result.findings}
        for check_id in teachable():
            if check_id in scenario.check_ids:
                assert status[check_id] in (Status.FAIL, Status.WARN), (seed, check_id)
            else:
                assert status[check_id] == Status.PASS, (seed, check_id)


def test_every_variant_applies_on_the_base() -> None:
    # an Edit whose anchor is not in the base fails the planner: walk every variant once
    assert set(VARIANTS) == set(teachable())
    seen = {
        (f.check_id, f.variant)
        for s in range(60)
        for lv in LEVELS
        for f in make_scenario(s, lv).flaws
    }
    assert seen == {(c, v.id) for c, vs in VARIANTS.items() for v in vs}
