"""A throw-away guideline in a temp package: the three files a new guideline is, written to
a temp dir and registered with `checks.registry.extra_package` — nothing else is edited.

Used by the tests that prove a new guideline shows up everywhere (audit JSON, plan, report,
the TUI overview) without another edit.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from checks import registry

PACKAGE = "throwaway_checks"
ID = "throwaway-motd"
TITLE = "The login banner does not name the builder"

MODULE = '''\
"""throwaway-motd: a guideline that exists only in a test."""

from checks.base import catalog
from checks.registry import CheckMeta
from wizard.model import Status

ID = "throwaway-motd"
META = CheckMeta(id=ID, order=105, needs=("hostname",))


def check(facts):
    return catalog()[ID].finding(Status.WARN, f"the banner names {facts.hostname or 'nobody'}")


def plan(facts, option_id, ctx=None):
    from checks._plans import option

    option(ID, option_id)
    return ()
'''

CATALOG = f"""\
id: {ID}
title: {TITLE}
group: traces
severity: low
seed: "none: a test's own guideline"
why: >
  A banner that names the builder tells strangers who made the image. It is only a test.
learn: |
  Nothing to learn: this guideline lives in a temporary package of a test.
options:
  - id: keep
    label: "Keep the banner"
    recommended: true
    tradeoff: >
      Nothing changes.
"""


def write_package(root: Path) -> Path:
    """The package's files under `root` (which goes on sys.path)."""
    pkg = root / PACKAGE
    (pkg / "catalog").mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "throwaway_motd.py").write_text(MODULE, encoding="utf-8")
    (pkg / "catalog" / f"{ID}.yaml").write_text(CATALOG, encoding="utf-8")
    return pkg


@contextmanager
def throwaway_check(root: Path) -> Iterator[str]:
    """Register the throw-away guideline for the `with` block; yields its id."""
    write_package(root)
    sys.path.insert(0, str(root))
    try:
        with registry.extra_package(PACKAGE):
            yield ID
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
