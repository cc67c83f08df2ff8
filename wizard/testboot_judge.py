"""test-boot's verdicts: what one boot of a launch showed, and the findings judged from it.

Pure like the checks: observations in (gathered by wizard/testboot.py from outside the
booted container), findings out, so every verdict can be unit-tested without a boot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from checks import registry, run_checks
from checks._cloudinit import KEYS_PATH
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Severity, Status
from wizard.testboot_imds import LaunchMetadata, Request

CLOUD_INIT_UNITS = ("cloud-init-local.service", "cloud-init.service", "cloud-config.service")
SSHD_UNITS = ("ssh.service", "sshd.service")
SEED_DIR = "var/lib/cloud/seed/nocloud"


# ---------------------------------------------------------------- what one boot shows


@dataclass(frozen=True)
class UnitRun:
    unit: str
    ran: bool  # its main process started during this boot
    result: str  # systemd's Result= ("success", "exit-code"...) or "skipped" / "not-found"
    detail: str = ""  # last journal lines when it did not succeed


@dataclass(frozen=True)
class Login:
    label: str  # "launch key", "builder key /path", ...
    user: str
    accepted: bool
    detail: str = ""  # `id -un` after a login, or why it was refused
    tried: bool = True  # False: the connection failed, so a refusal proves nothing


@dataclass(frozen=True)
class Boot:
    seconds: float
    state: str  # systemctl is-system-running: running | degraded
    failed_units: tuple[str, ...]
    units: tuple[UnitRun, ...]
    sshd: str  # the banner, "" when nothing answered on port 22
    server_key: str  # fingerprint sshd presented
    methods: tuple[str, ...] | None  # authentication methods sshd offers (None: not learnt)
    logins: tuple[Login, ...]
    host_keys: dict[str, str]  # .pub path -> fingerprint
    machine_id: str
    root_state: str  # locked | usable | empty | no-entry
    root_digest: str  # sha256 of root's shadow field: compared, never shown
    key_holders: tuple[str, ...]  # accounts whose authorized_keys hold the launch key
    imds: tuple[Request, ...]


@dataclass(frozen=True)
class Launch:
    index: int
    meta: LaunchMetadata
    user: str  # who the launch key is meant for
    first: Boot
    reboot: Boot | None = None
    key_removed: bool = False  # the launch key was taken out before the reboot
    cloud_init: bool = False


def fetch_endpoint(facts: Facts) -> str:
    """The metadata endpoint the image's launch-key fetch unit uses ("" when it has none)."""
    for unit in facts.units:
        m = re.search(r"\bbase=(https?://[^/;\s]+)/latest", unit.text)
        if m and KEYS_PATH in unit.text:
            return m[1]
    return ""


# ---------------------------------------------------------------- judging


def _finding(
    fid: str,
    title: str,
    status: Status,
    summary: str,
    evidence: Sequence[Evidence] = (),
    severity: Severity = Severity.HIGH,
) -> Finding:
    return Finding(fid, title, status, severity, summary, tuple(evidence))


def _unit_findings(launch: Launch) -> Finding:
    fid = f"launch-{launch.index}/first-boot-units"
    title = "First-boot units ran and succeeded, once"
    again = {u.unit: u for u in launch.reboot.units} if launch.reboot else {}
    evidence, bad = [], []
    for run in launch.first.units:
        if run.result == "not-found" and run.unit in SSHD_UNITS + CLOUD_INIT_UNITS:
            continue  # the other distribution's name (the sshd finding says if it is up)
        later = again.get(run.unit)
        text = f"first boot: {'ran' if run.ran else 'did not run'}, {run.result}"
        if later is not None:
            text += f"; after a reboot: {'ran' if later.ran else 'did not run'}, {later.result}"
        if run.detail:
            text += f" ({run.detail})"
        evidence.append(Evidence(run.unit, 0, text))
        sshd = run.unit in SSHD_UNITS
        if (
            run.result != "success"
            or (not run.ran and not sshd)
            or (later is not None and later.result not in ("success", "skipped"))
        ):
            bad.append(run.unit)
    for unit in launch.first.failed_units:
        if unit not in bad:
            evidence.append(Evidence(unit, 0, "failed on the first boot"))
    if bad:
        return _finding(
            fid, title, Status.FAIL, f"{', '.join(bad)} did not succeed on a new instance", evidence
        )
    if not evidence:
        return _finding(fid, title, Status.WARN, "the image has no first-boot units to run")
    return _finding(
        fid, title, Status.PASS, "every first-boot unit succeeded on the first boot", evidence
    )


def _refusal_summary(boot: Boot) -> str:
    if not boot.sshd:
        return "not tried: sshd did not answer"
    if any(x.label != "launch key" for x in boot.logins):
        return "sshd offers no password method, and every key given is refused"
    return "sshd offers no password method (no --refuse-key given: no builder key tried)"


def _login_findings(launch: Launch) -> list[Finding]:
    n, boot = launch.index, launch.first
    out = [
        _finding(
            f"launch-{n}/sshd",
            "sshd answers on the new instance",
            Status.PASS if boot.sshd else Status.FAIL,
            f"sshd is up ({boot.sshd})" if boot.sshd else "nothing answered on port 22",
            [Evidence("/etc/ssh/sshd_config", 0, f"host key {boot.server_key}")]
            if boot.server_key
            else [],
        )
    ]
    key_login = next((x for x in boot.logins if x.label == "launch key"), None)
    holders = Evidence(
        "authorized_keys", 0, f"hold the launch key: {', '.join(boot.key_holders) or 'nobody'}"
    )
    if key_login is None:
        status, summary = Status.FAIL, "not tried: sshd did not answer"
    elif key_login.accepted and key_login.detail == key_login.user:
        status, summary = Status.PASS, f"the launch key logs in as {key_login.user}"
    elif key_login.accepted:
        status = Status.FAIL
        summary = f"the launch key logged in as {key_login.detail!r}, not {key_login.user}"
    else:
        status = Status.FAIL
        summary = f"the launch key is refused for {key_login.user}: nobody could log in"
    out.append(
        _finding(
            f"launch-{n}/launch-key-login",
            "The launch key lets the user in",
            status,
            summary,
            [holders],
        )
    )
    offered = "could not be asked" if boot.methods is None else ", ".join(boot.methods)
    evidence = [Evidence("sshd", 0, f"offers: {offered or 'nothing'}")]
    bad = []
    passwords = [m for m in boot.methods or () if m in ("password", "keyboard-interactive", "none")]
    if boot.sshd and boot.methods is None:
        bad.append("sshd's authentication methods could not be read")
    if passwords:
        bad.append(f"sshd offers {', '.join(passwords)} logins")
    for x in boot.logins:
        if x.label == "launch key":
            continue
        evidence.append(
            Evidence(x.label, 0, f"as {x.user}: {'ACCEPTED' if x.accepted else 'refused'}")
        )
        if x.accepted:
            bad.append(f"{x.label} logs in as {x.user}")
        elif not x.tried:
            bad.append(f"{x.label} could not be tried as {x.user} ({x.detail})")
    out.append(
        _finding(
            f"launch-{n}/refused-logins",
            "The builder's keys and any password are refused",
            Status.FAIL if bad or not boot.sshd else Status.PASS,
            "; ".join(bad) or _refusal_summary(boot),
            evidence,
        )
    )
    return out


def _metadata_finding(launch: Launch, facts: Facts, served: bool) -> Finding:
    fid, title = (
        f"launch-{launch.index}/metadata",
        "The launch key came from instance metadata (IMDSv2)",
    )
    reqs = launch.first.imds
    evidence = [
        Evidence(r.path, 0, f"{r.method} {'with' if r.token else 'without'} token: {r.status}")
        for r in reqs
    ]
    endpoint = fetch_endpoint(facts)
    if endpoint and not served:
        return _finding(
            fid,
            title,
            Status.FAIL,
            f"the unit asks {endpoint}; test-boot serves metadata on loopback only, so the fetch is NOT proven",
        )
    if not endpoint:
        if launch.cloud_init:
            return _finding(
                fid,
                title,
                Status.INFO,
                "cloud-init read the launch key from a NoCloud seed standing in for EC2's datasource",
                [
                    Evidence(f"/{SEED_DIR}/meta-data", 0, f"instance-id {launch.meta.instance_id}"),
                    *evidence,
                ],
                Severity.INFO,
            )
        return _finding(
            fid, title, Status.FAIL, "nothing in the image fetches the launch key", evidence
        )
    got = any(r.path.endswith("/openssh-key") and r.token and r.status == 200 for r in reqs)
    v1 = [r for r in reqs if r.method == "GET" and not r.token]
    if not got:
        return _finding(
            fid,
            title,
            Status.FAIL,
            "the launch key was never fetched with a session token",
            evidence,
        )
    if v1:
        return _finding(
            fid,
            title,
            Status.WARN,
            "the key was fetched over IMDSv2, but IMDSv1 requests were also made (refused)",
            evidence,
            Severity.MEDIUM,
        )
    return _finding(
        fid,
        title,
        Status.PASS,
        "token first, then the key with the token; no IMDSv1 request",
        evidence,
    )


def _reboot_findings(launch: Launch) -> list[Finding]:
    n, first, again = launch.index, launch.first, launch.reboot
    if again is None:
        return []
    fid = f"launch-{n}/reboot-launch-key"
    title = "A reboot does not re-add a launch key the user removed"
    if not launch.key_removed:
        key = _finding(
            fid, title, Status.ERROR, "the launch key could not be removed before the reboot"
        )
    elif launch.user in again.key_holders or any(
        x.label == "launch key" and x.accepted for x in again.logins
    ):
        key = _finding(
            fid,
            title,
            Status.FAIL,
            f"the launch key is back in {launch.user}'s authorized_keys after a reboot: a removed key returns",
        )
    elif not any(x.label == "launch key" and x.tried for x in again.logins):
        key = _finding(
            fid, title, Status.ERROR, "after the reboot the launch key could not be tried"
        )
    else:
        key = _finding(fid, title, Status.PASS, f"the removed key stayed removed for {launch.user}")
    changed = []
    if first.host_keys != again.host_keys:
        changed.append("host keys")
    if first.machine_id != again.machine_id:
        changed.append("/etc/machine-id")
    if first.root_digest != again.root_digest:
        changed.append("root password")
    ident = _finding(
        f"launch-{n}/reboot-identity",
        "The instance keeps its identity across a reboot",
        Status.FAIL if changed else Status.PASS,
        f"changed on reboot: {', '.join(changed)}"
        if changed
        else "host keys, machine-id and root password unchanged",
        severity=Severity.MEDIUM,
    )
    return [key, ident]


def _short(value: str) -> str:
    return value[:16] + "…" if len(value) > 16 else value or "(none)"


def _compare(launches: Sequence[Launch], facts: Facts) -> list[Finding]:
    if len(launches) < 2:
        return [
            _finding(
                "launches/compare",
                "Launches differ from each other",
                Status.SKIP,
                "one launch: nothing to compare",
                severity=Severity.INFO,
            )
        ]
    out = []
    image_keys = {k.key.fingerprint for k in facts.host_keys if k.key is not None}
    seen: dict[str, int] = {}
    shared, evidence = [], []
    paths = sorted({p for x in launches for p in x.first.host_keys})
    for path in paths:
        row = "; ".join(
            f"launch {x.index}: {x.first.host_keys.get(path, 'absent')}" for x in launches
        )
        evidence.append(Evidence(path, 0, row))
    for x in launches:
        for fp in x.first.host_keys.values():
            if (fp in seen and seen[fp] != x.index) or fp in image_keys:
                shared.append(fp)
            seen.setdefault(fp, x.index)
    empty = [x.index for x in launches if not x.first.host_keys]
    if shared or empty:
        summary = (
            "host keys shared between launches or with the image"
            if shared
            else f"launch {empty[0]} has no host keys"
        )
        out.append(
            _finding(
                "launches/host-keys",
                "Every launch has its own host keys",
                Status.FAIL,
                summary,
                evidence,
            )
        )
    else:
        out.append(
            _finding(
                "launches/host-keys",
                "Every launch has its own host keys",
                Status.PASS,
                "each launch made its own host keys",
                evidence,
            )
        )
    ids = [x.first.machine_id for x in launches]
    evidence = [
        Evidence(
            "/etc/machine-id",
            0,
            "; ".join(f"launch {x.index}: {_short(x.first.machine_id)}" for x in launches),
        )
    ]
    ok = all(ids) and len(set(ids)) == len(ids) and (facts.machine_id or "").strip() not in ids
    out.append(
        _finding(
            "launches/machine-id",
            "Every launch has its own machine-id",
            Status.PASS if ok else Status.FAIL,
            "each launch has its own machine-id"
            if ok
            else "launches share a machine-id (or have none)",
            evidence,
        )
    )
    states = [x.first.root_state for x in launches]
    digests = [x.first.root_digest for x in launches]
    labels = {d: f"hash #{i + 1}" for i, d in enumerate(dict.fromkeys(digests))}
    evidence = [
        Evidence(
            "/etc/shadow",
            0,
            "; ".join(
                f"launch {x.index}: root {x.first.root_state}, {labels[x.first.root_digest]}"
                for x in launches
            ),
        )
    ]
    if any(s in ("usable", "empty") for s in states) and len(set(digests)) < len(digests):
        status, summary = Status.FAIL, "launches share a usable root password"
    elif any(s == "empty" for s in states):
        status, summary = Status.FAIL, "root has an empty password on a launch"
    elif all(s == "locked" for s in states) or len(set(digests)) == len(digests):
        status, summary = Status.PASS, "root's password is locked or differs on every launch"
    else:
        status, summary = Status.FAIL, "root's password state is not per launch"
    out.append(
        _finding(
            "launches/root-password",
            "Root's password is locked or per launch",
            status,
            summary,
            evidence,
        )
    )
    return out


def _image_findings(facts: Facts, stamped: tuple[list[Evidence], list[Evidence]]) -> list[Finding]:
    out = [
        replace(f, id=f"image/{f.id}", options=(), recommended=None)
        for f in run_checks(facts, registry.launch_trace_ids())
    ]
    found = [Evidence(x.path, 0, x.reason) for x in registry.exclusions(facts) if x.found]
    out.append(
        _finding(
            "image/excluded-paths",
            "Nothing the bundle exclude list names came along",
            Status.FAIL if found else Status.PASS,
            f"{len(found)} path(s) that bundling would have to leave out are in the image"
            if found
            else "no path of the exclude list is in the image",
            found,
        )
    )
    blocking, keyed = stamped
    title = "No first-boot stamp of the builder came along"
    if blocking:
        summary = "a stamp from the builder's boots stops a first-boot unit on every launch"
        out.append(_finding("image/stamps", title, Status.FAIL, summary, blocking + keyed))
    elif keyed:
        summary = "the builder's first-boot stamps are in the image (harmless: keyed to it)"
        out.append(_finding("image/stamps", title, Status.WARN, summary, keyed, Severity.LOW))
    else:
        out.append(_finding("image/stamps", title, Status.PASS, "no first-boot stamp in the image"))
    return out


def judge(
    facts: Facts,
    launches: Sequence[Launch],
    served: bool,
    stamped: tuple[list[Evidence], list[Evidence]],
) -> list[Finding]:
    """Every finding of a test-boot: the image as shipped, each launch, then side by side.
    `served`: the stub answered where the fetch unit asks; `stamped`: stamps() of the image."""
    findings = _image_findings(facts, stamped)
    for launch in launches:
        findings.append(_unit_findings(launch))
        findings += _login_findings(launch)
        findings.append(_metadata_finding(launch, facts, served))
        findings += _reboot_findings(launch)
    return findings + _compare(launches, facts)
