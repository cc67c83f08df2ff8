"""Facts about a target, as gathered by the one-round-trip probe.

Facts are plain frozen data: the probe parser builds them, the pure checks read them.
Paths are always as seen on the target (for an image target: relative to its root, with a
leading "/"), never prefixed with the operator's mount point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PasswordState(StrEnum):
    """What the password field of /etc/shadow allows. The hash itself never leaves the target."""

    EMPTY = "empty"  # no password at all: login without one may be possible
    LOCKED = "locked"  # "!" or "*" prefix, or "!" alone: no password login
    USABLE = "usable"  # a hash: a password login is possible
    NO_ENTRY = "no-entry"  # the account has no line in /etc/shadow
    UNKNOWN = "unknown"  # /etc/shadow could not be read


@dataclass(frozen=True)
class FileInfo:
    """One file found on the target (its name is data: any bytes, decoded with surrogateescape)."""

    path: str
    size: int = 0
    mode: int = 0  # permission bits, e.g. 0o600
    uid: int = 0
    gid: int = 0
    mtime: int = 0
    owner: str = ""  # resolved from /etc/passwd ("" when unknown)
    dev: int = 0  # st_dev on the target (0 when unknown)
    ino: int = 0  # st_ino on the target (0 when unknown)


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    password: PasswordState = PasswordState.UNKNOWN
    password_scheme: str = ""  # e.g. "6" for $6$ (SHA-512 crypt); never the hash

    @property
    def can_login_shell(self) -> bool:
        return not self.shell.endswith(("/nologin", "/false")) and self.shell not in (
            "",
            "/bin/sync",
        )


@dataclass(frozen=True)
class PublicKey:
    """A public key line from a host key .pub file or an authorized_keys file."""

    path: str
    line: int
    key_type: str
    fingerprint: str  # "SHA256:..." (OpenSSH style, no padding)
    comment: str = ""
    options: str = ""  # authorized_keys options (from="...", command="..."), as written


@dataclass(frozen=True)
class HostKey:
    """A host key pair: the private key file (never read) and its public half, if present."""

    private: FileInfo | None
    public: FileInfo | None
    key: PublicKey | None = None


@dataclass(frozen=True)
class AuthorizedKeysFile:
    file: FileInfo
    user: str  # the account whose AuthorizedKeysFile pattern matched it
    keys: tuple[PublicKey, ...] = ()


@dataclass(frozen=True)
class RefusedKeysFile:
    """A file an AuthorizedKeysFile setting names outside every home and /etc/ssh (or one that
    looks like a private key or a system file): evidence of a dangerous setting, never read,
    never listed as an authorized_keys file, never deleted."""

    user: str  # the account whose pattern named it
    path: str  # as the setting names it, %h/%u expanded
    resolved: str  # where it leads, symlinks resolved inside the root


@dataclass(frozen=True)
class SearchNote:
    """A probe search that stopped before its end: what it found may be partial."""

    search: str  # "history" | "credential" | "secrets" | "authorized_keys" | ...
    reason: str  # e.g. "stopped after 10 s (probe.timeout)"

    @property
    def text(self) -> str:
        return f"{self.search} search {self.reason}"


@dataclass(frozen=True)
class SecretHit:
    """A secret found inside a file. Only the first four characters are ever transported."""

    path: str
    line: int
    kind: str  # "aws-access-key-id" | "aws-secret-access-key" | "private-key" | "token" | ...
    prefix: str  # at most 4 characters


@dataclass(frozen=True)
class CredentialFile:
    file: FileInfo
    kind: (
        str  # "aws-credentials" | "x509-private-key" | "x509-certificate" | "ssh-private-key" | ...
    )
    hits: tuple[SecretHit, ...] = ()


@dataclass(frozen=True)
class CloudInit:
    installed: bool = False
    version: str = ""
    enabled: bool = False  # not disabled by /etc/cloud/cloud-init.disabled or a kernel flag
    config: dict[str, str] = field(
        default_factory=dict
    )  # path -> text of cloud.cfg and cloud.cfg.d/*
    state_entries: tuple[str, ...] = ()  # names under /var/lib/cloud/instances and other state


@dataclass(frozen=True)
class Unit:
    """A systemd unit (or sysv script) file relevant to first boot."""

    path: str
    text: str
    enabled: bool = False  # a wants/ symlink exists for it


@dataclass(frozen=True)
class Trace:
    """A file a builder leaves behind (a log, a lease, a cache entry...): see
    checks/system_traces.py for the categories."""

    category: str  # "log" | "rotated-log" | "journal" | "tmp" | "dhcp-lease" | ...
    file: FileInfo
    held_open: bool = False  # a running process holds it open (live targets)
    text: str = ""  # the file's text, for the few kinds the fix edits (pinned-network-id)


@dataclass(frozen=True)
class Facts:
    """Everything the checks know about one target at one moment."""

    # identity
    target_kind: str = "local"
    root: str = "/"
    live: bool = True
    is_root: bool = True
    hostname: str = ""
    os_id: str = ""
    os_version: str = ""
    os_pretty: str = ""
    kernel: str = ""
    is_ec2: bool = False
    instance_id: str = ""
    ami_id: str = ""
    product_codes: tuple[str, ...] = ()
    # accounts
    accounts: tuple[Account, ...] = ()
    # path -> text of /etc/sudoers, /etc/sudoers.d/* and every file their include lines name
    sudoers: dict[str, str] = field(default_factory=dict)
    # sshd
    sshd_main: str = "/etc/ssh/sshd_config"
    sshd_files: dict[str, str] = field(default_factory=dict)  # path -> text, main + includes
    sshd_version: str = ""  # e.g. "9.2p1"
    sshd_t: dict[str, tuple[str, ...]] | None = None  # `sshd -T` (live targets), keyword -> values
    sshd_t_error: str = ""
    # `sshd -T -C SPEC` for a few fixed connections (live targets): SPEC -> keyword -> values
    sshd_t_conn: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # `ssh -Q cipher|mac|kex` (live targets): what this OpenSSH build supports, kind -> names
    ssh_algorithms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    host_keys: tuple[HostKey, ...] = ()
    authorized_keys: tuple[AuthorizedKeysFile, ...] = ()
    authorized_keys_refused: tuple[RefusedKeysFile, ...] = ()  # named by sshd, not read
    # traces and secrets
    histories: tuple[FileInfo, ...] = ()
    credentials: tuple[CredentialFile, ...] = ()
    traces: tuple[Trace, ...] = ()  # builder traces (logs, temp files, leases, caches...)
    # places the traces search left out on purpose, as "path: why" (a tmpfs on a live target)
    traces_skipped: tuple[str, ...] = ()
    # first boot
    cloud_init: CloudInit = field(default_factory=CloudInit)
    units: tuple[Unit, ...] = ()
    rc_local: str | None = None
    machine_id: str | None = None  # content of /etc/machine-id (None: absent)
    dbus_machine_id: str | None = None  # /var/lib/dbus/machine-id, when a regular file
    # first-boot stamps (checks/_plans.py FIRST_BOOT_STAMPS) that exist, as paths inside the root
    stamps: tuple[str, ...] = ()
    # packages and tools
    package_manager: str = ""  # "apt" | "dnf" | "yum" | "apk" | "zypper" | ""
    pending_updates: int | None = None  # from the local package cache; None when unknown
    ami_tools: tuple[FileInfo, ...] = ()  # ec2-bundle-vol & co found on the target
    ami_tools_version: str = ""
    ami_tools_package: str = ""  # the installed package that holds them ("" none or unknown)
    ami_tools_update: str = ""  # the newer version of that package on offer ("" none known)
    pending_packages: tuple[str, ...] = ()  # names with an update pending (live targets)
    pending_security: int | None = None  # how many of those fix security issues; None unknown
    # privilege
    world_writable: tuple[FileInfo, ...] = ()  # files and dirs o+w under the system paths
    missing_homes: tuple[str, ...] = ()  # accounts with a login shell and no home directory
    # what the operator says of the image (from the plan/config; not read from the target)
    identity: dict[str, str] = field(default_factory=dict)  # publisher, description, contact
    # optional guidelines that are off by default and that the operator turned on (config
    # `guidelines.enable`, or chosen in the wizard); not read from the target
    selected: tuple[str, ...] = ()
    # probe bookkeeping
    incomplete: tuple[SearchNote, ...] = ()  # searches that stopped early, by search kind
    limits_hit: tuple[str, ...] = ()  # the same as text, e.g. "history search stopped after 10 s"
    probe_errors: tuple[str, ...] = ()  # other notes: unreadable files, no metadata token...

    def account(self, name: str) -> Account | None:
        return next((a for a in self.accounts if a.name == name), None)
