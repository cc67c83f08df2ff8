"""Safe text for every output: secrets masked (only the first four characters survive),
bytes from the target that are not UTF-8 and control characters shown as `\\xNN`.

`scrub` is the one masking function: formats, reports, dry-run and apply lines, CLI errors
and journal notes all pass through it."""

from __future__ import annotations

import re
from typing import Any

MASK = "****"


def mask(secret: str, keep: int = 4) -> str:
    """Return the first `keep` characters of `secret` followed by a fixed mask.

    The mask has a fixed length so the output does not reveal the secret's length.
    """
    if not secret:
        return ""
    return secret[:keep] + MASK


# Words that name a secret when a value is assigned to them (config files, env, flags).
_SECRET_NAMES = (  # a pattern, not a password
    r"(?:password|passwd|passphrase|pwd|token|secret|api[_-]?key|access[_-]?key)"  # noqa: S105
)
# A value: no quotes, spaces or separators, not a shell variable or placeholder.
_VALUE = r"(?![$%{<(\[])[^\s\"'`,;]"

_SCRUB = (
    # Tokens whose shape alone says what they are: GitHub (ghp_, gho_, ghu_, ghs_, ghr_ and
    # fine-grained github_pat_), GitLab personal tokens, Slack tokens, AWS access key ids.
    re.compile(r"(?<![A-Za-z0-9])(gh[pousr]_[A-Za-z0-9]{20,})"),
    re.compile(r"(?<![A-Za-z0-9])(github_pat_[A-Za-z0-9_]{20,})"),
    re.compile(r"(?<![A-Za-z0-9_-])(glpat-[A-Za-z0-9_-]{20,})"),
    re.compile(r"(?<![A-Za-z0-9_-])(xox[baprs]-[A-Za-z0-9-]{10,})"),
    re.compile(r"(?<![A-Za-z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])"),
    # the value of an AWS secret key or session token assignment
    re.compile(
        r"(?i)(?:aws_secret_access_key|aws_session_token|secretaccesskey)[\"']?\s*[=:]\s*[\"']?"
        r"([A-Za-z0-9/+=]{12,})"
    ),
    # a bare 40-character AWS secret access key: base64 alphabet with upper, lower and digits
    # (a hex SHA-1 has no upper case; longer base64 runs such as public keys do not match)
    re.compile(
        r"(?<![A-Za-z0-9/+=])((?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])"
        r"(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
    ),
    # `password=VALUE`, `TOKEN = VALUE` (sshd SetEnv, comments, env files)
    re.compile(rf"(?i){_SECRET_NAMES}[\"']?\s*=\s*[\"']?({_VALUE}{{8,}})"),
    # `"secret": "VALUE"` (JSON, quoted YAML) and `token:VALUE`
    re.compile(rf"(?i){_SECRET_NAMES}[\"']?\s*:\s*[\"']({_VALUE}{{8,}})"),
    re.compile(rf"(?i){_SECRET_NAMES}:({_VALUE}{{8,}})"),
    # `password: VALUE` in prose-like text only when VALUE looks made up (has a digit or sign)
    re.compile(rf"(?i){_SECRET_NAMES}[\"']?:\s+((?=\S*[0-9!#%&*+/=?@^~]){_VALUE}{{8,}})"),
    # `--password VALUE`, `-token VALUE` on a command line (e.g. an sshd ForceCommand)
    re.compile(rf"(?i)(?<![A-Za-z0-9])--?{_SECRET_NAMES}\s+[\"']?({_VALUE}{{6,}})"),
)


def scrub(text: str) -> str:
    """Mask anything in `text` that looks like a secret: the one function every output uses.

    Checks mask what they report already; this catches a secret that reached an output some
    other way (a dry-run diff of sshd_config, a summary quoting a file line, an error
    message, a journal note). Only the first four characters of a secret survive.
    """
    for pattern in _SCRUB:
        text = pattern.sub(lambda m: m[0].replace(m[1], mask(m[1])), text)
    return text


def scrub_tree(value: Any) -> Any:
    """`scrub` every string inside nested dicts, lists and tuples (keys too); other values
    are returned as they are. For JSON-ready data about to be written or shown."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_tree(k): scrub_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_tree(v) for v in value)
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    """Make target-supplied text safe to carry: valid UTF-8, no control characters, no secrets.

    File names arrive decoded with surrogateescape (any bytes); those bytes become `\\xNN`.
    """
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        raw = value.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    text = _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)
    return scrub(text)


def clean_lines(text: str) -> str:
    """`clean_text` for multi-line output (diffs, scripts): line breaks and tabs are kept,
    every other control character is escaped and every secret masked."""
    return "\n".join(
        "\t".join(clean_text(part) for part in line.split("\t")) for line in text.split("\n")
    )
