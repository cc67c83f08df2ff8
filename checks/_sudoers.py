"""sudoers read the way sudo reads it, as far as password prompts go (a helper, not a check).

From /etc/sudoers, include lines are followed where they stand (`#include`/`@include FILE`,
`#includedir`/`@includedir DIR`: that directory's files in lexical order, skipping names with a
"." or ending in "~"; relative names are relative to the including file's directory), lines
ending in a backslash are joined, `User_Alias` names are expanded, and each user
specification whose commands carry the `NOPASSWD` tag, and each `Defaults` line that turns
`authenticate` off, is reported with the file and line that says so — unless a later line
restates it exactly with `PASSWD` (or `authenticate`): sudo uses the last entry that matches,
so that later line decides, and it is what the drop-in of the accounts-privilege fix writes.
Not modelled (reported as written): group members (`%group`), netgroups, host and runas
lists, negations (`!user` is ignored rather than subtracted), and later rules that override
only in part.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

MAIN = "/etc/sudoers"
_INCLUDE = re.compile(r"^[#@](include|includedir)\s+(.+?)\s*$")
_ALIAS = re.compile(r"^User_Alias\s+(.*)$")
_OTHER_ALIAS = re.compile(r"^(Runas|Host|Cmnd|Cmd)_Alias\s")
_DEFAULTS = re.compile(r"^Defaults([:@!>]\S+)?\s+(.*)$")


@dataclass(frozen=True)
class Rule:
    """A place where sudo grants commands without asking for a password."""

    path: str
    line: int
    principals: tuple[str, ...]  # user names, %groups, #uids, ALL (aliases expanded)
    all_commands: bool  # the passwordless commands include ALL
    text: str  # the line as written (no secret lives in sudoers rules)


def _strip_comment(line: str) -> str:
    """Drop a `#` comment (a `#` followed by digits is a uid, not a comment)."""
    out = []
    for i, ch in enumerate(line):
        if ch == "#" and not line[i + 1 : i + 2].isdigit():
            break
        out.append(ch)
    return "".join(out).strip()


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) with backslash continuations joined."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for number, raw in enumerate(text.split("\n"), 1):
        if not buf:
            start = number
        if raw.endswith("\\"):
            buf += raw[:-1] + " "
            continue
        out.append((start, buf + raw))
        buf = ""
    if buf:
        out.append((start, buf))
    return out


def _included(files: dict[str, str], kind: str, arg: str, here: str) -> list[str]:
    name = arg.strip('"')
    if not name.startswith("/"):
        name = posixpath.join(posixpath.dirname(here), name)
    name = posixpath.normpath(name)
    if kind == "include":
        return [name]
    prefix = name.rstrip("/") + "/"
    return sorted(
        p
        for p in files
        if p.startswith(prefix)
        and "/" not in p[len(prefix) :]
        and "." not in p[len(prefix) :]
        and not p.endswith("~")
    )


def read_order(files: dict[str, str], start: str = MAIN) -> list[tuple[str, int, str]]:
    """Every logical line sudo reads, in order: (file, line number, text without comment)."""
    out: list[tuple[str, int, str]] = []
    seen: set[str] = set()

    def walk(path: str, depth: int) -> None:
        if path in seen or path not in files or depth > 128:
            return
        seen.add(path)
        for number, line in logical_lines(files[path]):
            m = _INCLUDE.match(line.strip())
            if m:
                for name in _included(files, m[1], m[2], path):
                    walk(name, depth + 1)
                continue
            text = _strip_comment(line)
            if text:
                out.append((path, number, text))

    walk(start, 0)
    return out


def _split_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _aliases(lines: list[tuple[str, int, str]]) -> dict[str, list[str]]:
    aliases: dict[str, list[str]] = {}
    for _, _, text in lines:
        m = _ALIAS.match(text)
        if not m:
            continue
        for part in m[1].split(":"):
            name, _, members = part.partition("=")
            aliases[name.strip()] = _split_list(members)
    return aliases


def _expand(names: list[str], aliases: dict[str, list[str]], depth: int = 0) -> list[str]:
    out: list[str] = []
    for name in names:
        if name.startswith("!"):
            continue
        if name in aliases and depth < 16:
            out += _expand(aliases[name], aliases, depth + 1)
        else:
            out.append(name)
    return list(dict.fromkeys(out))


def _users_of(text: str) -> list[str]:
    """The user list of a user specification: everything before its host list."""
    lhs = re.sub(r"\s*,\s*", ",", text.split("=", 1)[0].strip())
    return _split_list(lhs.split()[0]) if lhs else []


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\s*([,:=()])\s*", r"\1", text)).strip()


def override(text: str) -> str:
    """The line that asks for the password again where `text` did not: the same
    specification with PASSWD for NOPASSWD (authenticate for !authenticate)."""
    if _DEFAULTS.match(text):
        return re.sub(r"!\s*authenticate\b", "authenticate", text)
    return re.sub(r"\bNOPASSWD\s*:", "PASSWD:", text)


def passwordless(files: dict[str, str]) -> list[Rule]:
    """Every user specification with NOPASSWD and every Defaults line with !authenticate
    that no later line restates with the password asked."""
    lines = read_order(files)
    later: dict[str, int] = {}
    for index, (_, _, text) in enumerate(lines):
        later[_norm(text)] = index
    rules = [
        rule
        for rule in _passwordless(lines)
        if later.get(_norm(override(rule.text)), -1) <= rule.index
    ]
    return [Rule(r.path, r.line, r.principals, r.all_commands, r.text) for r in rules]


@dataclass(frozen=True)
class _Found(Rule):
    index: int = 0  # its place in the read order


def _passwordless(lines: list[tuple[str, int, str]]) -> list[_Found]:
    aliases = _aliases(lines)
    rules: list[_Found] = []
    for index, (path, number, text) in enumerate(lines):
        if _ALIAS.match(text) or _OTHER_ALIAS.match(text):
            continue
        d = _DEFAULTS.match(text)
        if d:
            if re.search(r"(^|[\s,])!\s*authenticate\b", d[2]):
                scope = d[1] or ""
                who = _split_list(scope[1:]) if scope.startswith(":") else ["ALL"]
                rules.append(_Found(path, number, tuple(_expand(who, aliases)), True, text, index))
            continue
        if "=" not in text or "NOPASSWD" not in text:
            continue
        principals = tuple(_expand(_users_of(text), aliases))
        after = text.split("NOPASSWD", 1)[1]
        commands = re.sub(r"\bPASSWD\s*:.*", "", after)
        every = bool(re.search(r"\bALL\b", commands))
        rules.append(_Found(path, number, principals, every, text, index))
    return rules
