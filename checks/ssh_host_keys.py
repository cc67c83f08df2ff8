"""ssh-host-keys: the image must carry no host key, and something must make new ones at boot.

Shared host keys let one instance impersonate every other launch of the image.
"""

from __future__ import annotations

import posixpath

from checks import _plans
from checks.base import catalog
from checks.launch_key import boot_sources, cloud_config, cloud_init_ssh
from checks.registry import CheckMeta
from wizard.actions import Action, DeleteFile, Phase, PlanContext, Symlink, WriteFile
from wizard.facts import Facts, HostKey, Unit
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status

ID = "ssh-host-keys"
META = CheckMeta(
    id=ID,
    order=70,
    phase="final",
    final_order=1,
    needs=("host_keys", "cloud_init", "rc_local", "units"),
    actions=(DeleteFile, WriteFile, Symlink),
    launch_trace=True,
)
KEYGEN = "ssh-keygen -A"


def _unit_line(unit: Unit, needle: str) -> int:
    for number, line in enumerate(unit.text.splitlines(), 1):
        if needle in line:
            return number
    return 0


def _ordered_before_sshd(unit: Unit) -> bool:
    # ExecStartPre of the sshd unit itself, or an explicit Before= on it: otherwise sshd may
    # start first, find no key and refuse every connection on that boot.
    for line in unit.text.splitlines():
        stripped = line.strip()
        if stripped.startswith("ExecStartPre") and "ssh-keygen" in stripped:
            return True
        if stripped.startswith("Before=") and "ssh" in stripped:
            return True
    return unit.path.endswith("/rc.local")


def regeneration(facts: Facts) -> tuple[list[Evidence], list[Evidence]]:
    """(mechanisms that create missing host keys at boot, ones present but inactive)."""
    active: list[Evidence] = []
    inactive: list[Evidence] = []
    found = cloud_init_ssh(facts)
    if found is not None:
        cfg = cloud_config(facts)
        types = cfg.values.get("ssh_genkeytypes")
        detail = "cloud-init's ssh module deletes old host keys and creates new ones per instance"
        if cfg.values.get("ssh_deletekeys") is False:
            detail = "cloud-init's ssh module creates missing host keys (ssh_deletekeys: false)"
        if isinstance(types, list):
            detail += f" (types: {', '.join(map(str, types))})"
        active.append(Evidence(found.path, found.line, detail))
    for unit in boot_sources(facts):
        name = posixpath.basename(unit.path)
        if name.startswith("sshd-keygen"):
            # Fedora/RHEL: sshd.service pulls these in; they create any missing key.
            active.append(Evidence(unit.path, 0, "creates missing host keys before sshd starts"))
        elif name == "regenerate_ssh_host_keys.service" or KEYGEN in unit.text:
            line = _unit_line(unit, KEYGEN)
            if not unit.enabled:
                inactive.append(Evidence(unit.path, line, "would create host keys, NOT enabled"))
            elif name != "regenerate_ssh_host_keys.service" and not _ordered_before_sshd(unit):
                active.append(
                    Evidence(unit.path, line, "runs ssh-keygen -A, but is not ordered before sshd")
                )
            else:
                active.append(Evidence(unit.path, line, "creates host keys at boot"))
    return active, inactive


def _key_evidence(key: HostKey) -> list[Evidence]:
    out = []
    if key.private is not None:
        out.append(Evidence(key.private.path, 0, "private host key"))
    if key.public is not None:
        detail = "public host key"
        if key.key is not None:
            detail += f" {key.key.key_type} {key.key.fingerprint}"
        out.append(Evidence(key.public.path, 0, detail))
    return out


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    active, inactive = regeneration(facts)
    keys = [e for k in facts.host_keys for e in _key_evidence(k)]
    regen = "new ones are made at first boot" if active else "NOTHING makes new ones at boot"
    if keys:
        pairs = len(facts.host_keys)
        return entry.finding(
            Status.FAIL,
            f"{pairs} host key pair(s) would be shared by every launch; {regen}",
            keys + active + inactive,
        )
    if not active:
        return entry.finding(
            Status.FAIL,
            _(
                "no host keys and nothing creates them at first boot: sshd would not start on launch"
            ),
            inactive,
        )
    return entry.finding(
        Status.PASS,
        _("no host keys in the image; new ones are made at first boot"),
        active + inactive,
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Make sure something creates host keys at boot (a first-boot unit when cloud-init does
    not), then, in the final phase, shred the keys. Private keys are never journaled."""
    _plans.option(ID, option_id)
    active, _ = regeneration(facts)
    actions: list[Action] = []
    if not active:
        actions += _plans.unit_actions(ID, _plans.KEYGEN_UNIT, _plans.KEYGEN_TEXT)
    for key in facts.host_keys:
        for info in (key.private, key.public):
            if info is not None:
                actions.append(
                    DeleteFile(
                        check_id=ID,
                        path=info.path,
                        shred=info is key.private,
                        phase=Phase.FINAL,
                        reversible=False,
                        expect=info,  # refused if it is no longer the file the probe saw
                    )
                )
    return tuple(actions)
