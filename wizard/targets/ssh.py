"""The SSH target: a running machine reached with paramiko, as OpenSSH would reach it.

Honours ~/.ssh/config (HostName, User, Port, IdentityFile, IdentitiesOnly, HostKeyAlias,
ProxyJump), ssh-agent and key files; checks host keys strictly against known_hosts (an
unknown key is only recorded when the operator accepts it; a changed key is always refused).
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import hmac
import logging
import os
import re
import shlex
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm

from wizard import keyring_store
from wizard.errors import HostKeyError, TargetError, UsageError
from wizard.fsutil import read_capped
from wizard.targets.base import (
    ChangedHostKeyError,
    CommandResult,
    ConnectOptions,
    SudoEscalation,
    Target,
    UnknownHostKeyError,
    quote_command,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 22
DEFAULT_KEY_FILES = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")
# How deep a ProxyJump chain may go before we suspect a loop in ssh_config.
MAX_JUMPS = 8
# A known_hosts file larger than this is refused rather than read (it could be /dev/zero).
MAX_KNOWN_HOSTS_BYTES = 16 << 20


@dataclass(frozen=True)
class Endpoint:
    """One SSH hop after ssh_config resolution: where to connect, as whom, with which keys."""

    alias: str  # the host as typed, used for ssh_config and the uri
    hostname: str
    port: int
    user: str
    identity_files: tuple[str, ...] = ()
    identities_only: bool = False
    host_key_alias: str | None = None
    proxy_jump: str | None = None

    @property
    def address(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{host}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """The name OpenSSH files this host's key under: `host`, or `[host]:port`."""
        if self.host_key_alias:
            return self.host_key_alias
        if self.port == DEFAULT_PORT:
            return self.hostname
        return f"[{self.hostname}]:{self.port}"


def load_ssh_config(path: str | None) -> paramiko.SSHConfig:
    """Read the operator's ssh_config (default ~/.ssh/config); a missing file is empty."""
    path = os.path.expanduser(path or "~/.ssh/config")
    if not os.path.exists(path):
        return paramiko.SSHConfig()
    try:
        text = read_capped(path).decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise UsageError(f"cannot read ssh config {path} — {exc.strerror}") from None
    _refuse_match_exec(path, text)
    try:
        return paramiko.SSHConfig.from_text(text)
    except (ValueError, paramiko.SSHException) as exc:
        raise UsageError(f"cannot read ssh config {path} — {exc}") from exc


# Match criteria that take no argument (ssh_config(5)); every other one is `name value`.
_MATCH_FLAGS = ("all", "canonical", "final")


def _refuse_match_exec(path: str, text: str) -> None:
    """`Match exec CMD` runs CMD on the operator's machine at every lookup (paramiko does so
    through invoke): refused like ProxyCommand, before paramiko ever evaluates it."""
    for lineno, line in enumerate(text.split("\n"), 1):
        keyword, *rest = re.split(r"\s*=\s*|\s+", line.strip(), maxsplit=1)
        if keyword.lower() != "match" or not rest:
            continue
        try:
            tokens = shlex.split(rest[0])
        except ValueError as exc:
            raise UsageError(f"cannot read ssh config {path} — line {lineno}: {exc}") from None
        while tokens:
            criterion = tokens.pop(0).lstrip("!").lower()
            if criterion == "exec":
                raise UsageError(
                    f"{path} line {lineno}: `Match exec` in ssh config is not supported"
                    " (it runs a local command); use Host blocks"
                )
            if criterion not in _MATCH_FLAGS and tokens:
                tokens.pop(0)


def resolve_endpoint(
    config: paramiko.SSHConfig, host: str, user: str | None = None, port: int | None = None
) -> Endpoint:
    """Apply ssh_config to a host as typed; values typed by the operator win, as in ssh."""
    try:
        found = config.lookup(host)
    except Exception as exc:  # paramiko raises assorted types for bad Match/tokens
        raise UsageError(f"cannot apply ssh config to {host} — {exc}") from exc
    if found.get("proxycommand", "none").lower() != "none":
        raise TargetError(f"{host}: ProxyCommand in ssh config is not supported; use ProxyJump")
    if port is None:
        try:
            port = int(found.get("port", DEFAULT_PORT))
        except ValueError as exc:
            raise UsageError(f"{host}: bad Port in ssh config — {found.get('port')}") from exc
    jump = found.get("proxyjump")
    hostname = found.get("hostname", host)
    check_hostname(hostname)
    return Endpoint(
        alias=host,
        hostname=hostname,
        port=port,
        user=user or found.get("user") or getpass.getuser(),
        identity_files=tuple(os.path.expanduser(f) for f in found.get("identityfile", [])),
        identities_only=found.get("identitiesonly", "no").lower() == "yes",
        host_key_alias=found.get("hostkeyalias"),
        proxy_jump=None if jump is None or jump.lower() == "none" else jump,
    )


# RFC 1035 limits, which the resolver enforces (Python's idna codec raises UnicodeError).
MAX_LABEL, MAX_HOSTNAME = 63, 253


def check_hostname(hostname: str) -> None:
    """Refuse a host name no resolver accepts (a label over 63 characters, an empty label,
    over 253 in all) with one line, before it reaches getaddrinfo. IP addresses pass."""
    if ":" in hostname:  # IPv6, checked by the socket layer itself
        return
    labels = hostname.removesuffix(".").split(".")
    if len(hostname) > MAX_HOSTNAME:
        raise UsageError(f"bad host name {hostname[:40]!r}…: longer than {MAX_HOSTNAME} characters")
    for label in labels:
        if not label:
            raise UsageError(f"bad host name {hostname!r}: empty label")
        if len(label) > MAX_LABEL:
            raise UsageError(
                f"bad host name {hostname!r}: a label is longer than {MAX_LABEL} characters"
            )


def split_host_port(text: str) -> tuple[str | None, str, int | None]:
    """Split `[user@]host[:port]` (IPv6 in brackets) as used by ssh:// and ProxyJump."""
    user, at, hostport = text.rpartition("@")
    if not at:
        user = ""
    port: str | None = None
    if hostport.startswith("["):
        host, bracket, rest = hostport[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise UsageError(f"bad host {text!r}")
        port = rest[1:] if rest else None
    elif hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
    else:
        host = hostport
    if not host or host.startswith("-") or any(c.isspace() or c in "/@" for c in host):
        raise UsageError(f"bad host {text!r}")
    if port is None:
        return user or None, host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"bad port in {text!r}")
    return user or None, host, int(port)


def _same_key(a: paramiko.PKey, b: paramiko.PKey) -> bool:
    return a.get_name() == b.get_name() and a.asbytes() == b.asbytes()


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint as OpenSSH prints it (unpadded base64)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def key_type_label(key: paramiko.PKey) -> str:
    """ED25519 / ECDSA / RSA, as in OpenSSH's "ED25519 key fingerprint is ..."."""
    name = key.get_name()
    if "ed25519" in name:
        return "ED25519"
    if name.startswith("ecdsa"):
        return "ECDSA"
    if "rsa" in name:
        return "RSA"
    return name.upper()


# Host key algorithms paramiko may negotiate for a key type found in known_hosts.
_ALGORITHMS_FOR_KEY = {
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
}
_CERT_SUFFIX = "-cert-v01@openssh.com"
# paramiko keeps its table of host key classes private; the cert names are the ones it can read.
_CERT_ALGORITHMS = frozenset(
    a
    for a in paramiko.Transport._key_info  # type: ignore[attr-defined]
    if a.endswith(_CERT_SUFFIX)
)
_CERT_TYPE_HOST = 2
REVOKED, CERT_AUTHORITY = "@revoked", "@cert-authority"


def _pattern_matches(pattern: str, name: str) -> bool:
    """OpenSSH's wildcard match (`*` and `?` only; `[` is literal, as in `[host]:port`)."""
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return re.fullmatch(regex, name.lower(), re.DOTALL) is not None


def _hosts_match(field: str, name: str) -> bool:
    """Does the hostnames field of a known_hosts line name `name` (as OpenSSH's match_hostname)?

    A hashed field (`|1|salt|hash`) is one name; otherwise a comma list of patterns where a
    matching `!pattern` excludes the name whatever else matches.
    """
    if field.startswith("|1|"):
        parts = field.split("|")
        try:
            salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
        except (IndexError, ValueError):
            return False
        mine = hmac.new(salt, name.encode("utf-8", "surrogateescape"), hashlib.sha1).digest()
        return hmac.compare_digest(mine, digest)
    found = False
    for pattern in field.split(","):
        if pattern.startswith("!"):
            if _pattern_matches(pattern[1:], name):
                return False
        elif _pattern_matches(pattern, name):
            found = True
    return found


@dataclass(frozen=True)
class KnownHostLine:
    """One usable line of known_hosts: its marker (@revoked, @cert-authority or none)."""

    marker: str | None
    hosts: str  # the hostnames field as written (patterns or a hashed name)
    key: paramiko.PKey
    lineno: int

    @classmethod
    def parse(cls, line: str, lineno: int) -> KnownHostLine | None:
        """Read one line; None for comments, blanks and lines OpenSSH would skip too."""
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            return None
        marker = None
        if fields[0].startswith("@"):
            marker = fields.pop(0)
            if marker not in (REVOKED, CERT_AUTHORITY):
                log.debug("known_hosts line %d: unknown marker %s skipped", lineno, marker)
                return None
        if len(fields) < 3:
            log.debug("known_hosts line %d: too few fields, skipped", lineno)
            return None
        hosts, key_type, blob = fields[:3]
        try:
            key = paramiko.PKey.from_type_string(key_type, base64.b64decode(blob, validate=True))
        except (ValueError, TypeError, paramiko.SSHException, paramiko.pkey.UnknownKeyType) as exc:
            log.debug("known_hosts line %d: key not usable (%s), skipped", lineno, exc)
            return None
        return cls(marker, hosts, key, lineno)


@dataclass(frozen=True)
class HostCertificate:
    """The fields of an OpenSSH host certificate (PROTOCOL.certkeys) that trust depends on."""

    cert_type: int
    key_id: str
    principals: tuple[str, ...]
    valid_after: int
    valid_before: int
    critical_options: bytes
    signature_key: bytes
    signature: bytes
    signed: bytes  # every byte the CA signed: the blob up to its signature

    @classmethod
    def parse(cls, blob: bytes) -> HostCertificate:
        msg = paramiko.Message(blob)
        cert_key_type = msg.get_text()
        msg.get_string()  # nonce
        base = cert_key_type.removesuffix(_CERT_SUFFIX)
        # The public key fields of each key type, skipped here (paramiko has read them).
        if base == "ssh-rsa":
            msg.get_mpint(), msg.get_mpint()
        elif base.startswith("ecdsa-sha2-"):
            msg.get_string(), msg.get_string()
        elif base == "ssh-ed25519":
            msg.get_string()
        else:
            raise ValueError(f"unsupported certificate type {cert_key_type}")
        msg.get_int64()  # serial
        cert_type = msg.get_int()
        key_id = msg.get_text()
        principals_msg = paramiko.Message(msg.get_string())
        principals: list[str] = []
        while principals_msg.get_remainder():
            principals.append(principals_msg.get_text())
        valid_after, valid_before = msg.get_int64(), msg.get_int64()
        critical = msg.get_string()
        msg.get_string()  # extensions
        msg.get_string()  # reserved
        signature_key = msg.get_string()
        signed_len = msg.packet.tell()
        signature = msg.get_string()
        return cls(
            cert_type,
            key_id,
            tuple(principals),
            valid_after,
            valid_before,
            critical,
            signature_key,
            signature,
            blob[:signed_len],
        )


class KnownHosts:
    """known_hosts checking as OpenSSH does it: plain, hashed, wildcard and `[host]:port`
    names; `@revoked` keys refused; host certificates accepted when signed by an
    `@cert-authority` listed for the host (the CA key itself is never a host key)."""

    def __init__(self, path: str | None) -> None:
        self.path = os.path.expanduser(path or "~/.ssh/known_hosts")
        self._lines: list[KnownHostLine] = []
        if not os.path.exists(self.path):
            return
        try:
            data = read_capped(self.path, MAX_KNOWN_HOSTS_BYTES)
        except OSError as exc:
            raise TargetError(f"cannot read known hosts file {self.path} — {exc.strerror}") from exc
        text = data.decode("utf-8", "surrogateescape")
        for lineno, line in enumerate(text.split("\n"), 1):
            entry = KnownHostLine.parse(line, lineno)
            if entry is not None:
                self._lines.append(entry)

    def _matching(self, name: str, marker: str | None) -> list[paramiko.PKey]:
        return [e.key for e in self._lines if e.marker == marker and _hosts_match(e.hosts, name)]

    def known_keys(self, name: str) -> list[paramiko.PKey]:
        """The host keys listed for `name` (not revoked ones, not certificate authorities)."""
        return self._matching(name, None)

    def authorities(self, name: str) -> list[paramiko.PKey]:
        """The keys of the certificate authorities trusted to sign host keys of `name`."""
        return self._matching(name, CERT_AUTHORITY)

    def _revoked(self, name: str, key: paramiko.PKey) -> bool:
        return any(_same_key(k, key) for k in self._matching(name, REVOKED))

    def preferred_algorithms(self, name: str, supported: Sequence[str]) -> tuple[str, ...]:
        """Put the algorithms of keys we already know first, as OpenSSH does.

        Otherwise the server could present a key type we have no record of and look unknown.
        With a certificate authority for the host, certificates come first of all (paramiko
        only asks for them after every plain type otherwise).
        """
        first: list[str] = []
        if self.authorities(name):
            for algo in supported:
                cert = algo + _CERT_SUFFIX
                if not algo.endswith(_CERT_SUFFIX) and cert in _CERT_ALGORITHMS:
                    first.append(cert)
        for key in self.known_keys(name):
            for algo in _ALGORITHMS_FOR_KEY.get(key.get_name(), (key.get_name(),)):
                if algo in supported and algo not in first:
                    first.append(algo)
        return tuple(first) + tuple(a for a in supported if a not in first)

    def verify(
        self, name: str, key: paramiko.PKey, accept_new: bool, principal: str | None = None
    ) -> None:
        """Raise HostKeyError unless `key` is known for `name` (or accepted and recorded).

        `principal` is the host name a certificate must be issued for (default: `name`
        without brackets and port).
        """
        if principal is None:
            principal = name[1:].partition("]")[0] if name.startswith("[") else name
        label, fp = key_type_label(key), fingerprint(key)
        if self._revoked(name, key):
            raise ChangedHostKeyError(
                f"host key of {name} ({label} {fp}) is marked @revoked in {self.path}"
                " — refusing to connect",
                name,
                label,
                fp,
            )
        cert_blob = key.public_blob.key_blob if key.public_blob is not None else None
        if cert_blob is not None:
            self._verify_certificate(name, principal, cert_blob, label, fp)
            return
        known = self.known_keys(name)
        if any(_same_key(k, key) for k in known):
            return
        if known:
            raise ChangedHostKeyError(
                f"HOST KEY OF {name} HAS CHANGED (now {label} {fp}) — possible"
                " man-in-the-middle attack, refusing to connect; if the change is expected,"
                f" remove the old key with: ssh-keygen -R '{name}' -f {self.path}",
                name,
                label,
                fp,
            )
        if not accept_new:
            raise UnknownHostKeyError(
                f"host key of {name} is unknown: {label} key fingerprint is {fp}"
                " — check it, then accept it with --accept-new-host-key",
                name,
                label,
                fp,
            )
        self.record(name, key)
        log.info("recorded %s host key %s for %s in %s", label, fp, name, self.path)

    def _verify_certificate(
        self, name: str, principal: str, blob: bytes, label: str, fp: str
    ) -> None:
        """Accept a host certificate only as OpenSSH would: a trusted, unrevoked CA signed
        it, for this host, as a host certificate, valid now, with no critical options."""

        def refuse(why: str) -> ChangedHostKeyError:
            return ChangedHostKeyError(
                f"host certificate of {name} ({label} {fp}) refused — {why}", name, label, fp
            )

        try:
            cert = HostCertificate.parse(blob)
            ca = paramiko.PKey.from_type_string(
                paramiko.Message(cert.signature_key).get_text(), cert.signature_key
            )
        except (ValueError, TypeError, paramiko.SSHException, paramiko.pkey.UnknownKeyType) as exc:
            raise refuse(f"it cannot be read ({exc})") from exc
        ca_fp = fingerprint(ca)
        if not any(_same_key(k, ca) for k in self.authorities(name)):
            raise refuse(f"its authority {ca_fp} is not @cert-authority for it in {self.path}")
        if self._revoked(name, ca):
            raise refuse(f"its authority {ca_fp} is marked @revoked in {self.path}")
        if not ca.verify_ssh_sig(cert.signed, paramiko.Message(cert.signature)):
            raise refuse(f"the signature of its authority {ca_fp} does not verify")
        if cert.cert_type != _CERT_TYPE_HOST:
            raise refuse("it is not a host certificate")
        if cert.principals and principal.lower() not in (p.lower() for p in cert.principals):
            raise refuse(f"it is not issued for {principal}")
        now = int(time.time())
        if not cert.valid_after <= now < cert.valid_before:
            raise refuse("it is not valid now")
        if cert.critical_options:
            raise refuse("it has critical options (none are defined for host certificates)")
        log.info("host certificate %r of %s signed by %s accepted", cert.key_id, name, ca_fp)

    def record(self, name: str, key: paramiko.PKey) -> None:
        """Append `name type base64` to the file (0600, in a 0700 dir when we create them)."""
        parent = os.path.dirname(self.path) or "."
        if not os.path.isdir(parent):
            os.makedirs(parent, mode=0o700)
            os.chmod(parent, 0o700)  # makedirs' mode is filtered by the umask
        line = f"{name} {key.get_name()} {key.get_base64()}\n".encode()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise TargetError(f"cannot record host key in {self.path} — {exc}") from exc
        with os.fdopen(fd, "r+b") as fh:
            size = os.fstat(fd).st_size
            if size == 0:
                os.fchmod(fd, 0o600)
            else:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    line = b"\n" + line
            fh.write(line)
        self._lines.append(KnownHostLine(None, name, key, 0))


class _Authenticator:
    """Tries agent keys and key files on one transport; remembers prompted passphrases."""

    def __init__(self, options: ConnectOptions) -> None:
        self.options = options
        self.prompted: dict[str, str] = {}  # key path -> passphrase that worked

    def authenticate(self, transport: paramiko.Transport, ep: Endpoint) -> None:
        explicit = [os.path.expanduser(self.options.identity)] if self.options.identity else []
        explicit += [f for f in ep.identity_files if f not in explicit]
        tried = 0
        for path in explicit:
            # The key the operator typed (-i) must be usable; ssh_config's are tried if so.
            required = bool(self.options.identity) and path == explicit[0]
            if not os.path.exists(path):
                if required:
                    raise UsageError(f"identity file {path} does not exist")
                continue
            tried += 1
            if self._try_key_file(transport, ep, path, required):
                return
        if self.options.use_agent and not ep.identities_only:
            agent = paramiko.Agent()
            try:
                for agent_key in agent.get_keys():
                    tried += 1
                    if self._try_key(transport, ep, agent_key):
                        return
            finally:
                agent.close()
        if not explicit:
            for candidate in DEFAULT_KEY_FILES:
                path = os.path.expanduser(candidate)
                if os.path.exists(path):
                    tried += 1
                    if self._try_key_file(transport, ep, path):
                        return
        hint = f"tried {tried} key(s)" if tried else "no keys to try: pass -i FILE or use ssh-agent"
        raise TargetError(f"authentication failed for {ep.user}@{ep.address} — {hint}")

    def _try_key(self, transport: paramiko.Transport, ep: Endpoint, key: paramiko.PKey) -> bool:
        try:
            remaining = transport.auth_publickey(ep.user, key)
        except paramiko.BadAuthenticationType as exc:
            raise TargetError(
                f"authentication failed for {ep.user}@{ep.address} — the server does not"
                f" accept keys (allowed: {', '.join(exc.allowed_types)})"
            ) from exc
        except paramiko.AuthenticationException:
            return False
        except paramiko.SSHException as exc:
            raise TargetError(f"connection to {ep.address} lost during login — {exc}") from exc
        if remaining:
            log.debug("partial authentication; server wants %s", remaining)
        return transport.is_authenticated()

    def _try_key_file(
        self, transport: paramiko.Transport, ep: Endpoint, path: str, required: bool = False
    ) -> bool:
        key = self._load_key(path, required)
        return key is not None and self._try_key(transport, ep, key)

    def _load_key(self, path: str, required: bool = False) -> paramiko.PKey | None:
        """The key in `path`, or None to skip it; a `required` key that cannot be read
        is a UsageError (the operator named it) instead of a skip."""
        try:
            # paramiko reads a key file whole: refuse a device (/dev/zero) or a huge file first.
            read_capped(path)
            return paramiko.PKey.from_path(path)
        except (paramiko.PasswordRequiredException, TypeError):
            # cryptography raises TypeError for an encrypted OpenSSH-format key read
            # without a passphrase; paramiko passes it through.
            pass
        except (
            OSError,
            paramiko.SSHException,
            paramiko.pkey.UnknownKeyType,
            ValueError,
            UnsupportedAlgorithm,
        ) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            reason = reason.split(". See https://")[0] or type(exc).__name__
            if required:
                raise UsageError(
                    f"identity file {path} is not a usable private key: {reason}"
                ) from None
            log.info("skipping key %s: %s", path, reason)
            return None
        name = keyring_store.passphrase_name(path)
        if name in self.prompted:  # typed earlier this session (e.g. before a new-login proof)
            key = _decrypt(path, self.prompted[name])
            if key is not None:
                return key
        stored = keyring_store.get_secret(keyring_store.PASSPHRASE, name)
        if stored is not None:
            key = _decrypt(path, stored)
            if key is not None:
                return key
            log.info("stored passphrase for %s does not open it", path)
        prompt = self.options.passphrase_prompt
        if prompt is None:
            log.info("key %s needs a passphrase and there is no prompt; skipped", path)
            return None
        for attempt in range(3):
            again = "wrong passphrase; " if attempt else ""
            passphrase = prompt(f"{again}passphrase for key {path}")
            if passphrase is None:
                return None
            key = _decrypt(path, passphrase)
            if key is not None:
                self.prompted[name] = passphrase
                return key
        return None


def _decrypt(path: str, passphrase: str) -> paramiko.PKey | None:
    try:
        return paramiko.PKey.from_path(path, passphrase.encode())
    except (paramiko.SSHException, ValueError, TypeError):
        return None


def _connect_error(ep: Endpoint, exc: BaseException, timeout: float) -> TargetError:
    if isinstance(exc, UnicodeError):  # the idna codec refusing the name
        return TargetError(f"cannot connect to {ep.address} — bad host name ({exc})")
    if isinstance(exc, socket.gaierror):
        return TargetError(f"cannot connect to {ep.address} — unknown host ({exc.strerror})")
    if isinstance(exc, ConnectionRefusedError):
        return TargetError(f"cannot connect to {ep.address} — connection refused")
    if isinstance(exc, TimeoutError):
        return TargetError(f"cannot connect to {ep.address} — timed out after {timeout:g} s")
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        return TargetError(f"cannot connect to {ep.address} — {reason}")
    return TargetError(f"cannot connect to {ep.address} — {exc}")


class SSHTarget(Target):
    """A live machine over SSH. Connects in the constructor; use as a context manager."""

    def __init__(self, ep: Endpoint, options: ConnectOptions, uri: str) -> None:
        self.uri = uri
        self.kind = "ssh"
        self.root = "/"
        self.live = True
        self.channels_opened = 0
        self.endpoint = ep
        self._options = options
        self._auth = _Authenticator(options)
        self._jumps: list[paramiko.Transport] = []
        self._transport = self._connect_chain(ep)
        # Root-ness without a round trip: logging in as root is root; anyone else goes
        # through sudo for every command, so commands still run as uid 0.
        self.is_root = True
        self._sudo: SudoEscalation | None = None
        if ep.user != "root":
            self._sudo = SudoEscalation(ep.user, ep.alias, options.sudo_password_prompt)

    def _connect_chain(self, ep: Endpoint) -> paramiko.Transport:
        config = load_ssh_config(self._options.ssh_config)
        hops: list[Endpoint] = []
        # ProxyJump lists hops in order; a hop's own ProxyJump is not followed further
        # (OpenSSH would, but a chain written out in one line is the common case).
        for part in (ep.proxy_jump or "").split(","):
            if part.strip():
                user, host, port = split_host_port(part.strip().removeprefix("ssh://"))
                hops.append(resolve_endpoint(config, host, user, port))
        if len(hops) > MAX_JUMPS:
            raise UsageError(f"ProxyJump chain for {ep.alias} is too long")
        path = [*hops, ep]
        sock: socket.socket | paramiko.Channel | None = None
        try:
            for hop, dest in zip(hops, path[1:], strict=True):
                transport = self._open_transport(hop, sock)
                self._jumps.append(transport)
                sock = self._jump_channel(transport, hop, dest)
            return self._open_transport(ep, sock)
        except BaseException:
            for transport in reversed(self._jumps):
                transport.close()
            raise

    def _jump_channel(
        self, transport: paramiko.Transport, hop: Endpoint, dest: Endpoint
    ) -> paramiko.Channel:
        try:
            return transport.open_channel(
                "direct-tcpip",
                (dest.hostname, dest.port),
                ("127.0.0.1", 0),
                timeout=self._options.timeout,
            )
        except (paramiko.ChannelException, paramiko.SSHException) as exc:
            reason = getattr(exc, "text", None) or str(exc)
            raise TargetError(
                f"cannot connect to {dest.address} through {hop.address} — {reason}"
            ) from exc

    def _open_transport(
        self, ep: Endpoint, sock: socket.socket | paramiko.Channel | None
    ) -> paramiko.Transport:
        timeout = self._options.timeout
        if sock is None:
            try:
                sock = socket.create_connection((ep.hostname, ep.port), timeout=timeout)
            except (OSError, UnicodeError) as exc:
                raise _connect_error(ep, exc, timeout) from exc
        known = KnownHosts(self._options.known_hosts)
        transport = paramiko.Transport(sock)
        try:
            transport.banner_timeout = timeout
            transport.handshake_timeout = timeout
            transport.auth_timeout = timeout
            security = transport.get_security_options()
            security.key_types = known.preferred_algorithms(ep.known_hosts_name, security.key_types)
            try:
                transport.start_client(timeout=timeout)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise TargetError(f"SSH handshake with {ep.address} failed — {exc}") from exc
            # start_client returns quietly when its timeout passes; the handshake may not be done.
            if not (transport.is_active() and transport.initial_kex_done):
                raise TargetError(
                    f"SSH handshake with {ep.address} failed — no answer within {timeout:g} s"
                )
            known.verify(
                ep.known_hosts_name,
                transport.get_remote_server_key(),
                self._options.accept_new_host_key,
                principal=ep.host_key_alias or ep.hostname,
            )
            self._auth.authenticate(transport, ep)
        except BaseException:
            transport.close()
            raise
        transport.set_keepalive(30)
        log.info("connected to %s@%s", ep.user, ep.address)
        return transport

    def _raw_run(self, argv: Sequence[str], stdin: bytes, timeout: float) -> CommandResult:
        command = quote_command(argv)
        deadline = time.monotonic() + timeout
        try:
            channel = self._transport.open_session(timeout=timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            # paramiko's SSHException for a transport that went away has no text of its own.
            reason = str(exc) or "the connection was closed"
            raise TargetError(f"{self.uri}: cannot open a session — {reason}") from exc
        self.channels_opened += 1
        with contextlib.closing(channel):
            channel.settimeout(timeout)
            # File names from the target may be any bytes (decoded with surrogateescape);
            # paramiko would encode the command as strict UTF-8 and crash on them.
            try:
                channel.exec_command(command.encode("utf-8", "surrogateescape"))
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise TargetError(f"{self.uri}: connection lost — {exc}") from exc
            stderr: list[bytes] = []
            errors: list[BaseException] = []

            def feed() -> None:
                try:
                    channel.sendall(stdin)
                    channel.shutdown_write()
                except (OSError, paramiko.SSHException) as exc:
                    errors.append(exc)

            def drain_stderr() -> None:
                with contextlib.suppress(OSError, paramiko.SSHException):
                    while chunk := channel.recv_stderr(65536):
                        stderr.append(chunk)

            # stdin is written and stderr read beside stdout so that no full buffer
            # (ours or the remote pipe's) can stall the other stream.
            threads = [
                threading.Thread(target=feed, daemon=True),
                threading.Thread(target=drain_stderr, daemon=True),
            ]
            for thread in threads:
                thread.start()
            stdout: list[bytes] = []
            try:
                while True:
                    channel.settimeout(max(deadline - time.monotonic(), 0.001))
                    chunk = channel.recv(65536)
                    if not chunk:
                        break
                    stdout.append(chunk)
                remaining = deadline - time.monotonic()
                if not channel.status_event.wait(max(remaining, 0.001)):
                    raise TimeoutError
            except TimeoutError as exc:
                raise TargetError(f"{self.uri}: {argv[0]} timed out after {timeout:g} s") from exc
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise TargetError(f"{self.uri}: connection lost — {exc}") from exc
            for thread in threads:
                thread.join(max(deadline - time.monotonic(), 0.1))
            status = channel.recv_exit_status()
        if errors and status == -1:
            raise TargetError(f"{self.uri}: connection lost — {errors[0]}")
        return CommandResult(status, b"".join(stdout), b"".join(stderr))

    def run(self, argv: Sequence[str], stdin: bytes = b"", timeout: float = 60.0) -> CommandResult:
        if self._sudo is None:
            return self._raw_run(argv, stdin, timeout)
        return self._sudo.run(self._raw_run, argv, stdin, timeout)

    @property
    def options(self) -> ConnectOptions:
        """How this target was reached (identity and known_hosts paths; never secrets)."""
        return self._options

    @property
    def sudo_uses_password(self) -> bool:
        """True when this login's sudo needed a password (locking it would break sudo)."""
        sudo = self._sudo
        return sudo is not None and bool(sudo.prompted_password or sudo._password)

    @property
    def login_user(self) -> str:
        """The account this connection logged in as (root, or a sudo user)."""
        return self.endpoint.user

    def try_new_login(self, attempts: int = 20, delay: float = 0.25) -> str | None:
        """Open a NEW connection with the same credentials and run `true` on it.

        Returns None when that works, else why not. The open connection is left alone: it is
        the way back if a change locked new logins out. Retries briefly because a reloaded
        sshd may take a moment to listen again.
        """
        last = "no attempt"
        saved_jumps, saved_count = self._jumps, self.channels_opened
        for attempt in range(attempts):
            if attempt:
                time.sleep(delay)
            self._jumps = []
            transport: paramiko.Transport | None = None
            try:
                transport = self._connect_chain(self.endpoint)
                channel = transport.open_session(timeout=self._options.timeout)
                with contextlib.closing(channel):
                    channel.exec_command("true")
                    status = channel.recv_exit_status()
                if status == 0:
                    return None
                last = f"`true` exited with {status} on the new login"
            except (TargetError, UsageError, paramiko.SSHException, OSError, EOFError) as exc:
                last = str(exc)
                # Refused or reset while sshd restarts: worth another try. A failed
                # authentication or host key (or certificate) problem will not change by waiting.
                if isinstance(exc, HostKeyError) or "authentication failed" in last:
                    break
            finally:
                if transport is not None:
                    transport.close()
                for jump in self._jumps:
                    jump.close()
                self._jumps = saved_jumps
                self.channels_opened = saved_count
        return last

    def remember_secrets(self) -> list[str]:
        """Store in the keyring the secrets the operator typed that worked; returns their names.

        The UI asks the operator first; nothing is stored without that call.
        """
        stored: list[str] = []
        for name, passphrase in self._auth.prompted.items():
            keyring_store.set_secret(keyring_store.PASSPHRASE, name, passphrase)
            stored.append(f"{keyring_store.PASSPHRASE}:{name}")
        if self._sudo is not None and self._sudo.prompted_password is not None:
            keyring_store.set_secret(
                keyring_store.SUDO, self._sudo.keyring_name, self._sudo.prompted_password
            )
            stored.append(f"{keyring_store.SUDO}:{self._sudo.keyring_name}")
        return stored

    @property
    def prompted_secrets(self) -> list[str]:
        """Names (`kind:name`) of secrets the operator typed this session and that worked."""
        names = [f"{keyring_store.PASSPHRASE}:{n}" for n in self._auth.prompted]
        if self._sudo is not None and self._sudo.prompted_password is not None:
            names.append(f"{keyring_store.SUDO}:{self._sudo.keyring_name}")
        return names

    def close(self) -> None:
        for transport in [self._transport, *reversed(self._jumps)]:
            transport.close()
