"""Masking of secrets for every output: only the first four characters survive."""

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
