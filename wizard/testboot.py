"""test-boot: launch throw-away copies of a prepared image, the way EC2 would, and prove them.

Each launch is an overlay over the image booted under real systemd (systemd-nspawn) in a
network namespace of its own, with a loopback IMDSv2 stub that hands it a fresh instance id
and launch key (or, for cloud-init images, a NoCloud seed with the same). The launch is then
looked at from outside: its first-boot units, sshd, who the launch key lets in, what is refused,
its host keys, machine-id and root password, and again after a reboot. The image itself is
never written; what it carries from the builder is judged by the usual checks.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import paramiko

from checks import _plans, run_checks
from checks.bundle_excludes import exclusions
from checks.launch_key import KEYS_PATH, cloud_config
from wizard.config import Config, load_config
from wizard.engine import AuditResult, TargetInfo
from wizard.errors import UsageError
from wizard.facts import Facts, PasswordState
from wizard.formats import render
from wizard.model import Evidence, Finding, Severity, Status, Summary
from wizard.probe import parse_public_keys, run_probe
from wizard.targets.image import ImageTarget
from wizard.targets.ssh import fingerprint
from wizard.testboot_imds import LaunchMetadata, MetadataStub, Request
from wizard.testboot_nspawn import BootError, Container, connect, listen, netns, overlay, preflight

log = logging.getLogger(__name__)

SCHEMA = "ami-wizard/test-boot/v1"
# What the image carries from the builder is judged by these checks, on the image as shipped.
IMAGE_CHECKS = (
    "root-password",
    "authorized-keys",
    "ssh-host-keys",
    "shell-history",
    "bundle-credentials",
    "machine-id",
    "cloud-init-state",
)
SYSTEMD = ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")
CLOUD_INIT_UNITS = ("cloud-init-local.service", "cloud-init.service", "cloud-config.service")
SSHD_UNITS = ("ssh.service", "sshd.service")
SEED_DIR = "var/lib/cloud/seed/nocloud"
TESTBOOT_CFG = "etc/cloud/cloud.cfg.d/99-ami-wizard-test-boot.cfg"
NOT_PROVEN = (
    "nothing was booted, so the first-boot units, sshd, the launch-key login and per-launch "
    "host keys, machine-id and root password are NOT proven"
)


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


@dataclass(frozen=True)
class Options:
    launches: int = 2
    refuse_keys: tuple[str, ...] = ()  # private keys that must NOT log in (the builder's)
    reboot: bool = True
    allow_imdsv1: bool = False  # the stub also answers token-less GETs (IMDSv1 "optional")
    config: Config = field(default_factory=Config)


# ---------------------------------------------------------------- the image


def resolve_inside(root: Path, path: str) -> Path | None:
    """`path` as seen inside the image rooted at `root` (symlinks resolved inside it), or None
    when it does not exist. Never leaves `root`, whatever the image's symlinks say."""
    parts = list(PurePosixPath(path).parts[1:])
    here = PurePosixPath("/")
    hops = 0
    while parts:
        name = parts.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            here = here.parent
            continue
        candidate = root / str(here / name).lstrip("/")
        try:
            mode = candidate.lstat().st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            hops += 1
            if hops > 40:
                return None
            target = PurePosixPath(os.readlink(candidate))
            if target.is_absolute():
                here = PurePosixPath("/")
            parts = list(target.parts[1:] if target.is_absolute() else target.parts) + parts
            continue
        here = here / name
    return root / str(here).lstrip("/")


@contextlib.contextmanager
def image_root(spec: str, work: Path) -> Iterator[tuple[Path, str]]:
    """The image's root directory (a tarball is unpacked into `work` first) and its uri."""
    raw = spec.removeprefix("image:")
    path = Path(raw).expanduser().resolve()
    if not path.exists():
        raise UsageError(f"test-boot target {raw} does not exist")
    if path.is_dir():
        yield path, f"image:{path}"
        return
    unpacked = work / "image"
    unpacked.mkdir()
    result = subprocess.run(
        ["tar", "-x", "-p", "--numeric-owner", "--xattrs", "-f", str(path), "-C", str(unpacked)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        err = (result.stderr.strip().splitlines() or ["not a tar archive"])[-1]
        raise UsageError(f"cannot unpack {path} as a root-filesystem tarball: {err}")
    yield unpacked, f"tar:{path}"


def require_systemd(root: Path) -> None:
    if not any(resolve_inside(root, p) for p in SYSTEMD):
        raise UsageError(f"the image has no systemd ({' or '.join(SYSTEMD)}): {NOT_PROVEN}")


def stamps(root: Path) -> tuple[list[Evidence], list[Evidence]]:
    """First-boot stamps of the builder's boots in the image: (ones that stop a unit on every
    launch, ones keyed to the builder's machine-id or instance id, harmless to a launch)."""
    blocking, keyed = [], []
    legacy = _plans.LEGACY_ROOT_PASSWORD_STAMP
    if resolve_inside(root, legacy):
        blocking.append(Evidence(legacy, 0, "a bare stamp: the unit it guards never runs again"))
    state = resolve_inside(root, _plans.STATE_DIR)
    if state is not None and state.is_dir():
        for entry in sorted(state.iterdir()):
            detail = "keyed to the builder; a new instance runs its unit anyway"
            keyed.append(Evidence(f"{_plans.STATE_DIR}/{entry.name}", 0, detail))
    return blocking, keyed


def launch_user(facts: Facts) -> str:
    """Who the image means the launch key for: the fetch unit's user, else cloud-init's
    default user, else "" (then whoever ends up holding the key)."""
    for unit in facts.units:
        m = re.search(r"\bu=([a-z_][a-z0-9_.-]*\$?);", unit.text)
        if m and KEYS_PATH in unit.text:
            return m[1]
    if facts.cloud_init.installed:
        system = cloud_config(facts).values.get("system_info") or {}
        default = system.get("default_user") if isinstance(system, dict) else None
        if isinstance(default, dict) and isinstance(default.get("name"), str):
            return str(default["name"])
    return ""


def fetch_endpoint(facts: Facts) -> str:
    """The metadata endpoint the image's launch-key fetch unit uses ("" when it has none)."""
    for unit in facts.units:
        m = re.search(r"\bbase=(https?://[^/;\s]+)/latest", unit.text)
        if m and KEYS_PATH in unit.text:
            return m[1]
    return ""


def stub_address(facts: Facts, config: Config) -> tuple[str, int] | None:
    """Where the stub listens: the fetch unit's endpoint, else the configured one; None when
    that is not a loopback address (the real link-local address is never served or used)."""
    parts = urlsplit(fetch_endpoint(facts) or config.probe.imds_endpoint)
    host = parts.hostname or ""
    if not host.startswith("127."):
        return None
    return host, parts.port or 80


# ---------------------------------------------------------------- one launch


def _new_key(work: Path, name: str) -> tuple[paramiko.PKey, str]:
    path = work / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
        check=True,
    )
    return paramiko.Ed25519Key.from_private_key_file(str(path)), path.with_suffix(
        ".pub"
    ).read_text().strip()


def load_private_key(path: str) -> paramiko.PKey:
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key_file(path)
        except (paramiko.SSHException, ValueError):
            continue
        except OSError as exc:
            raise UsageError(f"cannot read key {path}: {exc.strerror}") from exc
    raise UsageError(f"{path} is not an unencrypted OpenSSH private key")


def _write_seed(upper: Path, meta: LaunchMetadata) -> None:
    """A NoCloud seed for cloud-init images, standing in for EC2's datasource (the upper dir
    is new and ours, so these writes cannot follow a symlink of the image)."""
    seed = upper / SEED_DIR
    seed.mkdir(parents=True)
    seed.joinpath("meta-data").write_text(
        f"instance-id: {meta.instance_id}\nlocal-hostname: {meta.hostname}\n"
        f"public-keys:\n  - {meta.public_key}\n"
    )
    seed.joinpath("user-data").write_text("#cloud-config\n{}\n")
    cfg = upper / TESTBOOT_CFG
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("# test-boot: read the NoCloud seed only\ndatasource_list: [ NoCloud, None ]\n")


def _unit_run(box: Container, unit: str) -> UnitRun:
    props = "Id,LoadState,Result,ExecMainStartTimestampMonotonic,ConditionResult,ExecMainStatus"
    out = box.run(["systemctl", "show", unit, f"--property={props}"]).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if values.get("LoadState") != "loaded":
        return UnitRun(unit, False, "not-found")
    unit = values.get("Id") or unit  # sshd.service is an alias of ssh.service on Debian
    ran = values.get("ExecMainStartTimestampMonotonic", "0") not in ("", "0")
    result = values.get("Result", "")
    if values.get("ConditionResult") == "no":
        result = "skipped"
    detail = ""
    if result not in ("success", "skipped"):
        journal = box.run(["journalctl", "-b", "-u", unit, "-n", "3", "-o", "cat", "--no-pager"])
        detail = " / ".join(journal.stdout.strip().splitlines()[-3:])
    return UnitRun(unit, ran, result, detail)


def _transport(netns_name: str) -> paramiko.Transport:
    transport = paramiko.Transport(connect(netns_name, "127.0.0.1", 22))
    transport.start_client(timeout=10)
    return transport


def _try_login(netns_name: str, label: str, user: str, key: paramiko.PKey) -> Login:
    try:
        return _login(netns_name, label, user, key)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        return Login(label, user, False, f"connection failed: {exc}", tried=False)


def _login(netns_name: str, label: str, user: str, key: paramiko.PKey) -> Login:
    transport = _transport(netns_name)
    try:
        try:
            transport.auth_publickey(user, key)
        except paramiko.AuthenticationException as exc:
            return Login(label, user, False, str(exc) or "refused")
        channel = transport.open_session(timeout=10)
        channel.exec_command("id -un")
        who = channel.makefile("rb").read().decode(errors="replace").strip()
        return Login(label, user, True, who)
    finally:
        transport.close()


def _methods(netns_name: str, user: str) -> tuple[tuple[str, ...], str]:
    """(authentication methods sshd offers `user`, the host key fingerprint it showed)."""
    transport = _transport(netns_name)
    try:
        server_key = fingerprint(transport.get_remote_server_key())
        try:
            transport.auth_none(user)
        except paramiko.BadAuthenticationType as exc:
            return tuple(exc.allowed_types), server_key
        except paramiko.AuthenticationException:
            return (), server_key
        return ("none",), server_key
    finally:
        transport.close()


def _sshd_banner(netns_name: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        try:
            with connect(netns_name, "127.0.0.1", 22, timeout=3) as sock:
                banner = sock.recv(256).decode(errors="replace").strip()
                if banner.startswith("SSH-"):
                    return banner
        except OSError:
            pass
        time.sleep(0.2)
    return ""


def _read(box: Container, path: str) -> str:
    return box.run(["cat", "--", path]).stdout


def _home(box: Container, user: str) -> str:
    fields = box.run(["getent", "passwd", user]).stdout.strip().split(":")
    return fields[5] if len(fields) > 5 else ""


def _shadow_state(field_: str | None) -> str:
    """What a shadow password field allows, in the probe's words (the hash stays here)."""
    if field_ is None:
        return PasswordState.NO_ENTRY.value
    if field_ == "":
        return PasswordState.EMPTY.value
    if field_.startswith(("!", "*")):
        return PasswordState.LOCKED.value
    return PasswordState.USABLE.value


def _observe(
    box: Container,
    netns_name: str,
    seconds: float,
    launch_key: tuple[paramiko.PKey, str],
    user: str,
    units: Sequence[str],
    refuse: Sequence[tuple[str, paramiko.PKey]],
    accounts: Sequence[str],
    stub: MetadataStub | None,
) -> Boot:
    state = box.run(["systemctl", "is-system-running"]).stdout.strip()
    failed = box.run(["systemctl", "--failed", "--plain", "--no-legend"]).stdout.split("\n")
    banner = _sshd_banner(netns_name, time.monotonic() + 15)
    host_keys: dict[str, str] = {}
    listing = box.run(["sh", "-c", "ls /etc/ssh/ssh_host_*_key.pub 2>/dev/null"]).stdout.split()
    for pub in listing:
        for key in parse_public_keys(pub, _read(box, pub)):
            host_keys[pub] = key.fingerprint
    shadow = box.run(["getent", "shadow", "root"]).stdout.strip().split(":")
    field_ = shadow[1] if len(shadow) > 1 else None
    launch_blob = launch_key[1].split()[1]
    holders = []
    for name in accounts:
        home = _home(box, name)
        if home and launch_blob in _read(box, f"{home}/.ssh/authorized_keys"):
            holders.append(name)
    who = user or (holders[0] if holders else "root")
    methods: tuple[str, ...] | None = None
    server_key = ""
    logins: list[Login] = []
    if banner:
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
            methods, server_key = _methods(netns_name, who)
        logins.append(_try_login(netns_name, "launch key", who, launch_key[0]))
        for label, bad_key in refuse:
            for name in dict.fromkeys((who, "root")):
                logins.append(_try_login(netns_name, label, name, bad_key))
    return Boot(
        seconds=seconds,
        state=state,
        failed_units=tuple(line.split()[0] for line in failed if line.strip()),
        units=tuple({r.unit: r for r in (_unit_run(box, u) for u in units)}.values()),
        sshd=banner,
        server_key=server_key,
        methods=methods,
        logins=tuple(logins),
        host_keys=host_keys,
        machine_id=_read(box, "/etc/machine-id").strip(),
        root_state=_shadow_state(field_),
        root_digest=hashlib.sha256((field_ or "").encode()).hexdigest(),
        key_holders=tuple(holders),
        imds=stub.log.snapshot() if stub else (),
    )


def _remove_launch_key(box: Container, user: str, public_line: str) -> bool:
    """What a user does who no longer wants the launch key: take its line out."""
    home = _home(box, user)
    if not home:
        return False
    path = f"{home}/.ssh/authorized_keys"
    blob = public_line.split()[1]
    kept = [line for line in _read(box, path).splitlines() if blob not in line]
    text = "".join(f"{line}\n" for line in kept)
    return box.run(["sh", "-c", 'cat > "$1"', "sh", path], stdin=text).returncode == 0


def run_launch(
    index: int,
    lower: Path,
    work: Path,
    facts: Facts,
    ami_id: str,
    options: Options,
    refuse: Sequence[tuple[str, paramiko.PKey]],
) -> Launch:
    """Boot one launch of the image (and reboot it once), observing each boot."""
    key = _new_key(work, f"launch-key-{index}")
    meta = LaunchMetadata(
        instance_id="i-" + secrets.token_hex(9)[:17], ami_id=ami_id, public_key=key[1]
    )
    user = launch_user(facts)
    cloud_init = facts.cloud_init.installed and facts.cloud_init.enabled
    ours = [
        PurePosixPath(u.path).name
        for u in facts.units
        if u.enabled and u.text.startswith("# Installed by ami-wizard")
    ]
    units = ours + (list(CLOUD_INIT_UNITS) if cloud_init else []) + list(SSHD_UNITS)
    accounts = [a.name for a in facts.accounts if a.home and (a.uid == 0 or a.uid >= 1000)]
    if user and user not in accounts:
        accounts.append(user)
    address = stub_address(facts, options.config)
    name = f"amiwiz-tb{os.getpid() % 100000}-{index}"
    launch_dir = work / f"launch-{index}"
    launch_dir.mkdir()
    if cloud_init:
        _write_seed(launch_dir / "upper", meta)
    with contextlib.ExitStack() as stack:
        ns = stack.enter_context(netns(name))
        stub = None
        if address is not None:
            host, port = address
            stub = stack.enter_context(
                MetadataStub(meta, lambda: listen(ns, host, port), options.allow_imdsv1)
            )
        merged, _ = stack.enter_context(overlay(lower, launch_dir))
        box = Container(merged, ns, name, launch_dir / "console.log")
        stack.callback(box.poweroff)
        seconds = box.boot()
        first = _observe(box, ns, seconds, key, user, units, refuse, accounts, stub)
        holder = user or _first(first.key_holders)
        if not options.reboot:
            return Launch(index, meta, holder, first, None, False, cloud_init)
        removed = bool(holder) and _remove_launch_key(box, holder, key[1])
        box.poweroff()
        seconds = box.boot()
        again = _observe(box, ns, seconds, key, user, units, refuse, accounts, stub)
        return Launch(index, meta, holder, first, again, removed, cloud_init)


def _first(items: Sequence[str]) -> str:
    return items[0] if items else ""


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
        changed.append("machine-id")
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


def _image_findings(root: Path, facts: Facts) -> list[Finding]:
    out = [
        replace(f, id=f"image/{f.id}", options=(), recommended=None)
        for f in run_checks(facts, IMAGE_CHECKS)
    ]
    found = [Evidence(x.path, 0, x.reason) for x in exclusions(facts) if x.found]
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
    blocking, keyed = stamps(root)
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


def judge(root: Path, facts: Facts, launches: Sequence[Launch], served: bool) -> list[Finding]:
    findings = _image_findings(root, facts)
    for launch in launches:
        findings.append(_unit_findings(launch))
        findings += _login_findings(launch)
        findings.append(_metadata_finding(launch, facts, served))
        findings += _reboot_findings(launch)
    return findings + _compare(launches, facts)


# ---------------------------------------------------------------- running it


@dataclass(frozen=True)
class TestBootResult:
    audit: AuditResult  # findings in the usual shape, so the usual renderers apply
    launches: tuple[Launch, ...]


def test_boot(spec: str, options: Options) -> TestBootResult:
    """Launch the image `options.launches` times and judge what each launch shows."""
    preflight()
    if options.launches < 1:
        raise UsageError("--launches must be at least 1")
    refuse = [(f"key {path}", load_private_key(path)) for path in options.refuse_keys]
    started = datetime.now(UTC).replace(microsecond=0).isoformat()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ami-wizard-test-boot-") as tmp:
        work = Path(tmp)
        with image_root(spec, work) as (root, uri):
            require_systemd(root)
            facts = run_probe(ImageTarget(str(root)), options.config.probe)
            ami_id = "ami-" + secrets.token_hex(9)[:17]
            launches = tuple(
                run_launch(i, root, work, facts, ami_id, options, refuse)
                for i in range(1, options.launches + 1)
            )
            served = stub_address(facts, options.config) is not None
            findings = tuple(judge(root, facts, launches, served))
    os_name = facts.os_pretty or " ".join(x for x in (facts.os_id, facts.os_version) if x)
    info = TargetInfo(uri, facts.hostname, os_name, facts.kernel, "", ami_id)
    audit = AuditResult(info, facts, findings, started, time.monotonic() - t0)
    return TestBootResult(audit, launches)


def launch_rows(result: TestBootResult) -> list[dict[str, object]]:
    """The launches side by side, as plain data (no secret: the root hash is only labelled)."""
    digests = dict.fromkeys(x.first.root_digest for x in result.launches)
    labels = {d: f"hash #{i + 1}" for i, d in enumerate(digests)}
    rows = []
    for x in result.launches:
        rows.append(
            {
                "launch": x.index,
                "instance_id": x.meta.instance_id,
                "user": x.user,
                "boot_seconds": round(x.first.seconds, 1),
                "state": x.first.state,
                "machine_id": x.first.machine_id,
                "host_keys": dict(x.first.host_keys),
                "root_password": f"{x.first.root_state}, {labels[x.first.root_digest]}",
                "launch_key_login": any(
                    login.accepted for login in x.first.logins if login.label == "launch key"
                ),
                "reboot_seconds": round(x.reboot.seconds, 1) if x.reboot else None,
            }
        )
    return rows


def to_text(result: TestBootResult, fmt: str) -> str:
    if fmt == "json":
        data = json.loads(render(result.audit, "json"))
        data["schema"] = SCHEMA
        data["launches"] = launch_rows(result)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    text = render(result.audit, "md").replace(
        "# ami-wizard audit of", "# ami-wizard test-boot of", 1
    )
    rows = launch_rows(result)
    lines = [
        "",
        "## Launches side by side",
        "",
        "| | " + " | ".join(f"launch {r['launch']}" for r in rows) + " |",
        "|---" * (len(rows) + 1) + "|",
    ]
    for key in (
        "instance_id",
        "user",
        "boot_seconds",
        "state",
        "machine_id",
        "root_password",
        "launch_key_login",
        "reboot_seconds",
    ):
        lines.append(f"| {key} | " + " | ".join(str(r[key]) for r in rows) + " |")
    return text + "\n".join(lines) + "\n"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test-boot", help="boot throw-away copies of an image under systemd-nspawn and prove them"
    )
    p.add_argument(
        "target",
        metavar="TARGET",
        help="image:/path (a mounted root volume), a directory or a root-fs tarball",
    )
    p.add_argument(
        "--launches", type=int, default=2, metavar="N", help="how many launches (default 2)"
    )
    p.add_argument("--format", choices=("json", "md"), default="md")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument(
        "--refuse-key",
        action="append",
        default=[],
        metavar="FILE",
        help="a private key (e.g. the builder's) that must NOT log in (repeatable)",
    )
    p.add_argument("--no-reboot", action="store_true", help="skip the reboot of each launch")
    p.add_argument(
        "--allow-imdsv1",
        action="store_true",
        help="let the metadata stub answer IMDSv1 requests too (default: IMDSv2 only)",
    )


def cmd_test_boot(args: argparse.Namespace) -> int:
    from wizard.cli import _emit

    options = Options(
        launches=args.launches,
        refuse_keys=tuple(args.refuse_key),
        reboot=not args.no_reboot,
        allow_imdsv1=args.allow_imdsv1,
        config=load_config(),
    )
    try:
        result = test_boot(args.target, options)
    except BootError as exc:
        raise UsageError(f"test-boot: {exc}") from exc
    _emit(to_text(result, args.format), args.output)
    return 1 if Summary.of(result.audit.findings).failed else 0
