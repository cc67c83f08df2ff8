"""machine-id: /etc/machine-id must be empty in an image so that each launch gets its own.

A copied id makes every instance look like the same machine to journald, DHCP and dbus.
"""

from __future__ import annotations

from checks._plans import option
from checks.base import catalog
from checks.registry import CheckMeta
from wizard.actions import Action, DeleteFile, PlanContext, Symlink, WriteFile
from wizard.facts import Facts
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status
from wizard.secrets import mask

ID = "machine-id"
META = CheckMeta(
    id=ID,
    order=110,
    needs=("machine_id", "dbus_machine_id"),
    actions=(WriteFile, DeleteFile, Symlink),
    launch_trace=True,
)
ETC = "/etc/machine-id"
DBUS = "/var/lib/dbus/machine-id"
# systemd writes this during a first boot that has not committed yet: the image is still fresh.
UNINITIALIZED = "uninitialized"


def has_machine_id(content: str | None) -> bool:
    """True when a machine-id file holds an id (empty or "uninitialized" does not)."""
    return content is not None and content.strip() not in ("", UNINITIALIZED)


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    evidence = []
    if has_machine_id(facts.machine_id):
        evidence.append(Evidence(ETC, 1, f"holds an id: {mask((facts.machine_id or '').strip())}"))
    if has_machine_id(facts.dbus_machine_id):
        evidence.append(
            Evidence(
                DBUS, 1, f"separate copy with an id: {mask((facts.dbus_machine_id or '').strip())}"
            )
        )
    if evidence:
        return entry.finding(
            Status.FAIL,
            _("the machine id would be the same on every launch of the image"),
            evidence,
        )
    if facts.machine_id is None:
        return entry.finding(
            Status.WARN,
            f"{ETC} is absent: systemd creates one at boot, but an empty file is safer",
            [Evidence(ETC, 0, "absent")],
        )
    return entry.finding(Status.PASS, f"{ETC} is empty: each launch will get its own id")


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Empty /etc/machine-id (keeping its mode) and point the dbus copy at it, as Debian does."""
    option(ID, option_id)
    actions: list[Action] = []
    if facts.machine_id is None or has_machine_id(facts.machine_id):
        actions.append(WriteFile(check_id=ID, path=ETC, content=b"", mode=0o444))
    if has_machine_id(facts.dbus_machine_id):
        actions.append(DeleteFile(check_id=ID, path=DBUS))
        actions.append(Symlink(check_id=ID, path=DBUS, target=ETC))
    return tuple(actions)
