"""launch-key: an instance launched from the image must receive the launch key pair.

Either cloud-init's ssh module installs it, or a first-boot unit fetches it over IMDSv2.
Also exports the cloud-init config reading shared with ssh-host-keys.
"""

from __future__ import annotations

import dataclasses
import logging

from checks import _plans
from checks._cloudinit import KEYS_PATH, cloud_config
from checks.base import catalog
from checks.registry import CheckMeta, OperatorInput
from wizard.actions import Action, DeleteFile, PlanContext, PlanRefused, Symlink, WriteFile
from wizard.facts import Facts, Unit
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status

log = logging.getLogger(__name__)

ID = "launch-key"


def _user_problem(facts: Facts, name: str) -> str | None:
    return _plans.launch_user_problem(facts, name) if name.strip() else None  # "" = default


USER_INPUT = OperatorInput(
    "launch_key.user",
    "Who receives the launch key",
    "empty: the default shown below",
    32,
    _user_problem,
    _plans.launch_user_candidates,
)
META = CheckMeta(
    id=ID,
    order=80,
    needs=("accounts", "cloud_init", "rc_local", "sudoers", "units", "stamps"),
    actions=(WriteFile, Symlink, DeleteFile),
    inputs=(USER_INPUT,),
)
TOKEN_HEADER = "x-aws-ec2-metadata-token"  # noqa: S105 (a header name, not a secret)


def cloud_init_ssh(facts: Facts) -> Evidence | None:
    """Where cloud-init's ssh module is enabled, or None when cloud-init will not run it."""
    ci = facts.cloud_init
    if not (ci.installed and ci.enabled):
        return None
    cfg = cloud_config(facts)
    if "ssh" not in cfg.modules():
        return None
    return cfg.line_of("cloud_init_modules", r"^\s*-\s*\[?\s*['\"]?(cc_)?ssh\b")


def boot_sources(facts: Facts) -> tuple[Unit, ...]:
    """First-boot units, with /etc/rc.local treated as one (rc-local.service runs it)."""
    extra = (Unit("/etc/rc.local", facts.rc_local, True),) if facts.rc_local else ()
    return facts.units + extra


def _line(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line.lower():
            return number
    return 0


def check(facts: Facts) -> Finding:
    finding = _check(facts)
    if _plans.LAUNCH_KEY_STAMP not in facts.stamps:
        return finding
    # Keyed to the instance id from metadata, which no other instance has: a launch always
    # runs the unit. Said, not judged: the status stays what the unit itself earns.
    stamp = Evidence(
        _plans.LAUNCH_KEY_STAMP,
        0,
        "the builder's stamp: it holds the builder's instance id, so a new instance still "
        "fetches its own launch key (harmless for that reason only)",
    )
    return dataclasses.replace(finding, evidence=(*finding.evidence, stamp))


def _check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    ci = facts.cloud_init
    evidence: list[Evidence] = []
    if ci.installed:
        cfg = cloud_config(facts)
        evidence += [Evidence(p, 0, "not valid YAML: cloud-init ignores it") for p in cfg.broken]
        if cfg.values.get("disable_root") is False:
            ev = cfg.line_of("disable_root", r"disable_root")
            evidence.append(
                dataclasses.replace(
                    ev or Evidence("/etc/cloud/cloud.cfg"),
                    detail="disable_root: false: the launch key also logs in as root",
                )
            )
        if cfg.values.get("allow_public_ssh_keys") is False:
            ev = cfg.line_of("allow_public_ssh_keys", r"allow_public_ssh_keys")
            evidence.append(ev or Evidence("/etc/cloud/cloud.cfg", 0, "allow_public_ssh_keys"))
            return entry.finding(
                Status.FAIL,
                _("cloud-init is told to ignore the launch key (allow_public_ssh_keys: false)"),
                evidence,
            )
        found = cloud_init_ssh(facts)
        if found is not None:
            evidence.insert(
                0, dataclasses.replace(found, detail="cloud-init runs its ssh module at boot")
            )
            return entry.finding(
                Status.PASS, _("cloud-init installs the launch key at first boot"), evidence
            )
        if ci.enabled and not ci.config:
            evidence.append(Evidence("/etc/cloud/cloud.cfg", 0, "not readable (not root?)"))
            return entry.finding(
                Status.WARN,
                _("cloud-init is installed but its configuration could not be read"),
                evidence,
            )
        why = "disabled" if not ci.enabled else "configured without its ssh module"
        evidence.append(Evidence("/etc/cloud/cloud.cfg", 0, f"cloud-init is {why}"))

    fetchers = [u for u in boot_sources(facts) if KEYS_PATH in u.text]
    v2 = [u for u in fetchers if TOKEN_HEADER in u.text.lower()]
    for unit in fetchers:
        kind = "IMDSv2" if unit in v2 else "IMDSv1 only (no session token)"
        state = "enabled" if unit.enabled else "NOT enabled"
        evidence.append(
            Evidence(
                unit.path, _line(unit.text, KEYS_PATH), f"fetches the launch key, {kind}, {state}"
            )
        )
    result: Finding
    if any(u.enabled for u in v2):
        result = entry.finding(
            Status.PASS, _("a first-boot unit fetches the launch key over IMDSv2"), evidence
        )
    elif any(u.enabled for u in fetchers):
        result = entry.finding(
            Status.WARN,
            _(
                "the launch key is fetched with IMDSv1 only: it fails on instances that require IMDSv2"
            ),
            evidence,
        )
    elif fetchers:
        result = entry.finding(
            Status.WARN, _("a launch-key fetch unit exists but is not enabled"), evidence
        )
    else:
        result = entry.finding(
            Status.FAIL,
            _("nothing installs the launch key at boot: launched instances would accept no key"),
            evidence,
        )
    if not ci.installed:
        # Without cloud-init the fetch unit is the only realistic choice.
        result = dataclasses.replace(result, recommended="imds-fetch-unit")
    return result


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """cloud-init: make sure it runs (remove its disable marker); anything needing an edit of
    cloud.cfg is refused with advice. imds-fetch-unit[:USER]: install the IMDSv2 fetch unit."""
    ctx = ctx or PlanContext()
    chosen = _plans.option(ID, option_id)
    ci = facts.cloud_init
    if chosen == "cloud-init":
        if not ci.installed:
            raise PlanRefused("cloud-init is not installed here: choose imds-fetch-unit")
        if cloud_init_ssh(facts) is not None:
            return ()
        if not ci.enabled:
            marker = "/etc/cloud/cloud-init.disabled"
            return (DeleteFile(check_id=ID, path=marker),)
        raise PlanRefused(
            "cloud-init is configured without its ssh module (or ignores the launch key): "
            "add `ssh` to cloud_init_modules in /etc/cloud/cloud.cfg, or choose imds-fetch-unit"
        )
    if not ctx.imds_endpoint:
        raise PlanRefused("no metadata endpoint configured (config imds.endpoint)")
    _plans.launch_key_text(ctx.imds_endpoint, "root")  # a bad endpoint is refused first
    user = _plans.launch_key_user(facts, ctx, option_id)
    text = _plans.launch_key_text(ctx.imds_endpoint, user)
    unit = f"{_plans.UNIT_DIR}/{_plans.LAUNCH_KEY_UNIT}"
    if any(u.path == unit and u.enabled and u.text == text for u in facts.units):
        return ()
    return _plans.unit_actions(ID, _plans.LAUNCH_KEY_UNIT, text)
