"""Secrets the operator chose to keep (key passphrases, sudo passwords) in the OS keyring.

Thin wrapper over `keyring` under one service name, so a missing or locked keyring
degrades to "not stored" instead of an error in the middle of a connection.
"""

from __future__ import annotations

import logging
import os

from wizard.errors import WizardError

log = logging.getLogger(__name__)

SERVICE = "ami-wizard"

# Kinds of secret, used as the first half of the keyring user name.
PASSPHRASE = "passphrase"  # noqa: S105 - a kind of secret, not a secret
SUDO = "sudo"


def _account(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def passphrase_name(key_path: str) -> str:
    """The keyring name of a key file's passphrase: its absolute, user-expanded path."""
    return os.path.abspath(os.path.expanduser(key_path))


def sudo_name(user: str, host: str) -> str:
    """The keyring name of a sudo password: `user@host` as the host was given."""
    return f"{user}@{host}"


def get_secret(kind: str, name: str) -> str | None:
    """Return the stored secret, or None when there is none or no usable keyring."""
    # keyring is imported on first use: it costs ~90 ms, and most runs never need it
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(SERVICE, _account(kind, name))
    except KeyringError as exc:
        # A missing keyring backend is normal on servers; it only means "not stored".
        log.debug("keyring unavailable for %s %s: %s", kind, name, type(exc).__name__)
        return None


def set_secret(kind: str, name: str, value: str) -> None:
    """Store a secret; raises WizardError when the keyring refuses."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, _account(kind, name), value)
    except KeyringError as exc:
        raise WizardError(f"cannot store the {kind} for {name} in the keyring — {exc}") from exc
