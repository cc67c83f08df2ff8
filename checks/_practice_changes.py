"""The building blocks of a learn flaw (pure data): the changes a variant makes to the clean
base tree, and the fakes they plant. `checks._practice` and `checks._practice_system` hold the
variants themselves, by guideline.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

LEVELS = ("basic", "real-world", "tricky")

# AWS's own documentation example credentials: well known, never valid.
EXAMPLE_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
# A made-up string shaped like a SHA-512 crypt hash: no password has it.
FAKE_HASH = "$6$practice$QmVhtB5Ww0WqVqmbcO2o5pI7Y6dQf3Xh5l3zY2kN2QzqR3kS3Ktl6tC0tPz3Ue0rKkQjGx2fEJkIhZtQ5tJw1."
SSHD = "/etc/ssh/sshd_config"
SSHD_ANCHOR = "Port 22\n"  # a line of the base sshd_config: global settings go right after it


@dataclass(frozen=True)
class Key:
    """An SSH key the planter derives from the scenario seed and `name` (never random)."""

    name: str
    public: bool = False
    comment: str = ""


@dataclass(frozen=True)
class Write:
    path: str
    content: str | Key
    mode: int = 0o644


@dataclass(frozen=True)
class Edit:
    """Replace the first `old` in `path` with `new` (the planner fails if `old` is absent)."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Append:
    """Add `text` at the end of `path` (a new file of mode 0644 when there is none)."""

    path: str
    text: str


Change = Write | Edit | Append


@dataclass(frozen=True)
class Variant:
    id: str
    level: str
    where: str  # for the debrief: where the flaw was and why it was easy to miss
    changes: Callable[[random.Random], tuple[Change, ...]]


def user(
    rng: random.Random, uid: int, home_base: str = "/home"
) -> tuple[str, str, tuple[Change, ...]]:
    """A second account (name from a list), its passwd and locked shadow lines."""
    name = rng.choice(("carol", "dave", "erin", "frank", "grace", "heidi"))
    name = f"{name}{uid % 10}"
    home = f"{home_base}/{name}"
    return (
        name,
        home,
        (
            Append("/etc/passwd", f"{name}:x:{uid}:{uid}::{home}:/bin/bash\n"),
            Append("/etc/shadow", f"{name}:!:19700:0:99999:7:::\n"),
            # a real account has its home (else accounts-privilege reports a login without one)
            Write(f"{home}/.profile", "# ~/.profile\n"),
        ),
    )
