"""identify: the image should say who publishes it, what it is and whom to ask.

The values come from the operator (the wizard's identify screen, the config file's
`identity:` section or the plan), never from the target. They end up in public places (the
AMI's description), so each is checked here: plain one-line text, within what
register-image accepts, and nothing that looks like a secret.
"""

from __future__ import annotations

import re

from checks._plans import option
from checks.base import Unchanged, catalog
from checks.registry import CheckMeta, OperatorInput
from wizard.actions import Action, PlanContext
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status
from wizard.secrets import scrub

ID = "identify"
# register-image takes a description of up to 255 characters.
DESCRIPTION_MAX = 255
NAME_MAX = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_EMAIL = re.compile(r"[^@\s<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/\S*)?")


def _plain(label: str, value: str) -> str | None:
    """The rules every identity value shares: one line of text, no secret."""
    if _CONTROL.search(value):
        return f"{label}: one line of plain text (no tabs, newlines or control characters)"
    if scrub(value) != value:
        return (
            f"{label}: this looks like a secret (a token, key or password); it would be "
            "public in the AMI's description and plain text in the config file"
        )
    return None


def _publisher(facts: Facts, value: str) -> str | None:
    if not value.strip():
        return "publisher: required (your name, team or company)"
    return _plain("publisher", value)


def _description(facts: Facts, value: str) -> str | None:
    if not value.strip():
        return "description: required (what the image is, e.g. 'Debian 12 web base, monthly')"
    return _plain("description", value)


def _contact(facts: Facts, value: str) -> str | None:
    if not value.strip():
        return None  # optional
    if not (_EMAIL.fullmatch(value) or _URL.fullmatch(value)):
        return "contact: an e-mail address or an https:// address (or leave it empty)"
    return _plain("contact", value)


INPUTS = (
    OperatorInput(
        "identity.publisher",
        "Publisher",
        "who publishes the image, e.g. Example Corp platform team",
        NAME_MAX,
        _publisher,
    ),
    OperatorInput(
        "identity.description",
        "Description",
        "what the image is, e.g. Debian 12 web base, rebuilt monthly",
        DESCRIPTION_MAX,
        _description,
    ),
    OperatorInput(
        "identity.contact",
        "Contact (optional)",
        "where users report problems: an e-mail or https:// address",
        NAME_MAX,
        _contact,
    ),
)
META = CheckMeta(id=ID, order=150, needs=("identity",), inputs=INPUTS)
_FIELDS = ("publisher", "description", "contact")


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    values = {name: facts.identity.get(name, "").strip() for name in _FIELDS}
    problems = {
        name: found
        for name, i in zip(_FIELDS, INPUTS, strict=True)
        if values[name] and (found := i.problem(facts, values[name]))
    }
    # A value that failed is never quoted (it may be the secret it looks like).
    shown = {n: "(not usable)" if n in problems else v or "(not set)" for n, v in values.items()}
    evidence = [Evidence("identity", 0, f"{name}: {value}") for name, value in shown.items()]
    if problems:
        return entry.finding(Status.WARN, "; ".join(problems.values()), evidence)
    publisher, description, contact = (values[n] for n in _FIELDS)
    if publisher and description:
        where = f" (contact: {contact})" if contact else ""
        return entry.finding(
            Status.PASS, f"published by {publisher}: {description}{where}", evidence
        )
    missing = " and ".join(n for n in ("publisher", "description") if not values[n])
    return entry.finding(
        Status.INFO,
        f"no {missing} given: users only see an account number; set them for register-image",
        evidence,
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Nothing changes on the target: the publisher and description go to register-image."""
    option(ID, option_id)
    return ()


def unchanged(facts: Facts, option_id: str) -> Unchanged | None:
    """The target never changes for this check: say so instead of "already compliant"."""
    missing = [n for n in ("publisher", "description") if not facts.identity.get(n, "").strip()]
    if missing:
        return Unchanged(
            f"no {' and '.join(missing)} is configured (type them above, or identity: in the "
            "config or the plan): there is nothing to record for register-image yet"
        )
    return Unchanged(
        "the publisher and description go to register-image, not to the target: pass them "
        "there when you register the image"
    )
