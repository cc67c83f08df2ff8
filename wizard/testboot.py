"""test-boot: launch throw-away copies of a prepared image, the way EC2 would, and prove them.

Each launch is an overlay over the image booted under real systemd (systemd-nspawn) in a
network namespace of its own, with a loopback IMDSv2 stub that hands it a fresh instance id
and launch key (or, for cloud-init images, a NoCloud seed with the same). The launch is then
looked at from outside: its first-boot units, sshd, who the launch key lets in, what is refused,
its host keys, machine-id and root password, and again after a reboot. The image itself is
never written; what it carries from the builder is judged by the usual checks.
"""

from __future__ import annotations

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import paramiko

from checks import _plans
from checks._cloudinit import KEYS_PATH, cloud_config
from wizard.config import Config
from wizard.engine import AuditResult, TargetInfo
from wizard.errors import UsageError
from wizard.facts import Facts, PasswordState
from wizard.formats import render
from wizard.model import Evidence
from wizard.probe import run_probe
from wizard.probe_parse import parse_public_keys
from wizard.progress import ProgressFn, Steps
from wizard.report_testboot import TestBootInput
from wizard.targets.image import ImageTarget
from wizard.targets.ssh import fingerprint
from wizard.testboot_imds import LaunchMetadata, MetadataStub
from wizard.testboot_judge import (
    CLOUD_INIT_UNITS,
    SEED_DIR,
    SSHD_UNITS,
    Boot,
    Launch,
    Login,
    UnitRun,
    fetch_endpoint,
    judge,
)
from wizard.testboot_nspawn import Container, connect, listen, netns, overlay, preflight

log = logging.getLogger(__name__)

SCHEMA = "ami-wizard/test-boot/v1"
SYSTEMD = ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")
TESTBOOT_CFG = "etc/cloud/cloud.cfg.d/99-ami-wizard-test-boot.cfg"
NOT_PROVEN = (
    "nothing was booted, so the first-boot units, sshd, the launch-key login and per-launch "
    "host keys, machine-id and root password are NOT proven"
)


@dataclass(frozen=True)
class Options:
    launches: int = 2
    refuse_keys: tuple[str, ...] = ()  # private keys that must NOT log in (the builder's)
    reboot: bool = True
    allow_imdsv1: bool = False  # the stub also answers token-less GETs (IMDSv1 "optional")
    config: Config = field(default_factory=Config)
    progress: ProgressFn | None = None  # told before each step (probe, each launch, judging)


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


def has_systemd(root: Path) -> bool:
    return any(resolve_inside(root, p) for p in SYSTEMD)


def require_systemd(root: Path) -> None:
    if not has_systemd(root):
        raise UsageError(f"the image has no systemd ({' or '.join(SYSTEMD)}): {NOT_PROVEN}")


def cannot_boot(root: Path) -> str:
    """Why the image rooted at `root` cannot be booted here, and what that leaves unproven;
    "" when it can. Boots nothing (the wizard asks this before it offers a boot)."""
    reasons = []
    try:
        preflight()
    except UsageError as exc:
        reasons.append(str(exc))
    if not has_systemd(root):
        reasons.append(f"the image has no systemd ({' or '.join(SYSTEMD)})")
    return f"{'; '.join(reasons)}: {NOT_PROVEN}" if reasons else ""


def stamps(facts: Facts) -> tuple[list[Evidence], list[Evidence]]:
    """First-boot stamps of the builder's boots in the image, as the probe found them: (ones
    that stop a unit on every launch, ones keyed to the builder's machine-id or instance id,
    harmless to a launch)."""
    blocking, keyed = [], []
    for path in facts.stamps:
        if path == _plans.LEGACY_ROOT_PASSWORD_STAMP:
            blocking.append(Evidence(path, 0, "a bare stamp: the unit it guards never runs again"))
        else:
            detail = "keyed to the builder; a new instance runs its unit anyway"
            keyed.append(Evidence(path, 0, detail))
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
    steps = Steps(options.progress, options.launches + 2)
    with tempfile.TemporaryDirectory(prefix="ami-wizard-test-boot-") as tmp:
        work = Path(tmp)
        with image_root(spec, work) as (root, uri):
            require_systemd(root)
            steps.start("probing the image")
            facts = run_probe(ImageTarget(str(root)), options.config.probe)
            ami_id = "ami-" + secrets.token_hex(9)[:17]
            launches = []
            for i in range(1, options.launches + 1):
                again = ", logging in, rebooting" if options.reboot else ", logging in"
                steps.start(f"launch {i} of {options.launches}: booting{again}")
                launches.append(run_launch(i, root, work, facts, ami_id, options, refuse))
            served = stub_address(facts, options.config) is not None
            steps.start("judging the launches")
            findings = tuple(judge(facts, tuple(launches), served, stamps(facts)))
            steps.finish()
    os_name = facts.os_pretty or " ".join(x for x in (facts.os_id, facts.os_version) if x)
    info = TargetInfo(uri, facts.hostname, os_name, facts.kernel, "", ami_id)
    audit = AuditResult(info, facts, findings, started, time.monotonic() - t0)
    return TestBootResult(audit, tuple(launches))


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


def from_result(result: TestBootResult) -> TestBootInput:
    """The report's view of a finished test-boot."""
    audit = result.audit
    return TestBootInput(
        target=audit.target.uri,
        ran_at=audit.started,
        findings=tuple(audit.findings),
        launches=tuple(launch_rows(result)),
    )
