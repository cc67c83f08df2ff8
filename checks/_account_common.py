"""What the account rules share: the verdict type, the optional-measure rule, dates."""

from __future__ import annotations

from datetime import datetime, timedelta

from checks.base import CatalogEntry
from wizard.model import Evidence, Status

Verdict = tuple[Status, str, list[Evidence]]

STALE = timedelta(days=90)


def unmet(entry: CatalogEntry) -> Status:
    # the seed's "additional measures" are optional: missing them warns, it does not fail
    return Status.WARN if entry.optional else Status.FAIL


def when(value: str | None) -> datetime | None:
    """A credential-report date; AWS writes N/A, no_information or not_supported for none."""
    if not value or not value[:1].isdigit():
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
