"""machine-id: /etc/machine-id must be empty in an image so that each launch gets its own.

A copied id makes every instance look like the same machine to journald, DHCP and dbus.
"""

from __future__ import annotations

from checks.base import catalog
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status
from wizard.secrets import mask

ID = "machine-id"
ETC = "/etc/machine-id"
DBUS = "/var/lib/dbus/machine-id"
# systemd writes this during a first boot that has not committed yet: the image is still fresh.
UNINITIALIZED = "uninitialized"


def _has_id(content: str | None) -> bool:
    return content is not None and content.strip() not in ("", UNINITIALIZED)


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    evidence = []
    if _has_id(facts.machine_id):
        evidence.append(Evidence(ETC, 1, f"holds an id: {mask((facts.machine_id or '').strip())}"))
    if _has_id(facts.dbus_machine_id):
        evidence.append(
            Evidence(
                DBUS, 1, f"separate copy with an id: {mask((facts.dbus_machine_id or '').strip())}"
            )
        )
    if evidence:
        return entry.finding(
            Status.FAIL,
            "the machine id would be the same on every launch of the image",
            evidence,
        )
    if facts.machine_id is None:
        return entry.finding(
            Status.WARN,
            f"{ETC} is absent: systemd creates one at boot, but an empty file is safer",
            [Evidence(ETC, 0, "absent")],
        )
    return entry.finding(Status.PASS, f"{ETC} is empty: each launch will get its own id")
