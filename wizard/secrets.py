"""Masking of secrets for every output: only the first four characters survive."""

from __future__ import annotations

MASK = "****"


def mask(secret: str, keep: int = 4) -> str:
    """Return the first `keep` characters of `secret` followed by a fixed mask.

    The mask has a fixed length so the output does not reveal the secret's length.
    """
    if not secret:
        return ""
    return secret[:keep] + MASK
