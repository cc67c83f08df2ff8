"""A pure model of OpenSSH's sshd_config: parse, effective values, edits that take effect.

It reads text handed to it (path -> file text, as the probe collects it), follows sshd's own
rules for Include, Match and first-value-wins, and never touches the filesystem itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wizard.errors import ApplyError, UsageError

log = logging.getLogger(__name__)

MAIN_CONFIG = "/etc/ssh/sshd_config"
# sshd resolves relative Include paths against its compiled-in SSHDIR, not the file's dir.
SSH_DIR = "/etc/ssh"
DROP_IN_NAME = "00-ami-wizard"
# servconf.c SERVCONF_MAX_DEPTH: deeper Include chains make sshd refuse to start.
MAX_INCLUDE_DEPTH = 16
_COMMENT_MARK = "# ami-wizard: "

# --- keyword knowledge (checked against sshd -T of OpenSSH 9.2 in the tests) -------------

_YES_NO = frozenset({"yes", "no"})


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Keywords whose value accumulates over lines instead of first-value-wins.
_ACCUMULATING = frozenset(
    {
        "hostkey",
        "hostcertificate",
        "port",
        "listenaddress",
        "acceptenv",
        "subsystem",
        "allowusers",
        "denyusers",
        "allowgroups",
        "denygroups",
    }
)
# Of those, the ones sshd -T prints one argument per line (Subsystem is one line per entry).
_ONE_ARG_PER_LINE = _ACCUMULATING - {"subsystem", "listenaddress"}

# Keywords sshd accepts inside a (non-"all") Match block; others there make it refuse to start.
_MATCHABLE = _words(
    """
    permitrootlogin passwordauthentication kbdinteractiveauthentication
    challengeresponseauthentication pubkeyauthentication permitemptypasswords
    authorizedkeysfile x11forwarding allowtcpforwarding allowagentforwarding permittunnel
    gatewayports hostbasedauthentication ignorerhosts maxauthtries maxsessions
    clientaliveinterval clientalivecountmax x11uselocalhost x11displayoffset permittty
    permituserrc loglevel banner chrootdirectory forcecommand trustedusercakeys revokedkeys
    authorizedprincipalsfile authorizedkeyscommand authorizedkeyscommanduser
    authorizedprincipalscommand authorizedprincipalscommanduser authenticationmethods
    permitopen permitlisten disableforwarding gssapiauthentication kerberosauthentication
    acceptenv allowusers denyusers allowgroups denygroups setenv ipqos rekeylimit
    streamlocalbindunlink allowstreamlocalforwarding exposeauthinfo pubkeyacceptedalgorithms
    hostbasedacceptedalgorithms casignaturealgorithms pubkeyauthoptions logverbose
    channeltimeout unusedconnectiontimeout include match
    """
)

_FLAGS = _words(
    """
    passwordauthentication kbdinteractiveauthentication challengeresponseauthentication
    pubkeyauthentication permitemptypasswords usedns x11forwarding allowagentforwarding
    hostbasedauthentication ignorerhosts ignoreuserknownhosts strictmodes printmotd
    printlastlog tcpkeepalive x11uselocalhost permittty permituserrc usepam disableforwarding
    gssapiauthentication gssapicleanupcredentials gssapistrictacceptorcheck
    kerberosauthentication kerberosorlocalpasswd kerberosticketcleanup exposeauthinfo
    streamlocalbindunlink hostbasedusesnamefrompacketonly
    """
)

# Multi-state keywords: accepted spelling (lower-case) -> canonical spelling.
_MULTISTATE: dict[str, dict[str, str]] = {
    "permitrootlogin": {
        "yes": "yes",
        "no": "no",
        "prohibit-password": "prohibit-password",
        "without-password": "prohibit-password",
        "forced-commands-only": "forced-commands-only",
    },
    "allowtcpforwarding": {
        "yes": "yes",
        "all": "yes",
        "no": "no",
        "local": "local",
        "remote": "remote",
    },
    "allowstreamlocalforwarding": {
        "yes": "yes",
        "all": "yes",
        "no": "no",
        "local": "local",
        "remote": "remote",
    },
    "gatewayports": {"yes": "yes", "no": "no", "clientspecified": "clientspecified"},
    "compression": {"yes": "yes", "delayed": "yes", "no": "no"},
    "addressfamily": {"any": "any", "inet": "inet", "inet6": "inet6"},
}
# PermitTunnel is parsed with strcmp by sshd, so its values are case-sensitive.
_PERMITTUNNEL = frozenset({"yes", "no", "point-to-point", "ethernet"})
_TIMES = frozenset({"logingracetime", "clientaliveinterval"})
_INTS = frozenset({"maxauthtries", "maxsessions", "clientalivecountmax", "x11displayoffset"})
_UPPER = frozenset({"loglevel", "syslogfacility"})
# Single-argument keywords: more arguments make sshd refuse the line.
_SINGLE = (
    _FLAGS
    | set(_MULTISTATE)
    | {"permittunnel"}
    | _TIMES
    | _INTS
    | _UPPER
    | _words(
        """
        pidfile banner chrootdirectory trustedusercakeys revokedkeys authorizedprincipalsfile
        authorizedkeyscommanduser authorizedprincipalscommanduser maxstartups ciphers macs
        kexalgorithms hostkeyalgorithms pubkeyacceptedalgorithms hostbasedacceptedalgorithms
        casignaturealgorithms xauthlocation modulifile hostkeyagent
        """
    )
)
# Keywords whose raw rest-of-line is the value (quotes kept): not compared with sshd -T.
_REST_OF_LINE = frozenset(
    {"forcecommand", "authorizedkeyscommand", "authorizedprincipalscommand", "versionaddendum"}
)

# Spelling used when the model writes a keyword.
_DISPLAY = {
    k.lower(): k
    for k in _words(
        """
    PermitRootLogin PasswordAuthentication KbdInteractiveAuthentication
    ChallengeResponseAuthentication PubkeyAuthentication PermitEmptyPasswords UseDNS
    AuthorizedKeysFile HostKey PidFile Port ListenAddress AcceptEnv Subsystem AllowUsers
    DenyUsers AllowGroups DenyGroups X11Forwarding AllowTcpForwarding AllowAgentForwarding
    PermitTunnel GatewayPorts PermitUserEnvironment HostbasedAuthentication IgnoreRhosts
    StrictModes MaxAuthTries MaxSessions LoginGraceTime ClientAliveInterval
    ClientAliveCountMax PrintMotd PrintLastLog TCPKeepAlive X11UseLocalhost X11DisplayOffset
    PermitTTY PermitUserRC UsePAM LogLevel SyslogFacility Banner ChrootDirectory ForceCommand
    TrustedUserCAKeys RevokedKeys AuthorizedPrincipalsFile AuthorizedKeysCommand
    AuthorizedKeysCommandUser AuthenticationMethods MaxStartups PermitOpen PermitListen
    Compression DisableForwarding HostCertificate Include Match
    """
    )
}

# Old spellings sshd still accepts, mapped to the option they set (servconf.c keywords table).
_ALIASES_ALWAYS = {
    "dsaauthentication": "pubkeyauthentication",
    "pubkeyacceptedkeytypes": "pubkeyacceptedalgorithms",
    "hostbasedacceptedkeytypes": "hostbasedacceptedalgorithms",
}
# Since OpenSSH 8.7 ChallengeResponseAuthentication is another name for KbdInteractive...
_ALIASES_SINCE_8_7 = {
    "challengeresponseauthentication": "kbdinteractiveauthentication",
    "skeyauthentication": "kbdinteractiveauthentication",
}

# Every keyword sshd 9.2 knows (plus a few newer/older ones), for "unknown keyword" problems.
_KNOWN_KEYWORDS = _words(
    """
        port addressfamily listenaddress usepam logingracetime x11displayoffset maxauthtries
        maxsessions clientaliveinterval clientalivecountmax requiredrsasize
        streamlocalbindmask unusedconnectiontimeout permitrootlogin ignorerhosts
        ignoreuserknownhosts hostbasedauthentication hostbasedusesnamefrompacketonly
        pubkeyauthentication kerberosauthentication kerberosorlocalpasswd
        kerberosticketcleanup kerberosgetafstoken gssapiauthentication
        gssapicleanupcredentials gssapikeyexchange gssapistrictacceptorcheck
        gssapistorecredentialsonrekey gssapikexalgorithms passwordauthentication
        kbdinteractiveauthentication challengeresponseauthentication skeyauthentication
        printmotd printlastlog x11forwarding x11uselocalhost permittty permituserrc
        strictmodes tcpkeepalive keepalive permitemptypasswords compression gatewayports
        usedns allowtcpforwarding allowagentforwarding disableforwarding
        allowstreamlocalforwarding streamlocalbindunlink fingerprinthash exposeauthinfo
        pidfile modulifile xauthlocation ciphers macs banner forcecommand chrootdirectory
        trustedusercakeys revokedkeys securitykeyprovider authorizedprincipalsfile
        versionaddendum authorizedkeyscommand authorizedkeyscommanduser
        authorizedprincipalscommand authorizedprincipalscommanduser hostkeyagent
        kexalgorithms casignaturealgorithms hostbasedacceptedalgorithms hostkeyalgorithms
        pubkeyacceptedalgorithms pubkeyacceptedkeytypes hostbasedacceptedkeytypes loglevel
        syslogfacility authorizedkeysfile authorizedkeysfile2 hostkey hostcertificate
        authenticationmethods maxstartups persourcemaxstartups persourcenetblocksize
        permittunnel ipqos rekeylimit permitopen permitlisten permituserenvironment
        pubkeyauthoptions acceptenv setenv allowusers denyusers allowgroups denygroups
        subsystem match include logverbose channeltimeout dsaauthentication protocol
        useprivilegeseparation uselogin keyregenerationinterval serverkeybits
        rsaauthentication rhostsrsaauthentication rhostsauthentication
        pamauthenticationviakbdint reversemappingcheck verifyreversemapping debianbanner
        persourcepenalties persourcepenaltyexemptlist refuseconnection sshdsessionpath
        sshdauthpath afstokenpassing kerberostgtpassing kerberosticketcleanup
        """
)

_TIME_RE = re.compile(r"(\d+)([smhdwSMHDW]?)")
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


# --- public value types ------------------------------------------------------------------


@dataclass(frozen=True)
class Directive:
    """One keyword line as sshd reads it (after Include expansion).

    `match` is the Match criteria in force (None = global). Criteria of nested blocks (a
    Match inside a file Included from a Match block) are joined with " && "; "all" means
    the line applies to every connection.
    """

    keyword: str
    args: tuple[str, ...]
    path: str
    line: int
    match: str | None = None
    # The same criteria as (attribute, pattern list) pairs, all of which must hold; () for
    # global and `Match all` lines. Derived from `match`, so not part of equality.
    criteria: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def is_global(self) -> bool:
        return self.match is None

    @property
    def applies_to_all(self) -> bool:
        """True for lines that hold for every connection: global, or under `Match all`."""
        return self.match is None or self.match == "all"

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Setting:
    """The effective global value of one keyword and where it came from."""

    keyword: str
    value: tuple[str, ...]
    source: Directive | None
    overrides: tuple[Directive, ...] = ()

    def text(self) -> str:
        return " ".join(self.value)

    def where(self) -> str:
        return self.source.where() if self.source is not None else "default"


@dataclass(frozen=True)
class Disagreement:
    """A keyword where the model and `sshd -T` differ (value lines, canonical spellings)."""

    keyword: str
    model: tuple[str, ...]
    sshd_t: tuple[str, ...]


@dataclass(frozen=True)
class Placement:
    """Where a new global directive must go to take effect.

    Insert before `line_index` (0-based) of `path`; `new_file` says the file does not exist
    yet (a drop-in that sshd's Include will pick up first).
    """

    path: str
    line_index: int
    new_file: bool = False


@dataclass(frozen=True)
class OpenSshVersion:
    """The parts of an OpenSSH version string that change defaults."""

    major: int
    minor: int
    distro: str | None = None

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)


def parse_version(version: str | None) -> OpenSshVersion:
    """Read "OpenSSH_9.2p1 Debian-2+deb12u3" or "9.2p1"; None or garbage means recent."""
    if not version:
        return OpenSshVersion(99, 0)
    found = re.search(r"(\d+)\.(\d+)", version)
    lowered = version.lower()
    distro = next((d for d in ("debian", "ubuntu") if d in lowered), None)
    if found is None:
        return OpenSshVersion(99, 0, distro)
    return OpenSshVersion(int(found.group(1)), int(found.group(2)), distro)


def defaults(version: str | None) -> dict[str, tuple[str, ...]]:
    """Compiled-in defaults (canonical spellings) of the keywords this model knows."""
    v = parse_version(version)
    table: dict[str, tuple[str, ...]] = {
        "port": ("22",),
        "permitrootlogin": ("prohibit-password",) if v.at_least(7, 0) else ("yes",),
        "usedns": ("no",) if v.at_least(6, 8) else ("yes",),
        "passwordauthentication": ("yes",),
        "pubkeyauthentication": ("yes",),
        "permitemptypasswords": ("no",),
        "authorizedkeysfile": (".ssh/authorized_keys", ".ssh/authorized_keys2"),
        # sshd keeps only those default host keys that exist and are readable.
        "hostkey": tuple(f"{SSH_DIR}/ssh_host_{t}_key" for t in ("rsa", "ecdsa", "ed25519")),
        "pidfile": ("/run/sshd.pid",) if v.distro else ("/var/run/sshd.pid",),
        "x11forwarding": ("no",),
        "allowtcpforwarding": ("yes",),
        "allowagentforwarding": ("yes",),
        "allowstreamlocalforwarding": ("yes",),
        "permittunnel": ("no",),
        "gatewayports": ("no",),
        "permituserenvironment": ("no",),
        "hostbasedauthentication": ("no",),
        "ignorerhosts": ("yes",),
        "ignoreuserknownhosts": ("no",),
        "strictmodes": ("yes",),
        "maxauthtries": ("6",),
        "maxsessions": ("10",),
        "logingracetime": ("120",),
        "clientaliveinterval": ("0",),
        "clientalivecountmax": ("3",),
        "printmotd": ("yes",),
        "printlastlog": ("yes",),
        "tcpkeepalive": ("yes",),
        "x11uselocalhost": ("yes",),
        "x11displayoffset": ("10",),
        "permittty": ("yes",),
        "permituserrc": ("yes",),
        "usepam": ("no",),
        "loglevel": ("INFO",),
        "syslogfacility": ("AUTH",),
        "banner": ("none",),
        "chrootdirectory": ("none",),
        "forcecommand": ("none",),
        "trustedusercakeys": ("none",),
        "revokedkeys": ("none",),
        "authorizedprincipalsfile": ("none",),
        "authorizedkeyscommand": ("none",),
        "authorizedkeyscommanduser": ("none",),
        "authenticationmethods": ("any",),
        "maxstartups": ("10:30:100",),
        "permitopen": ("any",),
        "permitlisten": ("any",),
        "compression": ("yes",),
        "disableforwarding": ("no",),
        "addressfamily": ("any",),
        "gssapiauthentication": ("no",),
        "kerberosauthentication": ("no",),
        "exposeauthinfo": ("no",),
        "streamlocalbindunlink": ("no",),
        "hostbasedusesnamefrompacketonly": ("no",),
        "acceptenv": (),
        "allowusers": (),
        "denyusers": (),
        "allowgroups": (),
        "denygroups": (),
        "subsystem": (),
        "hostcertificate": (),
        "listenaddress": (),
    }
    if v.at_least(8, 7):
        table["kbdinteractiveauthentication"] = ("yes",)
    else:
        # Before 8.7 the two were separate options with these defaults.
        table["kbdinteractiveauthentication"] = ("no",)
        table["challengeresponseauthentication"] = ("yes",)
    return table


# --- line syntax (emulates servconf.c / misc.c) ------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    """What one physical line says; keyword is None for blank and comment lines."""

    keyword: str | None = None
    raw_keyword: str = ""
    args: tuple[str, ...] = ()
    rest: str = ""
    problem: str | None = None


def _strdelim(s: str) -> tuple[str | None, str | None]:
    """misc.c strdelim(): the first word (whitespace, a quote or one '=' ends it) and the rest."""
    ws = " \t\r\n"
    i = next((n for n, c in enumerate(s) if c in ws or c in '"='), -1)
    if i < 0:
        return s, None
    ch = s[i]
    if ch == '"':
        s = s[:i] + s[i + 1 :]
        end = s.find('"', i)
        if end < 0:
            return None, None  # unmatched quote: sshd skips the line silently
        word, rest = s[:end], s[end + 1 :]
        return word, rest.lstrip(ws)
    word, rest = s[:i], s[i + 1 :]
    rest = rest.lstrip(ws)
    if ch != "=" and rest.startswith("="):
        rest = rest[1:].lstrip(ws)
    return word, rest


def _argv_split(s: str) -> tuple[str, ...] | None:
    """misc.c argv_split() with comments: quotes, backslash escapes; None on an open quote."""
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        if s[i] in " \t":
            i += 1
            continue
        if s[i] == "#":
            break
        quote = ""
        arg: list[str] = []
        while i < n:
            c = s[i]
            if c == "\\" and i + 1 < n and (s[i + 1] in "'\"\\" or (not quote and s[i + 1] == " ")):
                i += 1
                arg.append(s[i])
            elif not quote and c in " \t":
                break
            elif not quote and c in "\"'":
                quote = c
            elif quote and c == quote:
                quote = ""
            else:
                arg.append(c)
            i += 1
        if quote:
            return None
        out.append("".join(arg))
    return tuple(out)


def _parse_line(content: str, aliases: Mapping[str, str]) -> _Parsed:
    s = content.lstrip(" \t\r").rstrip(" \t\r\n\f")
    if not s:
        return _Parsed()
    word, rest = _strdelim(s)
    if word == "" and rest is not None:
        word, rest = _strdelim(rest)
    if not word or word.startswith("#"):
        return _Parsed()
    lowered = word.lower()
    keyword = aliases.get(lowered, lowered)
    if not rest:
        return _Parsed(keyword, word, (), "", f'no argument after keyword "{word}"')
    args = _argv_split(rest)
    if args is None:
        return _Parsed(keyword, word, (), rest, "invalid quotes")
    if not args:
        return _Parsed(keyword, word, (), rest, f"missing argument for {word}")
    return _Parsed(keyword, word, args, rest)


# --- glob(3) over the keys of the file mapping -------------------------------------------


def _component_regex(pattern: str) -> re.Pattern[str]:
    """One path component of a glob(3) pattern as a regex (`*`, `?`, `[..]`, `\\` escapes)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                negate = body.startswith("!")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[{'^' if negate else ''}{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def glob_paths(pattern: str, paths: Iterable[str]) -> list[str]:
    """glob(3) without flags over `paths`: `*` stays in one component, leading dots need a
    literal dot, results sorted bytewise (sshd runs in the C locale)."""
    parts = [p for p in pattern.split("/") if p]
    if not _has_magic(pattern):
        norm = "/" + "/".join(parts) if pattern.startswith("/") else "/".join(parts)
        return [norm] if norm in set(paths) else []
    regexes = [(_component_regex(p), p) for p in parts]
    found: list[str] = []
    for path in paths:
        comps = [p for p in path.split("/") if p]
        if len(comps) != len(regexes) or path.startswith("/") != pattern.startswith("/"):
            continue
        ok = True
        for comp, (rx, raw) in zip(comps, regexes, strict=True):
            if comp.startswith(".") and not raw.startswith("."):
                ok = False
                break
            if rx.fullmatch(comp) is None:
                ok = False
                break
        if ok:
            found.append(path)
    return sorted(set(found), key=lambda p: p.encode("utf-8", "surrogateescape"))


def resolve_include(arg: str) -> str:
    """Where sshd looks for an Include argument: relative paths are under /etc/ssh."""
    if arg.startswith(("/", "~")):
        return arg
    return f"{SSH_DIR}/{arg}"


# --- values --------------------------------------------------------------------------------


def _convtime(s: str) -> str | None:
    pos, total = 0, 0
    if not s:
        return None
    for m in _TIME_RE.finditer(s):
        if m.start() != pos:
            return None
        total += int(m.group(1)) * _TIME_UNITS[m.group(2).lower()]
        pos = m.end()
    return str(total) if pos == len(s) else None


def _canon(keyword: str, args: Sequence[str]) -> tuple[tuple[str, ...], str | None]:
    """Canonical spelling of a value, and a problem text if sshd would refuse it."""
    args = tuple(args)
    if keyword in _SINGLE and len(args) > 1:
        return args, f"keyword {keyword} extra arguments at end of line"
    if not args:
        return args, None
    first = args[0]
    if keyword in _FLAGS:
        low = first.lower()
        return (low,), None if low in _YES_NO else f"bad {keyword} value {first!r}"
    if keyword in _MULTISTATE:
        canon = _MULTISTATE[keyword].get(first.lower())
        return (canon or first,), None if canon else f"bad {keyword} value {first!r}"
    if keyword == "permittunnel":
        return args, None if first in _PERMITTUNNEL else f"bad PermitTunnel argument {first}"
    if keyword in _TIMES:
        secs = _convtime(first)
        return ((secs,), None) if secs is not None else (args, f"bad time value {first!r}")
    if keyword in _INTS:
        return ((str(int(first)),), None) if first.isdigit() else (args, f"bad number {first!r}")
    if keyword in _UPPER:
        return (first.upper(),), None
    if keyword == "permituserenvironment" and first.lower() in _YES_NO:
        return (first.lower(),), None
    if keyword == "maxstartups" and first.isdigit():
        return (f"{first}:30:{first}",), None
    return args, None


def _canon_lines(keyword: str, lines: Sequence[str]) -> tuple[str, ...]:
    """Canonical form of sshd -T value lines (each line split on whitespace)."""
    if keyword == "authorizedkeysfile" or keyword == "subsystem":
        return tuple(" ".join(line.split()) for line in lines)
    out: list[str] = []
    for line in lines:
        toks = tuple(line.split())
        out.append(" ".join(_canon(keyword, toks)[0]) if toks else "")
    return tuple(out)


def _quote_arg(arg: str) -> str:
    if arg and not re.search(r"[\s\"'#\\=]", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def expand_tokens(pattern: str, user: str, home: str, uid: int) -> str:
    """Expand %h %u %U %% in an AuthorizedKeysFile pattern; relative results are under home.

    Unknown %-tokens are left as written (sshd would reject the file).
    """
    subs = {"h": home, "u": user, "U": str(uid), "%": "%"}
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%" and i + 1 < len(pattern) and pattern[i + 1] in subs:
            out.append(subs[pattern[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    result = "".join(out)
    if result.startswith("/"):
        return result
    return f"{home.rstrip('/')}/{result}"


# --- Match criteria: which connections a block can apply to --------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """match.c match_pattern(): only `*` and `?` are special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL)


def match_pattern_list(value: str, patterns: str, fold_case: bool = False) -> int:
    """match.c match_pattern_list(): 1 when a pattern matches and no `!pattern` does, -1 when a
    negated one matches, 0 when none matches (so a list of only negations never matches)."""
    if fold_case:
        value, patterns = value.lower(), patterns.lower()
    found = 0
    for pat in patterns.split(","):
        negated = pat.startswith("!")
        if _pattern_regex(pat[1:] if negated else pat).fullmatch(value):
            if negated:
                return -1
            found = 1
    return found


# Criteria whose patterns are compared without case (sshd lower-cases host names).
_FOLDED = frozenset({"host"})


def _may_match_someone(attr: str, patterns: str) -> bool:
    """Whether some value (an address, a host, a port, a user...) can satisfy the list.

    Exact for literal patterns; a wildcard pattern is assumed to match something unless the
    list negates everything (`!*`). Errs towards "yes": a false yes costs a warning, a false
    no would be a false PASS.
    """
    pats = patterns.split(",")
    negated = [p[1:] for p in pats if p.startswith("!")]
    positive = [p for p in pats if p and not p.startswith("!")]
    if not patterns or attr not in {
        "user",
        "group",
        "host",
        "address",
        "localaddress",
        "localport",
        "rdomain",
    }:
        return True  # no list, or a criterion this model does not know: assume it matches
    if any(set(n) == {"*"} for n in negated):
        return False
    fold = attr in _FOLDED
    return any("*" in p or "?" in p or match_pattern_list(p, patterns, fold) == 1 for p in positive)


def _always_matches(attr: str, patterns: str) -> bool:
    """Whether every connection satisfies the list: a bare `*` and no negation. (LocalPort
    takes one port number, not a pattern list; a Group needs the user's groups.)"""
    pats = patterns.split(",")
    lists = {"user", "host", "address", "localaddress", "rdomain"}
    return attr in lists and not any(p.startswith("!") for p in pats) and "*" in pats


def criteria_may_match(
    criteria: Sequence[tuple[str, str]], users: Iterable[str] | None = None
) -> bool:
    """Whether a Match block with these criteria can apply to some connection of one of
    `users` (None: any user)."""
    names = None if users is None else tuple(users)
    for attr, patterns in criteria:
        if attr == "user" and names is not None and patterns:
            if not any(match_pattern_list(u, patterns) == 1 for u in names):
                return False
        elif not _may_match_someone(attr, patterns):
            return False
    return True


def criteria_always_match(
    criteria: Sequence[tuple[str, str]], users: Iterable[str] | None = None
) -> bool:
    """Whether a Match block with these criteria applies to every connection of `users`."""
    names = None if users is None else tuple(users)
    for attr, patterns in criteria:
        if attr == "user" and names is not None and patterns:
            if not all(match_pattern_list(u, patterns) == 1 for u in names):
                return False
        elif not _always_matches(attr, patterns):
            return False
    return True


# --- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """A directive with the facts the model needs that are not part of the public record."""

    directive: Directive
    index_in_file: int  # 0-based physical line index
    valid: bool  # False when sshd would reject or ignore this line


# The Match criteria in force while reading: the joined text and the (attribute, patterns) pairs.
_Scope = tuple[str | None, tuple[tuple[str, str], ...]]


def _criteria(args: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """servconf.c match_cfg_line(): `all` alone, else attribute/pattern-list pairs, which the
    newer `attribute=patterns` spelling also gives. An attribute left without patterns is kept
    with "" (sshd refuses such a line; the judgement treats it as matching anything)."""
    if len(args) == 1 and args[0].lower() == "all":
        return ()
    out: list[tuple[str, str]] = []
    words = list(args)
    while words:
        word = words.pop(0)
        if word.startswith("#"):
            break
        attr, eq, value = word.partition("=")
        if not eq:
            value = words.pop(0) if words else ""
        out.append((attr.lower(), value))
    return tuple(out)


def _compose(outer: str | None, inner: str) -> str:
    """Criteria in force for a Match inside a file Included under `outer`."""
    if outer is None or outer == "all":
        return inner
    if inner == "all":
        return outer
    return f"{outer} && {inner}"


class SshdConfig:
    """A parsed sshd_config tree: directives in reading order, problems, effective values."""

    def __init__(
        self,
        files: Mapping[str, str],
        main: str,
        version: str | None,
        entries: tuple[_Entry, ...],
        problems: tuple[str, ...],
        lines: Mapping[str, tuple[str, ...]],
        include_patterns: tuple[str, ...],
    ) -> None:
        self.files = dict(files)
        self.main = main
        self.version = version
        self._entries = entries
        self.directives: tuple[Directive, ...] = tuple(e.directive for e in entries)
        self.problems = problems
        self._lines = dict(lines)
        self.include_patterns = include_patterns
        self._defaults = defaults(version)

    # -- parsing --

    @classmethod
    def parse(
        cls, files: Mapping[str, str], main: str = MAIN_CONFIG, version: str | None = None
    ) -> SshdConfig:
        """Parse `main` and what its Includes reach in `files`; never raises on bad text."""
        v = parse_version(version)
        aliases = dict(_ALIASES_ALWAYS)
        if v.at_least(8, 7):
            aliases.update(_ALIASES_SINCE_8_7)
        entries: list[_Entry] = []
        problems: list[str] = []
        split_cache: dict[str, tuple[str, ...]] = {}
        patterns: list[str] = []
        names = sorted(files)

        def lines_of(path: str) -> tuple[str, ...]:
            if path not in split_cache:
                split_cache[path] = tuple(files[path].split("\n"))
            return split_cache[path]

        def read(path: str, scope: _Scope, stack: tuple[str, ...]) -> None:
            # The main file is depth 0; sshd reads Includes down to depth 16 and refuses deeper.
            if len(stack) - 1 > MAX_INCLUDE_DEPTH:
                problems.append(f"{path}: too many recursive configuration includes")
                return
            physical = lines_of(path)
            current, crits = scope
            carry = ""
            carry_start = -1
            for idx, raw in enumerate(physical):
                # sshd drops everything from a NUL to the end of the line, newline included,
                # so the next line is glued on.
                if "\0" in raw:
                    problems.append(f"{path} line {idx + 1}: NUL byte; sshd joins the next line")
                    if carry_start < 0:
                        carry_start = idx
                    carry += raw.split("\0", 1)[0]
                    continue
                start = carry_start if carry_start >= 0 else idx
                content = carry + raw
                carry, carry_start = "", -1
                parsed = _parse_line(content, aliases)
                if parsed.keyword is None:
                    continue
                where = f"{path} line {start + 1}"
                kw = parsed.keyword
                if parsed.problem is not None:
                    problems.append(f"{where}: {parsed.problem}")
                if kw == "match":
                    crit = " ".join(parsed.args)
                    if len(parsed.args) == 1 and parsed.args[0].lower() == "all":
                        crit = "all"
                    elif len(parsed.args) % 2 == 1 and parsed.problem is None:
                        problems.append(f"{where}: bad Match condition")
                    if parsed.args:
                        current = _compose(scope[0], crit)
                        crits = scope[1] + _criteria(parsed.args)
                    d = Directive("match", parsed.args, path, start + 1, current, crits)
                    entries.append(_Entry(d, start, parsed.problem is None))
                    continue
                d = Directive(kw, parsed.args, path, start + 1, current, crits)
                valid = parsed.problem is None
                if kw not in _KNOWN_KEYWORDS:
                    problems.append(f"{where}: unknown keyword {parsed.raw_keyword!r}")
                    valid = False
                conditional = current is not None and current != "all"
                if conditional and kw not in _MATCHABLE and kw in _KNOWN_KEYWORDS:
                    problems.append(
                        f"{where}: {parsed.raw_keyword} is not allowed in a Match block"
                    )
                    valid = False
                if valid and kw != "include":
                    _, bad = _canon(kw, parsed.args)
                    if bad:
                        problems.append(f"{where}: {bad}")
                        valid = False
                entries.append(_Entry(d, start, valid))
                if kw == "include" and parsed.args:
                    for arg in parsed.args:
                        target = resolve_include(arg)
                        patterns.append(target)
                        matched = glob_paths(target, names)
                        if not matched and not _has_magic(target):
                            problems.append(f"{where}: Include target {target} not found")
                        for inc in matched:
                            if inc in stack:
                                problems.append(f"{where}: Include loop through {inc}")
                                continue
                            read(inc, (current, crits), (*stack, inc))
            if carry_start >= 0:
                parsed = _parse_line(carry, aliases)
                if parsed.keyword is not None:
                    problems.append(f"{path} line {carry_start + 1}: line cut by a NUL ignored")

        if main in files:
            read(main, (None, ()), (main,))
        else:
            problems.append(f"{main}: main configuration file not provided")
        for path in files:
            lines_of(path)
        return cls(
            files, main, version, tuple(entries), tuple(problems), split_cache, tuple(patterns)
        )

    # -- queries --

    def _canon_keyword(self, keyword: str) -> str:
        low = keyword.lower()
        low = _ALIASES_ALWAYS.get(low, low)
        if parse_version(self.version).at_least(8, 7):
            low = _ALIASES_SINCE_8_7.get(low, low)
        return low

    def _valid(self, keyword: str) -> list[_Entry]:
        return [e for e in self._entries if e.valid and e.directive.keyword == keyword]

    def _winners(self, keyword: str) -> list[Directive]:
        """The directives that make up the global value, per sshd's two-pass reading.

        First pass: global and `Match all` lines in order. Then sshd re-reads the file for
        the connection and copies what matching Match blocks set over the first pass, so a
        `Match all` line of a Match-able keyword beats a global line even when later.
        """
        kw = keyword
        seen = [e.directive for e in self._valid(kw) if e.directive.applies_to_all]
        if kw in _MATCHABLE:
            in_all = [d for d in seen if d.match == "all"]
            if in_all:
                seen = in_all
        if not seen:
            return []
        if kw in _ACCUMULATING:
            return seen
        return [seen[0]]

    def effective(self, keyword: str) -> Setting:
        """The value that holds for a connection no conditional Match block applies to."""
        kw = self._canon_keyword(keyword)
        winners = self._winners(kw)
        overrides = tuple(
            e.directive
            for e in self._valid(kw)
            if not e.directive.applies_to_all and kw in _MATCHABLE
        )
        if not winners:
            return Setting(kw, self._defaults.get(kw, ()), None, overrides)
        value: list[str] = []
        for d in winners:
            value.extend(_canon(kw, d.args)[0])
        return Setting(kw, tuple(value), winners[0], overrides)

    def in_match_blocks(self, keyword: str) -> tuple[Directive, ...]:
        """Valid `keyword` lines inside Match blocks (`Match all` included), in reading order:
        the order in which sshd's second pass, made for each connection, lets the first
        matching one win."""
        kw = self._canon_keyword(keyword)
        if kw not in _MATCHABLE:
            return ()
        return tuple(e.directive for e in self._valid(kw) if e.directive.match is not None)

    def values(self, keyword: str) -> tuple[Directive, ...]:
        """All valid directives for `keyword` that hold for every connection, in order."""
        kw = self._canon_keyword(keyword)
        return tuple(e.directive for e in self._valid(kw) if e.directive.applies_to_all)

    def host_keys(self) -> tuple[str, ...]:
        return self.effective("hostkey").value

    def authorized_keys_files(self) -> tuple[str, ...]:
        return self.effective("authorizedkeysfile").value

    def _model_lines(self, keyword: str) -> tuple[str, ...]:
        setting = self.effective(keyword)
        if keyword in _ONE_ARG_PER_LINE:
            return setting.value
        if keyword == "subsystem":
            winners = self._winners(keyword)
            return tuple(" ".join(d.args) for d in winners)
        return (" ".join(setting.value),)

    def cross_check(self, sshd_t: Mapping[str, Sequence[str]]) -> tuple[Disagreement, ...]:
        """Compare with `sshd -T` output (lower-case keyword -> value lines).

        Only keywords present in `sshd_t` that the model has a default for are compared;
        ListenAddress (sshd prints resolved addresses) and rest-of-line keywords are skipped.
        """
        out: list[Disagreement] = []
        for key in sorted(sshd_t):
            kw = key.lower()
            if kw not in self._defaults or kw in _REST_OF_LINE or kw == "listenaddress":
                continue
            theirs = _canon_lines(kw, list(sshd_t[key]))
            ours = _canon_lines(kw, self._model_lines(kw))
            # sshd keeps only the default host keys that exist: any ordered subset agrees.
            defaulted = kw == "hostkey" and self.effective(kw).source is None
            if defaulted and [k for k in ours if k in theirs] == list(theirs):
                continue
            if ours != theirs:
                out.append(Disagreement(kw, ours, theirs))
        return tuple(out)

    def render(self, path: str) -> str:
        """The text of `path` rebuilt from its parsed lines (identical when unchanged)."""
        if path in self._lines:
            return "\n".join(self._lines[path])
        return self.files.get(path, "")

    # -- edits --

    def _global_include_dropin(self, keyword: str) -> str | None:
        """A drop-in path that a global Include of the main file reads before the main
        file's own first global line for `keyword`, or None."""
        main_entries = [e for e in self._entries if e.directive.path == self.main]
        first_own = next(
            (
                e.index_in_file
                for e in main_entries
                if e.directive.keyword == keyword and e.directive.applies_to_all
            ),
            None,
        )
        for e in main_entries:
            d = e.directive
            if d.keyword == "match":
                break
            if d.keyword != "include" or not d.is_global:
                continue
            if first_own is not None and e.index_in_file > first_own:
                break
            for arg in d.args:
                target = resolve_include(arg)
                directory, _, last = target.rpartition("/")
                if not directory or _has_magic(directory) or not _has_magic(last):
                    continue
                if last == "*":
                    candidate = f"{directory}/{DROP_IN_NAME}.conf"
                elif last.startswith("*") and not _has_magic(last[1:]):
                    candidate = f"{directory}/{DROP_IN_NAME}{last[1:]}"
                else:
                    continue
                if glob_paths(target, [candidate]):
                    return candidate
        return None

    def placement(self, keyword: str) -> Placement:
        """Where a new global `keyword` line is read before the main file's own setting.

        A drop-in named to sort first in an Included directory when the main file Includes
        it before its own setting of the keyword; else the main file, before its first Match.
        """
        kw = self._canon_keyword(keyword)
        dropin = self._global_include_dropin(kw)
        if dropin is not None:
            return Placement(dropin, 0, dropin not in self.files)
        lines = self._lines.get(self.main, ("",))
        first_match = next(
            (
                e.index_in_file
                for e in self._entries
                if e.directive.path == self.main and e.directive.keyword == "match"
            ),
            None,
        )
        if first_match is None:
            # Before the empty string that follows a final newline, so the newline stays last.
            first_match = len(lines) - 1 if lines and lines[-1] == "" else len(lines)
        return Placement(self.main, first_match, False)

    def with_setting(self, keyword: str, args: tuple[str, ...]) -> dict[str, str]:
        """New texts of the files that change so `keyword` is globally `args`.

        The new line goes where `placement` says; lines that still win over it (global ones
        read earlier, `Match all` ones anywhere, and for accumulating keywords every other
        global one) are commented out. Match blocks for some connections are left alone.
        Raises UsageError for a value sshd would refuse, ApplyError if the result would not
        take effect (which means a bug here, never a half-done edit).
        """
        kw = self._canon_keyword(keyword)
        _, bad = _canon(kw, args)
        if not args or bad or kw in {"include", "match"} or kw not in _KNOWN_KEYWORDS:
            raise UsageError(f"cannot set {keyword} to {' '.join(args)!r}: {bad or 'refused'}")
        where = self.placement(kw)
        texts: dict[str, list[str]] = {p: list(ls) for p, ls in self._lines.items()}
        if where.new_file or where.path not in texts:
            texts[where.path] = [""]
        changed: set[str] = {where.path}

        name = _DISPLAY.get(kw) or next(
            (_raw_keyword(self._lines, e) for e in self._entries if e.directive.keyword == kw),
            kw,
        )
        target = texts[where.path]
        eol = "\r" if _uses_crlf(target) else ""
        if kw in {"hostkey", "hostcertificate", "port", "listenaddress"}:
            new = [f"{name} {_quote_arg(a)}{eol}" for a in args]
        else:
            new = [f"{name} {' '.join(_quote_arg(a) for a in args)}{eol}"]
        first_new = where.line_index
        if where.new_file:
            new = [f"# Written by ami-wizard: read first, so it takes effect.{eol}", *new]
            first_new += 1
        target[where.line_index : where.line_index] = new
        ours = range(first_new + 1, where.line_index + len(new) + 1)  # 1-based line numbers

        def is_ours(d: Directive) -> bool:
            return d.path == where.path and d.line in ours

        # Re-read and disable whatever still beats the new line, until it wins. Each round
        # comments out at least one line, so this ends.
        for _ in range(len(self._entries) + 2):
            cfg = SshdConfig.parse(
                {p: "\n".join(ls) for p, ls in texts.items()}, self.main, self.version
            )
            if not any(is_ours(d) for d in cfg.values(kw)):
                break  # the new line is not read at all: placement is wrong
            beaten = [d for d in cfg._winners(kw) if not is_ours(d)]
            if not beaten:
                return {p: "\n".join(texts[p]) for p in sorted(changed)}
            if kw not in _ACCUMULATING:
                beaten = beaten[:1]
            for d in beaten:
                lines = texts[d.path]
                line = lines[d.line - 1]
                indent = line[: len(line) - len(line.lstrip(" \t"))]
                lines[d.line - 1] = indent + _COMMENT_MARK + line[len(indent) :]
                changed.add(d.path)
        raise ApplyError(f"could not place {name} so that it takes effect")


def _raw_keyword(lines: Mapping[str, tuple[str, ...]], e: _Entry) -> str:
    text = lines[e.directive.path][e.index_in_file]
    parsed = _parse_line(text, {})
    return parsed.raw_keyword or e.directive.keyword


def _uses_crlf(lines: Sequence[str]) -> bool:
    body = lines[:-1] if lines and lines[-1] == "" else lines
    return bool(body) and sum(ln.endswith("\r") for ln in body) * 2 > len(body)


def parse_sshd_t(output: str) -> dict[str, list[str]]:
    """Turn `sshd -T` output into keyword -> value lines for `SshdConfig.cross_check`."""
    result: dict[str, list[str]] = {}
    # Only "\n" ends a line: a value may hold any other control character (a Banner path).
    for line in output.split("\n"):
        key, _, value = line.strip().partition(" ")
        if key:
            result.setdefault(key.lower(), []).append(value.strip())
    return result


def load_tree(root: str | Path, main: str = MAIN_CONFIG, max_files: int = 512) -> dict[str, str]:
    """Read `main` and every file its Includes reach from a directory tree (an image root).

    Kept apart from the model, which stays pure; paths in the result are as seen from root.
    """
    base = Path(root)
    files: dict[str, str] = {}

    def fetch(path: str) -> None:
        if path in files or len(files) >= max_files:
            return
        local = base / path.lstrip("/")
        try:
            if local.is_file():
                files[path] = local.read_bytes().decode("utf-8", "surrogateescape")
        except OSError as exc:
            log.warning("cannot read %s: %s", local, exc)

    fetch(main)
    seen: set[str] = set()
    while True:
        patterns = set(SshdConfig.parse(files, main).include_patterns) - seen
        if not patterns:
            return files
        for pattern in sorted(patterns):
            seen.add(pattern)
            if pattern.startswith("~"):
                continue
            parts = [p for p in pattern.split("/") if p]
            for found in _disk_glob(base, parts):
                fetch("/" + "/".join(found))


def _disk_glob(base: Path, parts: list[str]) -> list[list[str]]:
    """Expand glob components one directory at a time under `base` (no symlink escapes)."""
    results: list[list[str]] = [[]]
    for part in parts:
        nxt: list[list[str]] = []
        for prefix in results:
            here = base.joinpath(*prefix) if prefix else base
            if not _has_magic(part):
                if (here / part).exists():
                    nxt.append([*prefix, part])
                continue
            try:
                children = sorted(c.name for c in here.iterdir())
            except OSError:
                continue
            for child in glob_paths(part, children):
                nxt.append([*prefix, child])
        results = nxt
    return [r for r in results if base.joinpath(*r).is_file()]


__all__ = [
    "MAIN_CONFIG",
    "Directive",
    "Disagreement",
    "OpenSshVersion",
    "Placement",
    "Setting",
    "SshdConfig",
    "criteria_always_match",
    "criteria_may_match",
    "defaults",
    "expand_tokens",
    "glob_paths",
    "load_tree",
    "match_pattern_list",
    "parse_sshd_t",
    "parse_version",
    "resolve_include",
]
