"""The layers in pyproject.toml name every module of the engine: a new module must be put in
a layer (lint-imports then checks its imports against the layers above and below it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _layer_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["id"] == "layers")["layers"]
    names: set[str] = set()
    for layer in layers:
        for part in layer.replace("|", ":").split(":"):
            names.add(part.strip().strip("()"))
    return names


def test_every_wizard_module_is_in_a_layer() -> None:
    named = _layer_modules()
    modules = {
        f"wizard.{p.stem}" for p in (ROOT / "wizard").glob("*.py") if p.stem != "__init__"
    } | {f"wizard.{p.parent.name}" for p in (ROOT / "wizard").glob("*/__init__.py")}
    missing = sorted(modules - named)
    assert not missing, (
        f"{', '.join(missing)}: in no layer; add it to the `layers` contract in pyproject.toml "
        "([tool.importlinter], usually the engine layer)"
    )


def test_checks_and_screens_are_whole_layers() -> None:
    assert {"checks", "screens"} <= _layer_modules()


def test_import_contracts_hold() -> None:
    """The same contracts scripts/test.sh lints: layers, no circles, report and checks apart."""
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0
