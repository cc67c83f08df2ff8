"""The probe's records (wizard.probe_records) turned into Facts: every section of probe.sh,
read as data, with a note wherever a search stopped at a limit.
"""

from __future__ import annotations

from collections import defaultdict

from wizard.errors import ProbeError
from wizard.facts import (
    Account,
    AuthorizedKeysFile,
    CloudInit,
    Facts,
    FileInfo,
    HostKey,
    PasswordState,
    RefusedKeysFile,
    SearchNote,
    Unit,
)
from wizard.probe_records import (
    count_pending_updates,
    lines,
    package_facts,
    parse_public_keys,
    read_os_release,
    read_world_writable,
    records,
    unescape,
)
from wizard.probe_secrets import WALK_SEARCHES, credentials, read_scan
from wizard.probe_traces import parse_traces
from wizard.sshd_config import parse_sshd_t

# The probe's one walk of the homes: the letter before each file's metadata says which list.
_LIST_KINDS = {"h": "history", "c": "credential"}
# Which search a file read whole serves, by the probe's content category.
_READ_FOR = {"ak": "authorized_keys", "pub": "hostkey", "sshd": "sshd_config", "unit": "first_boot"}


_STATES = {s.value for s in PasswordState}


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _some(names: list[str], shown: int = 3) -> str:
    """ "a, b, c and 4 more" """
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def _add_pairs(out: list[tuple[str, str]], pairs: list[str]) -> None:
    """Append (metadata, path) pairs, once per path: nested starting points overlap."""
    known = {path for _, path in out}
    for meta, path in zip(pairs[0::2], pairs[1::2], strict=False):
        if path not in known:
            known.add(path)
            out.append((meta, path))


def _read_walk(
    fields: list[str], lists: dict[str, list[tuple[str, str]]], max_files: int, timeout: str
) -> list[SearchNote]:
    """Sort the one walk's "LETTER metadata", path pairs into lists; say how it ended.

    The probe passes at most max_files + 1 files (the extra one shows the limit was hit),
    then an empty field and "rc=STATUS" when find ran to its end: 124 is the timeout's."""
    status: str | None = None
    if fields and fields[-1].startswith("rc="):
        status = fields.pop()[3:]
        if fields and fields[-1] == "":
            fields.pop()  # a clean end
        elif fields:
            fields.pop()  # find was killed inside this field: it is partial
            fields = fields[: len(fields) - len(fields) % 2]
    pairs = list(zip(fields[0::2], fields[1::2], strict=False))
    reason = ""
    if max_files and len(pairs) > max_files:
        pairs = pairs[:max_files]
        reason = f"stopped after {max_files} files (probe.max_files)"
    elif status == "124":
        reason = f"stopped after {timeout} s (probe.timeout)"
    elif status is None:
        reason = "was cut short (its output ended early)"
    for meta, path in pairs:
        letter, _, rest = meta.partition(" ")
        kind = _LIST_KINDS.get(letter)
        if kind:
            _add_pairs(lists[kind], [rest, path])
    return [SearchNote(s, reason) for s in WALK_SEARCHES] if reason else []


class _Parser:
    def __init__(self, root: str) -> None:
        self.prefix = "" if root in ("", "/") else root.rstrip("/")
        self.fields: dict[str, list[list[str]]] = defaultdict(list)

    def rel(self, path: str) -> str:
        if self.prefix and path.startswith(self.prefix + "/"):
            return path[len(self.prefix) :]
        return path

    def file_info(self, meta: str, path: str, owners: dict[int, str]) -> FileInfo:
        """FileInfo from "size mode uid gid mtime dev ino" (find -printf or stat -c)."""
        try:
            size, mode, uid, gid, mtime, dev, ino = meta.split(" ")
            return FileInfo(
                path=self.rel(path),
                size=int(size),
                mode=int(mode, 8),
                uid=int(uid),
                gid=int(gid),
                mtime=int(float(mtime)),
                owner=owners.get(int(uid), ""),
                dev=int(dev),
                ino=int(ino),
            )
        except ValueError:
            return FileInfo(path=self.rel(path))


def parse(
    data: bytes,
    *,
    target_kind: str = "local",
    root: str = "/",
    live: bool = True,
    is_root: bool = True,
) -> Facts:
    """Turn the probe's output into Facts. Raises ProbeError when the output is not a probe's."""
    p = _Parser(root)
    content: dict[str, dict[str, str]] = defaultdict(dict)
    lists: dict[str, list[tuple[str, str]]] = defaultdict(list)
    notes: list[str] = []
    incomplete: list[SearchNote] = []
    seen_done = False
    header: list[str] | None = None
    akfiles: list[tuple[str, str]] = []
    refused: list[RefusedKeysFile] = []
    secrets_text: str | None = None
    cloud: list[str] = []
    pkg: list[str] = []
    stamps: list[str] = []
    wants: list[str] = []
    symlinks: set[str] = set()
    sshd_t: list[str] | None = None
    sshd_tc: list[list[str]] = []  # `sshd -T -C SPEC`: spec, exit code, output
    sshq: dict[str, tuple[str, ...]] = {}  # `ssh -Q KIND`: kind -> supported names
    shadow_text = ""
    other: dict[str, list[str]] = {}
    walks: list[list[str]] = []
    world: list[str] | None = None
    nohome: list[str] = []
    trace_recs: list[list[str]] = []  # the system-traces section (wizard/probe_traces.py)
    for rec in records(data):
        if not rec:
            continue
        kind, args = rec[0], rec[1:]
        if kind == "probe":
            header = args
        elif kind == "content" and len(args) == 3:
            content[args[0]][p.rel(args[1])] = args[2][1:] if args[2].startswith("=") else args[2]
        elif kind == "list" and args and args[0] == "files":
            walks.append(args[1:])
        elif kind == "list" and args and args[0] == "worldwritable":
            world = args[1:]
        elif kind == "list" and args:
            _add_pairs(lists[args[0]], args[1:])
        elif kind == "akfile" and len(args) == 2:
            akfiles.append((args[0], p.rel(args[1])))
        elif kind == "akrefused" and len(args) == 3:
            refused.append(RefusedKeysFile(args[0], args[1], args[2]))
        elif kind == "secrets":
            secrets_text = args[0] if args else ""
        elif kind == "cloudinit":
            cloud = args
        elif kind == "pkg":
            pkg = args
        elif kind == "nohome" and args:
            nohome.append(args[0])
        elif kind == "pkgver" and len(args) == 2:
            other.setdefault("pkgver", args)  # the first installed package of the AMI tools
        elif kind == "stamps":
            stamps = args
        elif kind == "wants" and args:
            wants.append(args[0])
        elif kind == "symlink" and args:
            symlinks.add(args[0])
        elif kind == "sshd_t":
            sshd_t = args
        elif kind == "sshd_tc" and len(args) >= 3:
            sshd_tc.append(args)
        elif kind == "sshq" and len(args) == 2:
            sshq[args[0]] = tuple(args[1].split())
        elif kind == "shadow":
            shadow_text = args[0] if args else ""
        elif kind == "note" and args:
            notes.append(args[0])
        elif kind == "truncated" and len(args) == 3:
            incomplete.append(
                SearchNote(
                    _READ_FOR.get(args[0], args[0]),
                    f"read only the first {args[2]} bytes of {p.rel(args[1])} (probe.max_size)",
                )
            )
        elif kind.startswith("trace"):
            trace_recs.append(rec)
        elif kind == "done":
            seen_done = True
        else:
            other[kind] = args
    if header is None:
        raise ProbeError("the target's answer is not a probe report (is /bin/sh a POSIX shell?)")
    if not seen_done:
        raise ProbeError("the probe was cut short before it finished (timeout or lost connection)")
    max_files = _int(header[4]) if len(header) > 4 else 0
    timeout = header[5] if len(header) > 5 else "?"
    for walk in walks:
        incomplete += _read_walk(walk, lists, max_files, timeout)

    sysfiles = content["sys"]
    # accounts: /etc/shadow classified by awk (names escaped), /etc/passwd split as libc does
    shadow: dict[str, tuple[PasswordState, str]] = {}
    for line in lines(shadow_text):
        parts = line.split(" ")
        if len(parts) >= 2:
            state = PasswordState(parts[1]) if parts[1] in _STATES else PasswordState.UNKNOWN
            shadow[unescape(parts[0])] = (state, unescape(parts[2]) if len(parts) > 2 else "")
    shadow_known = bool(shadow_text) or not any("shadow:" in n for n in notes)
    accounts: list[Account] = []
    for line in lines(sysfiles.get("/etc/passwd", "")):
        parts = line.split(":")
        if len(parts) < 7 or line.startswith("#"):
            continue
        try:
            uid, gid = int(parts[2]), int(parts[3])
        except ValueError:
            continue
        state, scheme = shadow.get(
            parts[0], (PasswordState.NO_ENTRY if shadow_known else PasswordState.UNKNOWN, "")
        )
        if not shadow_text:
            state = PasswordState.UNKNOWN
        accounts.append(Account(parts[0], uid, gid, parts[5], parts[6], state, scheme))
    owners = {a.uid: a.name for a in accounts}

    # host keys: pair each private key with its .pub
    infos = {p.rel(path): p.file_info(meta, path, owners) for meta, path in lists["hostkey"]}
    pub_keys = {path: parse_public_keys(path, text) for path, text in content["pub"].items()}
    host_keys: list[HostKey] = []
    for path in sorted({k[:-4] if k.endswith(".pub") else k for k in infos}):
        pub = infos.get(path + ".pub")
        keys = pub_keys.get(path + ".pub", ())
        host_keys.append(HostKey(infos.get(path), pub, keys[0] if keys else None))

    ak_infos = {
        p.rel(path): p.file_info(meta, path, owners) for meta, path in lists["authorized_keys"]
    }
    authorized: list[AuthorizedKeysFile] = []
    seen_ak: set[str] = set()
    for user, path in akfiles:
        if path in seen_ak:
            continue
        seen_ak.add(path)
        authorized.append(
            AuthorizedKeysFile(
                file=ak_infos.get(path, FileInfo(path=path)),
                user=user,
                keys=parse_public_keys(path, content["ak"].get(path, "")),
            )
        )
    refused = list(dict.fromkeys(refused))
    # One note per file, however many accounts the pattern named it for.
    by_file: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in refused:
        by_file[(r.path, r.resolved)].append(r.user)
    for (path, resolved), users in by_file.items():
        leads = f", leads to {resolved}" if resolved != path else ""
        incomplete.append(
            SearchNote(
                "authorized_keys",
                f"skipped {path} (AuthorizedKeysFile for {_some(users)}{leads}): "
                "outside the homes and /etc/ssh or not a keys file, not read",
            )
        )

    writable: tuple[FileInfo, ...] = ()
    if world is not None:
        world_pairs, world_notes = read_world_writable(world, max_files, timeout)
        incomplete += world_notes
        writable = tuple(
            sorted((p.file_info(m, path, owners) for m, path in world_pairs), key=lambda f: f.path)
        )
    found_traces = parse_traces(
        trace_recs,
        lambda meta, path: p.file_info(meta, path, owners),
        live=live,
        max_files=max_files,
        timeout=timeout,
    )
    incomplete += found_traces.notes

    histories = tuple(
        sorted(
            (p.file_info(meta, path, owners) for meta, path in lists["history"]),
            key=lambda f: f.path,
        )
    )

    scan = read_scan(secrets_text, timeout) if secrets_text is not None else None
    if scan is not None:
        incomplete += scan.notes
    creds = credentials(
        scan,
        (p.file_info(meta, path, owners) for meta, path in lists["credential"]),
        lambda meta, path: p.file_info(meta, path, owners),
        p.rel,
    )

    # sshd
    sshd_version = ""
    if "sshd_version" in other and len(other["sshd_version"]) > 1:
        sshd_version = other["sshd_version"][1].removeprefix("OpenSSH_")
    sshd_t_map: dict[str, tuple[str, ...]] | None = None
    sshd_t_error = ""
    if sshd_t is not None and len(sshd_t) >= 3:
        if sshd_t[0] == "0":
            acc: dict[str, list[str]] = defaultdict(list)
            for line in lines(sshd_t[1]):
                if line.strip():
                    k, _, v = line.strip().partition(" ")
                    acc[k.lower()].append(v)
            sshd_t_map = {k: tuple(v) for k, v in acc.items()}
        else:
            sshd_t_error = lines(sshd_t[2].strip() or f"sshd -T exited {sshd_t[0]}")[-1]

    # cloud-init and first boot
    ci_config = {
        path: text
        for path, text in sysfiles.items()
        if path == "/etc/cloud/cloud.cfg" or path.startswith("/etc/cloud/cloud.cfg.d/")
    }
    cloud_init = CloudInit(
        installed=bool(cloud and cloud[0]),
        version=cloud[2] if len(cloud) > 2 else "",
        enabled=bool(cloud and cloud[0]) and not (len(cloud) > 1 and cloud[1] == "1"),
        config=ci_config,
        state_entries=tuple(p.rel(x) for x in cloud[3:]),
    )
    wanted = {w.rsplit("/", 1)[-1] for w in wants}
    units = tuple(
        Unit(path, text, enabled=path.rsplit("/", 1)[-1] in wanted)
        for path, text in sorted(content["unit"].items())
    )

    osr = read_os_release(
        sysfiles.get("/etc/os-release") or sysfiles.get("/usr/lib/os-release", "")
    )
    uname = other.get("uname", [])
    hostname = (uname[1] if len(uname) > 1 else "") or sysfiles.get("/etc/hostname", "").strip()
    imds = other.get("imds", [])
    machine_id = sysfiles.get("/etc/machine-id")
    dbus_id = (
        None if "/var/lib/dbus/machine-id" in symlinks else sysfiles.get("/var/lib/dbus/machine-id")
    )
    updates = sysfiles.get("/var/lib/update-notifier/updates-available")
    packages = package_facts(other)
    return Facts(
        target_kind=target_kind,
        root=root,
        live=live,
        is_root=(header[3] == "0") if len(header) > 3 and header[3] else is_root,
        hostname=hostname,
        os_id=osr.get("ID", ""),
        os_version=osr.get("VERSION_ID", ""),
        os_pretty=osr.get("PRETTY_NAME", ""),
        kernel=uname[0] if uname else "",
        is_ec2=bool(imds),
        instance_id=imds[0] if imds else "",
        ami_id=imds[1] if len(imds) > 1 else "",
        product_codes=tuple(imds[2].split()) if len(imds) > 2 else (),
        accounts=tuple(accounts),
        sudoers={
            **{k: v for k, v in sysfiles.items() if k.startswith("/etc/sudoers")},
            **content["sudoers"],
        },
        world_writable=writable,
        missing_homes=tuple(nohome),
        sshd_main=(other.get("sshd_main") or ["/etc/ssh/sshd_config"])[0],
        sshd_files=dict(content["sshd"]),
        sshd_version=sshd_version,
        sshd_t=sshd_t_map,
        sshd_t_error=sshd_t_error,
        sshd_t_conn={
            spec: {k: tuple(v) for k, v in parse_sshd_t(out).items()}
            for spec, rc, out, *_ in sshd_tc
            if rc == "0"
        },
        ssh_algorithms=sshq,
        host_keys=tuple(host_keys),
        authorized_keys=tuple(authorized),
        authorized_keys_refused=tuple(refused),
        histories=histories,
        credentials=creds,
        traces=found_traces.traces,
        traces_skipped=found_traces.skipped,
        cloud_init=cloud_init,
        units=units,
        rc_local=sysfiles.get("/etc/rc.local", sysfiles.get("/etc/rc.d/rc.local")),
        machine_id=machine_id,
        dbus_machine_id=dbus_id,
        stamps=tuple(stamps),
        package_manager=pkg[0] if pkg else "",
        pending_updates=(
            packages.pending
            if packages.pending is not None
            else count_pending_updates(updates)
            if updates
            else None
        ),
        ami_tools=tuple(FileInfo(path=x) for x in pkg[1:]),
        ami_tools_version=packages.version,
        ami_tools_package=packages.name,
        ami_tools_update=packages.update,
        pending_packages=packages.names,
        pending_security=packages.security,
        incomplete=tuple(dict.fromkeys(incomplete)),
        limits_hit=tuple(dict.fromkeys(n.text for n in incomplete)),
        probe_errors=tuple(notes),
    )
