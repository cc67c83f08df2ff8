"""bundle-excludes: what `ec2-bundle-vol --exclude` must leave out of an instance-store bundle.

`exclude_list(facts)` is also what the wizard writes out for the operator: concrete paths
(ec2-bundle-vol takes paths, not globs), comma-joined on its command line.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from checks.base import catalog, unless_complete
from checks.registry import CheckMeta
from wizard.actions import Action, ExportExcludeList, PlanContext
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status

ID = "bundle-excludes"
META = CheckMeta(
    id=ID,
    order=140,
    exclude_list=True,
    needs=(
        "accounts",
        "authorized_keys",
        "cloud_init",
        "credentials",
        "dbus_machine_id",
        "histories",
        "host_keys",
        "incomplete",
        "machine_id",
    ),
    actions=(ExportExcludeList,),
)


@dataclass(frozen=True)
class Exclusion:
    path: str
    reason: str
    found: bool  # found on the target (False: a default that holds whether or not it exists)


def _ssh_dirs(facts: Facts) -> list[Exclusion]:
    # Users' key pairs and authorized_keys live in ~/.ssh: leave the whole directory out for
    # root and for every account with a home under /home, found or not.
    homes = {a.home for a in facts.accounts if a.uid == 0 or a.home.startswith("/home/")}
    homes.add(getattr(facts.account("root"), "home", "/root") or "/root")
    return [
        Exclusion(posixpath.join(h, ".ssh"), "users' SSH keys (default)", False)
        for h in sorted(homes)
        if h and h != "/"
    ]


def _has_content(text: str | None) -> bool:
    return text is not None and text.strip() not in ("", "uninitialized")


def exclusions(facts: Facts) -> list[Exclusion]:
    """Every path to exclude with the reason, found items first, defaults last."""
    items: list[Exclusion] = []
    for key in facts.host_keys:
        for info in (key.private, key.public):
            if info is not None:
                items.append(Exclusion(info.path, "SSH host key", True))
    items += [
        Exclusion(a.file.path, "authorized_keys", True) for a in facts.authorized_keys if a.keys
    ]
    items += [Exclusion(h.path, "shell history", True) for h in facts.histories]
    items += [Exclusion(c.file.path, f"credentials ({c.kind})", True) for c in facts.credentials]
    if _has_content(facts.machine_id):
        items.append(Exclusion("/etc/machine-id", "this instance's machine id", True))
    if _has_content(facts.dbus_machine_id):
        items.append(Exclusion("/var/lib/dbus/machine-id", "this instance's dbus id", True))
    for entry in facts.cloud_init.state_entries if facts.cloud_init.installed else ():
        # The whole state directory goes: that is what `cloud-init clean` would empty.
        if entry.startswith("/var/lib/cloud/") or not entry.startswith("/"):
            items.append(Exclusion("/var/lib/cloud", "cloud-init state and user-data", True))
        else:
            items.append(Exclusion(entry, "cloud-init log", True))
    return _normalise(items + _ssh_dirs(facts))


def _normalise(items: list[Exclusion]) -> list[Exclusion]:
    out: dict[str, Exclusion] = {}
    for item in items:
        path = posixpath.normpath(item.path)
        reason = item.reason
        # A comma would split the argument: fall back to the closest parent without one.
        while "," in path and path != "/":
            path = posixpath.dirname(path)
            reason = f"{item.reason} in {item.path!r} (comma in the name: whole directory)"
        if path in ("/", "") or path in out:
            continue
        out[path] = Exclusion(path, reason, item.found)
    paths = sorted(out)
    # Drop what a listed directory already covers.
    kept = [p for p in paths if not any(p.startswith(d + "/") for d in paths if d != p)]
    return [out[p] for p in kept]


def exclude_list(facts: Facts) -> list[str]:
    """The paths for `ec2-bundle-vol --exclude` (join with "," on its command line)."""
    return [e.path for e in exclusions(facts)]


def check(facts: Facts) -> Finding:
    # The exclude list is only as complete as the searches that found what it lists.
    return unless_complete(
        _verdict(facts), facts, "history", "credential", "secrets", "authorized_keys"
    )


def _verdict(facts: Facts) -> Finding:
    entry = catalog()[ID]
    items = exclusions(facts)
    evidence = [Evidence(e.path, 0, e.reason) for e in items]
    found = [e for e in items if e.found]
    if found:
        return entry.finding(
            Status.WARN,
            f"{len(found)} sensitive path(s) found: exclude {len(items)} paths if you keep them "
            "on this instance",
            evidence,
        )
    return entry.finding(
        Status.INFO,
        f"nothing sensitive found; {len(items)} default path(s) to exclude when bundling",
        evidence,
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Write the exclude list on the operator's machine; nothing changes on the target."""
    from checks._plans import option

    option(ID, option_id)
    return (ExportExcludeList(check_id=ID, entries=tuple(exclude_list(facts))),)
