"""Hostile instances against apply: an unprivileged local user plants the trap, the wizard
(as root) applies, and nothing outside the planted files may change.

Each test hashes the root-owned files that matter before and after, and reads the operator's
journal for content that must never reach it (issue 10, items 2, 3, 6, 10 and 17).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from pathlib import Path

import checks
from tests.integration.instance import Instance
from wizard.facts import AuthorizedKeysFile, FileInfo
from wizard.model import Status
from wizard.session import Session
from wizard.targets import Target

# Root's files an attack would aim at; their bytes must be the same after every attack.
PRECIOUS = [
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/passwd",
    "/etc/ssl/private/server.key",
    "/etc/skel/.bashrc",
    "/root/.profile",
    "/usr/local/lib/precious/share/fish/fish_history",
]
ROOT_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIB\n"
MALLORY_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQ\n"
AWS = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"


def as_mallory(inst: Instance, script: str) -> None:
    """Run a shell script inside the instance as the unprivileged user mallory."""
    script = 'HOME=/home/mallory; cd "$HOME"; ' + script
    inst.exec(
        ["setpriv", "--reuid=mallory", "--regid=mallory", "--init-groups", "sh", "-euc", script]
    )


def hashes(inst: Instance) -> dict[str, str]:
    return {p: hashlib.sha256(inst.read(p)).hexdigest() for p in PRECIOUS}


def prepare(inst: Instance) -> dict[str, str]:
    """mallory, and root's precious files (a TLS key, a non-history file named like one)."""
    inst.useradd("mallory")
    inst.write("/etc/ssl/private/server.key", ROOT_KEY, mode=0o600)
    inst.write("/usr/local/lib/precious/share/fish/fish_history", "root's own data\n", mode=0o600)
    return hashes(inst)


def journal_text(session: Session) -> str:
    """Everything the session wrote to the operator's journal."""
    assert session._journal is not None
    return "\n".join(
        p.read_text(errors="replace") for p in Path(session._journal.dir).rglob("*") if p.is_file()
    )


def test_directory_swapped_for_a_symlink_after_the_probe_redirects_no_delete(
    instance: Instance, ssh_target: Target
) -> None:
    inst = instance
    before = prepare(inst)
    as_mallory(
        inst,
        f"mkdir -p ~/keys && printf '%s' '{MALLORY_KEY}' > ~/keys/server.key"
        f" && mkdir -p /tmp/drop/.aws && printf '%s' '{AWS}' > /tmp/drop/.aws/credentials",
    )
    session = Session(ssh_target)
    found = {c.file.path for c in session.audit().facts.credentials}
    assert {"/home/mallory/keys/server.key", "/tmp/drop/.aws/credentials"} <= found
    # A file in a world-writable directory is never deleted without naming its owner.
    preview = session.preview("bundle-credentials", "delete")
    # Between probe and apply: the probed directories become symlinks to root's.
    as_mallory(
        inst,
        "mv ~/keys ~/keys.old && ln -s /etc/ssl/private ~/keys"
        " && mv /tmp/drop/.aws /tmp/drop/aws.old && ln -s /root /tmp/drop/.aws",
    )
    inst.write("/root/credentials", "root's\n", mode=0o600)
    root_file = hashlib.sha256(inst.read("/root/credentials")).hexdigest()
    outcome = session.apply(
        {"bundle-credentials": "delete"}, include_final=True, confirm_irreversible=True
    )
    (check,) = outcome.checks
    assert check.error is not None and "is a symlink" in check.error
    assert hashes(inst) == before
    assert hashlib.sha256(inst.read("/root/credentials")).hexdigest() == root_file
    assert check.after is Status.FAIL  # mallory's own files are still there and still count
    assert "/tmp/drop/.aws/credentials (owner mallory)" in preview.text


def test_file_replaced_after_the_probe_is_refused(instance: Instance, ssh_target: Target) -> None:
    inst = instance
    prepare(inst)
    as_mallory(inst, f"mkdir -p ~/.aws && printf '%s' '{AWS}' > ~/.aws/credentials")
    session = Session(ssh_target)
    session.audit()
    # Another file under the same name: not the one the operator was shown.
    as_mallory(inst, f"rm ~/.aws/credentials && printf '%s#' '{AWS}' > ~/.aws/credentials")
    outcome = session.apply(
        {"bundle-credentials": "delete"}, include_final=True, confirm_irreversible=True
    )
    (check,) = outcome.checks
    assert check.error is not None and "not the file probed" in check.error
    assert inst.read("/home/mallory/.aws/credentials") == (AWS + "#").encode()


def test_history_shred_never_follows_a_planted_link(instance: Instance, ssh_target: Target) -> None:
    inst = instance
    before = prepare(inst)
    as_mallory(
        inst,
        "ln -s /etc/shadow ~/.bash_history && ln -s /usr/local/lib/precious ~/.local"
        " && ln -s /etc/skel/.bashrc ~/.viminfo && echo 'ls' > ~/.python_history",
    )
    session = Session(ssh_target)
    session.audit()
    # Found only at shred time in mallory's home, not mallory's: not mallory's history.
    inst.write("/home/mallory/.lesshst", "root's\n", mode=0o600)
    outcome = session.apply(
        {"shell-history": "shred"}, include_final=True, confirm_irreversible=True
    )
    assert outcome.checks[0].error is None, outcome.checks[0].error
    assert hashes(inst) == before
    assert inst.read("/home/mallory/.lesshst") == b"root's\n"
    assert not inst.exists("/home/mallory/.python_history")  # mallory's own: shredded


def test_authorized_keys_file_outside_homes_is_never_deleted_or_journaled(
    instance: Instance, ssh_target: Target
) -> None:
    inst = instance
    before = prepare(inst)
    config = inst.read("/etc/ssh/sshd_config").decode()
    inst.write(
        "/etc/ssh/sshd_config",
        "AuthorizedKeysFile .ssh/authorized_keys /etc/shadow /etc/ssl/private/server.key\n"
        + config,
    )
    as_mallory(
        inst,
        "mkdir -p ~/.ssh && echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA x' >> ~/.ssh/authorized_keys",
    )
    session = Session(ssh_target)
    before_result = session.audit()
    facts = before_result.facts
    # First line of defence: the probe never lists (or reads) such a file as authorized_keys.
    paths = {f.file.path for f in facts.authorized_keys}
    assert not {"/etc/shadow", "/etc/ssl/private/server.key"} & paths
    refused = {r.resolved for r in facts.authorized_keys_refused}
    assert {"/etc/shadow", "/etc/ssl/private/server.key"} <= refused
    # Second line: even facts that did list them (an older probe, a hand-made plan) never make
    # the applier delete or journal them.
    planted = tuple(
        AuthorizedKeysFile(file=FileInfo(path=p), user="root")
        for p in ("/etc/shadow", "/etc/ssl/private/server.key")
    )
    facts = dataclasses.replace(facts, authorized_keys=facts.authorized_keys + planted)
    session.before = dataclasses.replace(
        before_result, facts=facts, findings=tuple(checks.run_checks(facts))
    )
    outcome = session.apply({"authorized-keys": "clear"}, include_final=True)
    assert outcome.checks[0].error is None, outcome.checks[0].error
    assert hashes(inst) == before
    assert not inst.exists("/home/mallory/.ssh/authorized_keys")
    text = journal_text(session)
    shadow = inst.read("/etc/shadow").decode()
    root_hash = next(ln for ln in shadow.splitlines() if ln.startswith("root:")).split(":")[1]
    for secret in (shadow, root_hash, ROOT_KEY):
        assert secret not in text
    assert "/etc/shadow" not in text and "server.key" not in text


def test_move_onto_the_root_file_system_is_refused_and_still_counts(
    instance: Instance, ssh_target: Target
) -> None:
    inst = instance
    prepare(inst)
    as_mallory(inst, f"mkdir -p ~/.aws && printf '%s' '{AWS}' > ~/.aws/credentials")
    session = Session(ssh_target)
    session.audit()
    outcome = session.apply(
        {"bundle-credentials": "move-outside-bundle"}, include_final=True, confirm_irreversible=True
    )
    (check,) = outcome.checks
    assert check.error is not None and "file system mounted at /" in check.error
    assert check.after is Status.FAIL
    assert inst.exists("/home/mallory/.aws/credentials")
    assert not inst.exists("/mnt/ami-wizard-moved")


def test_disable_leaves_no_hash_in_shadow_or_its_backups(
    instance: Instance, ssh_target: Target
) -> None:
    inst = instance
    inst.exec(["chpasswd"], input=b"root:root-password-1\n")
    inst.useradd("carol", password="carol-password-1")
    inst.exec(["chpasswd"], input=b"carol:carol-password-2\n")
    assert "root:$" in inst.read("/etc/shadow-").decode()  # the backup holds a hash
    session = Session(ssh_target)
    session.audit()
    outcome = session.apply(
        {"root-password": "disable", "user-passwords": "disable"}, confirm_irreversible=True
    )
    assert all(c.error is None for c in outcome.checks), outcome.errors
    assert {c.after for c in outcome.checks} == {Status.PASS}
    entries = {
        ln.split(":")[0]: ln.split(":")[1] for ln in inst.read("/etc/shadow").decode().splitlines()
    }
    assert entries["root"] == "!*" and entries["carol"] == "!*"
    for backup in ("/etc/shadow-", "/etc/gshadow-", "/etc/passwd-", "/etc/group-"):
        assert not inst.exists(backup), backup
    text = journal_text(session)
    assert "$y$" not in text and "$6$" not in text
    assert "disable the password of carol" in text  # the fact only


def test_lock_keeps_no_unlocked_copy_in_the_backups(instance: Instance, ssh_target: Target) -> None:
    inst = instance
    inst.exec(["chpasswd"], input=b"root:root-password-1\n")
    session = Session(ssh_target)
    session.audit()
    outcome = session.apply({"root-password": "lock"})
    assert outcome.checks[0].error is None, outcome.errors
    root = next(
        ln for ln in inst.read("/etc/shadow").decode().splitlines() if ln.startswith("root:")
    )
    assert root.split(":")[1].startswith("!$")  # lock keeps the hash (the catalog says so)
    assert not inst.exists("/etc/shadow-")  # usermod's copy of the unlocked entry is gone
    assert session.undo().ok
    root = next(
        ln for ln in inst.read("/etc/shadow").decode().splitlines() if ln.startswith("root:")
    )
    assert root.split(":")[1].startswith("$")


def test_stale_temp_files_of_a_killed_run_are_swept(instance: Instance, ssh_target: Target) -> None:
    inst = instance
    prepare(inst)
    stale, fresh, other = (
        "/etc/ssh/.ami-wizard.Ab12Cd",
        "/etc/ssh/.ami-wizard.Ef34Gh",
        "/etc/ssh/.ami-wizard.notours",
    )
    for path in (stale, fresh, other):
        inst.write(path, "half-written\n", mode=0o600)
    inst.exec(["touch", "-d", "1 hour ago", stale, other])
    as_mallory(inst, "touch ~/.ami-wizard.Ij56Kl && touch -d '1 hour ago' ~/.ami-wizard.Ij56Kl")
    session = Session(ssh_target)
    session.audit()
    outcome = session.apply({"ssh-use-dns": "yes"})
    assert outcome.checks[0].error is None, outcome.errors
    assert not inst.exists(stale)
    assert inst.exists(fresh) and inst.exists(other)  # too young, or not our name
    assert inst.exists("/home/mallory/.ami-wizard.Ij56Kl")  # not in a directory we wrote to


def test_swapped_ssh_directory_is_neither_journaled_nor_deleted(
    instance: Instance, ssh_target: Target
) -> None:
    inst = instance
    prepare(inst)
    backup_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBACKUP root-backup\n"
    inst.write("/etc/ssh/keys-backup/authorized_keys", backup_key, mode=0o600)
    as_mallory(inst, "mkdir -p ~/.ssh && echo 'ssh-ed25519 AAAA x' > ~/.ssh/authorized_keys")
    session = Session(ssh_target)
    session.audit()
    as_mallory(inst, "mv ~/.ssh ~/.ssh.old && ln -s /etc/ssh/keys-backup ~/.ssh")
    outcome = session.apply({"authorized-keys": "clear"}, include_final=True)
    (check,) = outcome.checks
    assert check.error is not None and "is a symlink" in check.error
    assert inst.read("/etc/ssh/keys-backup/authorized_keys") == backup_key.encode()
    assert "BACKUP" not in journal_text(session)
    assert base64.b64encode(backup_key.encode()).decode() not in journal_text(session)
