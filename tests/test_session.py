"""The apply session on the practice image: apply, verify, journal and undo on real files."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.demo import make_practice_image
from wizard.errors import UsageError
from wizard.journal import Journal, session_dir
from wizard.model import Status
from wizard.session import Session, recommended_choices, undo_session
from wizard.sessions import (
    TargetBusy,
    all_sessions,
    load_report_input,
    load_session,
    store_report_input,
    target_lock,
)
from wizard.targets.image import ImageTarget
from wizard.undo import UndoRefused

REVERSIBLE_FILES = [
    "etc/ssh/sshd_config",
    "etc/shadow",
    "etc/machine-id",
    "root/.ssh/authorized_keys",
    "home/admin/.ssh/authorized_keys",
]


@pytest.fixture
def practice(tmp_path: Path) -> Iterator[ImageTarget]:
    root = make_practice_image(str(tmp_path))
    yield ImageTarget(str(root), kind="demo", uri="demo")


def state(root: Path) -> dict[str, tuple[bytes, int] | None]:
    out: dict[str, tuple[bytes, int] | None] = {}
    for rel in [*REVERSIBLE_FILES, "etc/ssh/sshd_config.d/00-ami-wizard.conf"]:
        p = root / rel
        out[rel] = (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) if p.exists() else None
    return out


def test_recommended_on_practice_image_passes_then_undo_restores(practice: ImageTarget) -> None:
    root = Path(practice.root)
    original = state(root)
    session = Session(practice)
    before = session.audit()
    outcome = session.apply(recommended_choices(before), confirm_irreversible=True)
    assert outcome.ok, outcome.errors
    assert outcome.final_done and outcome.last_done
    after = {c.check_id: c.after for c in outcome.checks}
    for check_id in (
        "root-ssh-login",
        "ssh-password-auth",
        "root-password",
        "user-passwords",
        "authorized-keys",
        "ssh-host-keys",
        "bundle-credentials",
        "shell-history",
        "machine-id",
    ):
        assert after[check_id] is Status.PASS, (check_id, after[check_id])
    assert not (root / "home/bob/.$(touch PWNED)history").exists()
    assert not list(root.rglob("PWNED")) and not list(root.rglob(".ami-wizard.*"))
    assert outcome.exclude_file and Path(outcome.exclude_file).read_text().strip()
    # the journal: operator side, private
    jdir = session_dir(session.id)
    assert stat.S_IMODE(jdir.stat().st_mode) == 0o700
    for f in jdir.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    journal_text = b"".join(f.read_bytes() for f in jdir.iterdir())
    assert b"aws_secret_access_key" not in journal_text  # credentials are never journaled
    assert b"OPENSSH PRIVATE KEY" not in journal_text
    result = session.undo()
    assert result.ok and result.irreversible
    assert state(root) == original


def test_irreversible_steps_need_confirmation(practice: ImageTarget) -> None:
    session = Session(practice)
    session.audit()
    assert session.preview("bundle-credentials", "delete").irreversible
    outcome = session.apply({"bundle-credentials": "delete", "machine-id": "empty"})
    by_id = {c.check_id: c for c in outcome.checks}
    assert "not confirmed" in (by_id["bundle-credentials"].error or "")
    assert (Path(practice.root) / "home/admin/.aws/credentials").exists()
    assert by_id["machine-id"].after is Status.PASS


def test_preview_shows_exact_diff_and_changes_nothing(practice: ImageTarget) -> None:
    root = Path(practice.root)
    original = state(root)
    session = Session(practice)
    session.audit()
    pv = session.preview("ssh-password-auth", "disable")
    assert "+PasswordAuthentication no" in pv.text
    assert "-    PasswordAuthentication yes" in pv.text  # the Match block reopening it
    assert pv.refusal is None and not pv.irreversible
    assert state(root) == original


def test_undo_refuses_another_target_and_bad_ids(practice: ImageTarget, tmp_path: Path) -> None:
    session = Session(practice)
    session.audit()
    session.apply({"machine-id": "empty"})
    other = ImageTarget(str(make_practice_image(str(tmp_path))), kind="demo", uri="demo")
    with pytest.raises(UsageError):
        undo_session(session.id, other)
    with pytest.raises(UsageError):
        Journal.open("../../etc")
    assert os.path.getsize(Path(practice.root) / "etc/machine-id") == 0


def test_sshd_fixes_applied_one_call_at_a_time_all_stay(practice: ImageTarget) -> None:
    session = Session(practice)
    session.audit()
    for check_id, option_id in (
        ("root-ssh-login", "prohibit-password"),
        ("ssh-password-auth", "disable"),
        ("ssh-use-dns", "no"),
    ):
        assert session.apply({check_id: option_id}).ok
    dropin = (Path(practice.root) / "etc/ssh/sshd_config.d/00-ami-wizard.conf").read_text()
    for line in ("PermitRootLogin prohibit-password", "PasswordAuthentication no", "UseDNS no"):
        assert line in dropin
    final = {f.id: f.status for f in session.audit().findings}
    assert (
        final["root-ssh-login"] is final["ssh-password-auth"] is final["ssh-use-dns"] is Status.PASS
    )
    assert session.undo().ok
    assert not (Path(practice.root) / "etc/ssh/sshd_config.d/00-ami-wizard.conf").exists()


# --- undo knows history (issue 10, item 11) ---------------------------------------------

DROPIN = "etc/ssh/sshd_config.d/00-ami-wizard.conf"


def test_undo_twice_is_refused_and_keeps_a_later_fix(practice: ImageTarget) -> None:
    root = Path(practice.root)
    session = Session(practice)
    session.audit()
    assert session.apply({"machine-id": "empty"}).ok
    assert session.undo().ok
    # Later the operator empties it by hand again: a second undo must not put it back.
    (root / "etc/machine-id").write_bytes(b"")
    with pytest.raises(UndoRefused, match="already undone"):
        session.undo()
    assert (root / "etc/machine-id").read_bytes() == b""
    info = load_session(session.id)
    assert info.state == "undone"
    kinds = [ev.kind for ev in info.events]
    assert kinds.count("undo") == 1 and kinds.count("undo-refused") == 1


def test_undo_refuses_a_file_changed_since_the_session_wrote_it(practice: ImageTarget) -> None:
    root = Path(practice.root)
    original = state(root)
    session = Session(practice)
    session.audit()
    assert session.apply({"root-ssh-login": "prohibit-password", "machine-id": "empty"}).ok
    fixed = (root / DROPIN).read_text() + "# a later fix by hand\nMaxAuthTries 3\n"
    (root / DROPIN).write_text(fixed)
    with pytest.raises(UndoRefused, match=f"{DROPIN.split('/')[-1]} changed since session"):
        session.undo()
    # Refused means nothing at all was done, the unrelated machine-id included.
    assert (root / DROPIN).read_text() == fixed
    assert os.path.getsize(root / "etc/machine-id") == 0
    asked: list[str] = []
    kept = session.undo(force=True, confirm=lambda q: asked.append(q) or False)
    assert not kept.ok and "kept /" + DROPIN in kept.errors[0]
    assert (root / DROPIN).read_text() == fixed and asked
    assert (root / "etc/machine-id").read_bytes() == original["etc/machine-id"][0]  # type: ignore[index]
    assert load_session(session.id).state == "partial"
    forced = session.undo(force=True, confirm=lambda _q: True)
    assert forced.ok
    assert state(root) == original
    assert load_session(session.id).state == "undone"


def test_undo_of_an_older_session_names_the_newer_one(practice: ImageTarget) -> None:
    root = Path(practice.root)
    original = state(root)
    first = Session(practice)
    first.audit()
    assert first.apply({"root-ssh-login": "prohibit-password"}).ok
    second = Session(practice)
    second.audit()
    assert second.apply({"ssh-password-auth": "disable"}).ok
    with pytest.raises(UndoRefused, match=f"changed later by session {second.id}"):
        first.undo()
    assert "PasswordAuthentication no" in (root / DROPIN).read_text()
    assert second.undo().ok and first.undo().ok  # newest first: both come back
    assert state(root) == original


def test_one_lock_per_target(practice: ImageTarget) -> None:
    session = Session(practice)
    session.audit()
    assert session.apply({"machine-id": "empty"}).ok
    with target_lock(practice), pytest.raises(TargetBusy, match=f"\\(pid {os.getpid()}\\)"):
        session.undo()
    assert os.path.getsize(Path(practice.root) / "etc/machine-id") == 0
    assert session.undo().ok  # released: the next one runs


def test_session_states_and_counts(practice: ImageTarget) -> None:
    session = Session(practice)
    session.audit()
    assert session.apply({"machine-id": "empty", "root-ssh-login": "prohibit-password"}).ok
    info = load_session(session.id)
    assert (info.state, info.changes, info.target) == ("applied", 2, "demo")
    assert [s.id for s in all_sessions()] == [session.id]
    assert session.undo().ok and load_session(session.id).state == "undone"
    broken = Session(practice)
    broken.audit()
    machine_id = Path(practice.root) / "etc/machine-id"
    machine_id.unlink()
    machine_id.mkdir()  # not a file: the step refuses, nothing is changed
    assert not broken.apply({"machine-id": "empty"}).ok
    info = load_session(broken.id)
    assert (info.state, info.changes) == ("failed", 0)
    assert any(ev.kind == "note" and "not a file" in ev.text for ev in info.events)


# --- the state dir (issue 10, item 16) ---------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_state_dir_is_private_under_umask_000(practice: ImageTarget, isolated_home: Path) -> None:
    old = os.umask(0)
    try:
        session = Session(practice)
        session.audit()
        assert session.apply({"machine-id": "empty"}).ok
        session.undo()
    finally:
        os.umask(old)
    state_root = isolated_home / ".local/state/ami-wizard"
    for d in (
        isolated_home / ".local/state",
        state_root,
        state_root / "sessions",
        state_root / "locks",
        session_dir(session.id),
    ):
        assert _mode(d) == 0o700, d
    for f in [*session_dir(session.id).iterdir(), *(state_root / "locks").iterdir()]:
        assert _mode(f) == 0o600, f


def test_an_open_state_dir_is_tightened(practice: ImageTarget, isolated_home: Path) -> None:
    state_root = isolated_home / ".local/state/ami-wizard"
    (state_root / "sessions").mkdir(parents=True)
    for d in (state_root, state_root / "sessions"):
        os.chmod(d, 0o777)  # made by an older version under umask 000
    session = Session(practice)
    session.audit()
    assert session.apply({"machine-id": "empty"}).ok
    assert _mode(state_root) == _mode(state_root / "sessions") == 0o700


def test_journals_others_could_write_are_refused(practice: ImageTarget) -> None:
    root = Path(practice.root)
    session = Session(practice)
    session.audit()
    assert session.apply({"machine-id": "empty"}).ok
    journal = session_dir(session.id) / "journal.jsonl"
    os.chmod(journal, 0o666)
    with pytest.raises(UsageError, match="writable by group or others"):
        session.undo()
    os.chmod(journal, 0o600)
    if os.geteuid() == 0:
        os.chown(journal, 65534, 65534)
        with pytest.raises(UsageError, match="owned by uid 65534"):
            session.undo()
        os.chown(journal, 0, 0)
    os.unlink(journal)
    os.symlink("/etc/passwd", journal)
    with pytest.raises(UsageError, match="symlink"):
        session.undo()
    assert os.path.getsize(root / "etc/machine-id") == 0  # nothing was run


# --- the report of a session, kept for later (issue 10, item 13) --------------------------


def test_report_input_round_trip(practice: ImageTarget) -> None:
    from wizard.report import build_report, from_session

    session = Session(practice)
    session.audit()
    outcome = session.apply({"machine-id": "empty", "root-ssh-login": "prohibit-password"})
    inp = dataclasses.replace(
        from_session(session, outcome), operator="op@host", finished="2026-01-01T00:00:00+00:00"
    )
    store_report_input(session.id, inp)
    again = load_report_input(session.id)
    direct, regenerated = build_report(inp), build_report(again)
    assert regenerated == direct
    assert regenerated["checks"] and regenerated["session"] == session.id
