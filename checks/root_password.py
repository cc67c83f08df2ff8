"""root-password: root's /etc/shadow entry must not allow a password login.

Reads only the password *state* the probe derived (locked, usable, empty...), never a hash.
"""

from __future__ import annotations

from dataclasses import replace

from checks import _plans
from checks.base import catalog
from checks.machine_id import has_machine_id
from checks.registry import CheckMeta
from wizard.actions import (
    Action,
    DeleteFile,
    DisablePassword,
    LockPassword,
    PlanContext,
    Symlink,
    WriteFile,
)
from wizard.facts import Facts, PasswordState
from wizard.i18n import _
from wizard.model import Evidence, Finding, Severity, Status

ID = "root-password"
META = CheckMeta(
    id=ID,
    order=40,
    needs=("accounts", "units", "stamps", "machine_id"),
    actions=(LockPassword, DisablePassword, DeleteFile, WriteFile, Symlink),
    launch_trace=True,
)

# crypt(3) scheme ids, so the evidence can say what kind of hash is there without showing it.
SCHEMES = {
    "1": "MD5-crypt",
    "2a": "bcrypt",
    "2b": "bcrypt",
    "2y": "bcrypt",
    "5": "SHA-256-crypt",
    "6": "SHA-512-crypt",
    "7": "scrypt",
    "y": "yescrypt",
    "gy": "gost-yescrypt",
}


def scheme_name(scheme: str) -> str:
    """A readable name for a crypt scheme id ("6" -> "SHA-512-crypt")."""
    if not scheme:
        return "traditional DES-crypt or unknown scheme"
    return SCHEMES.get(scheme, f"${scheme}$ scheme")


def _stamp_keyed_unit(facts: Facts) -> Evidence | None:
    """A root-password unit that a bare stamp file stops: if the builder booted with it, the
    stamp is in the image and the unit never runs on any launch."""
    needle = f"ConditionPathExists=!{_plans.LEGACY_ROOT_PASSWORD_STAMP}"
    for unit in facts.units:
        for number, line in enumerate(unit.text.splitlines(), 1):
            if line.strip() == needle and unit.enabled:
                return Evidence(
                    unit.path, number, "stopped for good by a stamp the image can carry"
                )
    return None


def _keyed_stamp(facts: Facts) -> Evidence | None:
    """The per-instance stamp of the current unit, left by a boot of the builder: it holds the
    builder's machine-id, so it only stops the unit on a launch with that same machine-id."""
    if _plans.ROOT_PASSWORD_STAMP not in facts.stamps:
        return None
    if has_machine_id(facts.machine_id):
        detail = (
            "written on the builder for its machine-id, which the image still carries: every "
            "launch has that id, so the unit would skip (empty /etc/machine-id, then delete it)"
        )
    else:
        detail = (
            "written on the builder for its machine-id: harmless only because the unit runs "
            "again on an instance whose machine-id differs, and /etc/machine-id is empty here; "
            "delete it so that no trace of the builder ships"
        )
    return Evidence(_plans.ROOT_PASSWORD_STAMP, 0, detail)


def check(facts: Facts) -> Finding:
    finding = _check(facts)
    stamp = _keyed_stamp(facts)
    if stamp is None or finding.status in (Status.FAIL, Status.ERROR):
        return finding if stamp is None else replace(finding, evidence=(*finding.evidence, stamp))
    return replace(
        finding,
        status=Status.WARN,
        summary=f"{finding.summary}; but the builder's first-boot stamp is in the image",
        evidence=(*finding.evidence, stamp),
    )


def _check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    root = facts.account("root")
    if root is None:
        return entry.finding(Status.ERROR, _("no root account in /etc/passwd: the probe saw none"))
    where = Evidence("/etc/shadow", 0, f"root: password {root.password}")
    stamped = _stamp_keyed_unit(facts)
    if stamped is not None:
        return entry.finding(
            Status.FAIL,
            _(
                "the first-boot root-password unit keys on a stamp file that rides into the image: "
                "launches would keep the builder's root password state (reinstall it)"
            ),
            [stamped, where],
        )
    if _plans.LEGACY_ROOT_PASSWORD_STAMP in facts.stamps:
        return entry.finding(
            Status.FAIL,
            _(
                "a bare first-boot stamp of the builder is in the image: a root-password unit "
                "that checks it never runs on any launch (delete it)"
            ),
            [
                Evidence(
                    _plans.LEGACY_ROOT_PASSWORD_STAMP,
                    0,
                    "a plain 'done' marker, not keyed to any instance: it rides into every launch",
                ),
                where,
            ],
        )
    match root.password:
        case PasswordState.LOCKED:
            return entry.finding(Status.PASS, _("root's password is locked"), [where])
        case PasswordState.USABLE:
            detail = f"root: a usable {scheme_name(root.password_scheme)} password hash is set"
            return entry.finding(
                Status.FAIL,
                _("root has a usable password: everyone launching the image would share it"),
                [Evidence("/etc/shadow", 0, detail)],
            )
        case PasswordState.EMPTY:
            return entry.finding(
                Status.FAIL,
                _("root has an EMPTY password: anyone at a console or su prompt becomes root"),
                [Evidence("/etc/shadow", 0, "root: the password field is empty")],
                severity=Severity.CRITICAL,
            )
        case PasswordState.NO_ENTRY:
            return entry.finding(
                Status.WARN,
                _("root has no line in /etc/shadow: its state depends on /etc/passwd alone"),
                [Evidence("/etc/shadow", 0, "root: no entry")],
            )
        case _:
            return entry.finding(Status.ERROR, _("could not read /etc/shadow (not root?)"))


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Lock root's password (or disable it: the hash is replaced), removing the account
    files' backup copies; optionally also install a first-boot unit that randomises it."""
    chosen = _plans.option(ID, option_id)
    root = facts.account("root")
    actions: list[Action] = _plans.password_actions(ID, [root] if root else [], chosen)
    # A unit of the old, stamp-keyed kind is replaced whatever the option: left as it is,
    # it keeps the check failing.
    if _stamp_keyed_unit(facts) is not None or (
        chosen == "lock-and-randomise-at-first-boot"
        and not _plans.unit_installed(facts, _plans.ROOT_PASSWORD_UNIT)
    ):
        actions += _plans.unit_actions(ID, _plans.ROOT_PASSWORD_UNIT, _plans.ROOT_PASSWORD_TEXT)
    # The builder's stamps go whatever the option: the bare one stops a unit on every launch,
    # the keyed one is a trace of the builder (journaled, so undo brings them back).
    for stamp in (_plans.LEGACY_ROOT_PASSWORD_STAMP, _plans.ROOT_PASSWORD_STAMP):
        if stamp in facts.stamps:
            actions.append(DeleteFile(check_id=ID, path=stamp))
    return tuple(actions)
