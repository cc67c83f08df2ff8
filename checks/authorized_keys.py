"""authorized-keys: no user's authorized_keys may travel inside a shared image.

Whoever holds a listed key could log in to every instance launched from the image.
"""

from __future__ import annotations

from dataclasses import replace

from checks._plans import option
from checks.base import catalog, unless_complete
from checks.registry import CheckMeta
from wizard.actions import Action, DeleteFile, Phase, PlanContext
from wizard.facts import AuthorizedKeysFile, Facts, PublicKey
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status

ID = "authorized-keys"
META = CheckMeta(
    id=ID,
    order=60,
    phase="final",
    final_order=2,
    needs=("authorized_keys", "authorized_keys_refused", "incomplete", "accounts"),
    actions=(DeleteFile,),
    launch_trace=True,
)


def key_detail(key: PublicKey) -> str:
    """`ssh-ed25519 SHA256:... comment`, plus a hint when the line carries options."""
    text = f"{key.key_type} {key.fingerprint}"
    if key.comment:
        text += f" {key.comment}"
    if key.options:
        text += " (with options)"
    return text


def check(facts: Facts) -> Finding:
    finding = _verdict(facts)
    # A setting that points sshd at a system file (/etc/shadow) or a private key is itself
    # dangerous evidence: the probe did not read that file, so the verdict cannot be pass.
    users: dict[tuple[str, str], list[str]] = {}
    for r in facts.authorized_keys_refused:
        users.setdefault((r.path, r.resolved), []).append(r.user)
    refused = tuple(
        Evidence(
            path,
            0,
            f"{', '.join(names)}: AuthorizedKeysFile names it"
            + (f" (leads to {resolved})" if resolved != path else "")
            + "; outside the homes and /etc/ssh or not a keys file, not read",
        )
        for (path, resolved), names in users.items()
    )
    if refused:
        finding = replace(finding, evidence=finding.evidence + refused)
    return unless_complete(finding, facts, "authorized_keys")


def _verdict(facts: Facts) -> Finding:
    entry = catalog()[ID]
    files = facts.authorized_keys
    if not files:
        return entry.finding(Status.PASS, _("no authorized_keys file found for any account"))
    with_keys = [f for f in files if f.keys]
    if not with_keys:
        evidence = [Evidence(f.file.path, 0, f"{f.user}: file present, no keys") for f in files]
        return entry.finding(
            Status.PASS, f"{len(files)} authorized_keys file(s) present but empty", evidence
        )
    evidence = [
        Evidence(key.path or f.file.path, key.line, f"{f.user}: {key_detail(key)}")
        for f in with_keys
        for key in f.keys
    ]
    users = sorted({f.user for f in with_keys})
    return entry.finding(
        Status.FAIL,
        f"{len(evidence)} key(s) would let their holders into every launch "
        f"(accounts: {', '.join(users)})",
        evidence,
    )


# Homes that are system directories: a file "in" them is not a user's own file.
_NOT_A_HOME = frozenset(
    {"", "/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/var", "/dev", "/proc", "/sys", "/boot"}
)


def deletable(facts: Facts, ak: AuthorizedKeysFile) -> bool:
    """True when the file is inside its account's home or under /etc/ssh. `AuthorizedKeysFile`
    can name any path (even /etc/shadow): what lies elsewhere is never deleted or journaled
    by this check, only reported (and so the check keeps failing)."""
    path = ak.file.path
    if path.startswith("/etc/ssh/"):
        return True
    account = facts.account(ak.user)
    home = account.home.rstrip("/") if account else ""
    return home not in _NOT_A_HOME and path.startswith(home + "/")


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """clear: delete every authorized_keys file inside a home or /etc/ssh (final phase: new
    logins fail afterwards). keep-and-exclude: nothing changes here; the files are on the
    bundle exclude list."""
    if option(ID, option_id) != "clear":
        return ()
    # Public keys are not secret, so these deletions are journaled and can be undone.
    return tuple(
        DeleteFile(check_id=ID, path=f.file.path, phase=Phase.FINAL, expect=f.file)
        for f in facts.authorized_keys
        if deletable(facts, f)
    )
