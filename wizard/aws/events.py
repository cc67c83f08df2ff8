"""CloudTrail event history for the compromised-account runbook (LookupEvents, read-only).

IAM events are global and recorded in the partition's IAM region; EC2 events (RunInstances,
ModifyImageAttribute) are recorded in the region where they happened, so those are looked up
in every region read.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any

from wizard.account_facts import TrailEvent
from wizard.aws.reader import Reader, pages

GLOBAL_EVENTS = ("ConsoleLogin", "CreateUser", "CreateAccessKey", "AttachUserPolicy")
REGIONAL_EVENTS = ("RunInstances", "ModifyImageAttribute")
MAX_EVENTS = 50  # per event name and region


def _resources(e: dict[str, Any]) -> str:
    names = [
        str(x.get("ResourceName", "")) for x in e.get("Resources", []) if x.get("ResourceName")
    ]
    return ", ".join(dict.fromkeys(names))[:200]


def lookup(r: Reader, region: str, name: str, since: datetime) -> tuple[TrailEvent, ...]:
    ct = r.client("cloudtrail", region)
    found = []
    for e in pages(
        ct,
        "lookup_events",
        "Events",
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
        StartTime=since,
        PaginationConfig={"MaxItems": MAX_EVENTS},
    ):
        detail: dict[str, Any] = {}
        with contextlib.suppress(ValueError, TypeError):  # the summary fields still help
            detail = json.loads(e.get("CloudTrailEvent") or "{}")
        when = e.get("EventTime")
        found.append(
            TrailEvent(
                name=name,
                time=when.isoformat() if isinstance(when, datetime) else str(when or ""),
                username=e.get("Username", ""),
                source_ip=str(detail.get("sourceIPAddress", "")),
                user_agent=str(detail.get("userAgent", ""))[:120],
                access_key=e.get("AccessKeyId", ""),
                region=str(detail.get("awsRegion") or region),
                resources=_resources(e),
            )
        )
    return tuple(found)
