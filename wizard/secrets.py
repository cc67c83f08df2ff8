"""Safe text for every output: secrets masked (only the first four characters survive),
bytes from the target that are not UTF-8 and control characters shown as `\\xNN`."""

from __future__ import annotations

import re

MASK = "****"


def mask(secret: str, keep: int = 4) -> str:
    """Return the first `keep` characters of `secret` followed by a fixed mask.

    The mask has a fixed length so the output does not reveal the secret's length.
    """
    if not secret:
        return ""
    return secret[:keep] + MASK


_SCRUB = (
    # AWS access key ids
    re.compile(r"\b((?:AKIA|ASIA)[A-Z0-9]{16})\b"),
    # the value of an AWS secret key or session token assignment
    re.compile(
        r"(?i)(?:aws_secret_access_key|aws_session_token|secretaccesskey)[\"']?\s*[=:]\s*[\"']?"
        r"([A-Za-z0-9/+=]{12,})"
    ),
    # a long opaque value assigned to something named like a secret (not prose: no spaces)
    re.compile(r"(?i)(?:password|passwd|token|secret)[\"']?=[\"']?([A-Za-z0-9/+=_\-.]{12,})"),
)


def scrub(text: str) -> str:
    """Mask anything in `text` that looks like a secret: a last line of defence for outputs.

    Checks mask what they report already; this catches a secret that reached an output some
    other way (a summary quoting a file line, an error message).
    """
    for pattern in _SCRUB:
        text = pattern.sub(lambda m: m[0].replace(m[1], mask(m[1])), text)
    return text


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
