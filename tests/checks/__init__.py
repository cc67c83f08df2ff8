"""Tests of the guideline checks: each feeds hand-built Facts to one pure check.

Small builders shared by those tests live here.
"""

from __future__ import annotations

from wizard.facts import Account, FileInfo, PasswordState, PublicKey


def account(
    name: str,
    uid: int,
    password: PasswordState = PasswordState.LOCKED,
    shell: str = "/bin/bash",
    scheme: str = "",
    home: str = "",
) -> Account:
    home = home or ("/root" if uid == 0 else f"/home/{name}")
    return Account(name, uid, uid, home, shell, password, scheme)


def file(path: str, size: int = 10, owner: str = "root", uid: int = 0) -> FileInfo:
    return FileInfo(path=path, size=size, mode=0o600, uid=uid, owner=owner)


def pubkey(path: str, line: int = 1, comment: str = "") -> PublicKey:
    return PublicKey(
        path, line, "ssh-ed25519", "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", comment
    )
