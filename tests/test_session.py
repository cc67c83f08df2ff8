"""The apply session on the practice image: apply, verify, journal and undo on real files."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import checks
from wizard.demo import make_practice_image
from wizard.errors import UsageError
from wizard.facts import PasswordState
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


# --- one truth after the final phase (issue 10, item 8) ------------------------------------


def test_final_phase_judges_derived_findings_on_the_final_facts(practice: ImageTarget) -> None:
    """After the shred, bundle-excludes (derived from the histories) agrees with shell-history
    and with the exclude list the session hands out — in the outcome, the driver and the file."""
    from wizard.driver import Driver

    driver = Driver(spec="demo", practice_root=practice.root)
    driver.target, driver.session = practice, Session(practice)
    before = driver.audit()
    histories = {h.path for h in before.facts.histories}
    assert histories and histories <= set(driver.exclude_list())
    outcome, result = driver.apply(
        recommended_choices(before), final=True, confirm_irreversible=True
    )
    assert outcome.last_done, outcome.errors
    findings = {f.id: f for f in result.findings}
    assert findings["shell-history"].status is Status.PASS
    derived = [e.path for e in findings["bundle-excludes"].evidence]
    assert derived == list(outcome.exclude_list) == driver.exclude_list()
    assert not histories & set(derived), histories & set(derived)
    assert not any(e.detail == "shell history" for e in findings["bundle-excludes"].evidence)
    assert outcome.exclude_file is not None
    assert Path(outcome.exclude_file).read_text().split() == derived
    final = driver.final
    assert final is not None and final.after is result
    # every finding of the final result is what the check says about the final facts
    for f in result.findings:
        assert f == checks.run_one(f.id, result.facts), f.id


def test_session_events_record_apply_and_undo(practice: ImageTarget) -> None:
    session = Session(practice)
    session.audit()
    assert session.final().events == ()
    session.apply({"machine-id": "empty"}, confirm_irreversible=True)
    session.undo()
    events = session.final().events
    assert [e.kind for e in events] == ["applied", "undone"]
    assert all(e.session == session.id and e.time for e in events)
    assert events[0].time <= events[1].time
    assert "1 step(s) on 1 check(s)" in events[0].summary
    assert "restored" in events[1].summary


# --- previews never claim "already compliant" without knowing it (issue 10, item 9) -------


def on_facts(session: Session, **changes: object) -> Session:
    """The session's latest audit replaced by one on changed facts (checks judged again)."""
    before = session.before or session.audit()
    facts = dataclasses.replace(before.facts, **changes)
    session.before = dataclasses.replace(
        before, facts=facts, findings=tuple(checks.run_checks(facts))
    )
    session.after = None
    return session


def unchanged_text(session: Session, check_id: str, option_id: str) -> str:
    pv = session.preview(check_id, option_id)
    assert pv.actions == () and pv.refusal is None, pv
    assert pv.text == f"({pv.unchanged})\n"
    assert "already compliant" not in pv.text, pv.text
    return pv.unchanged


def test_preview_says_unknown_when_shadow_is_unreadable(practice: ImageTarget) -> None:
    session = Session(practice)
    facts = session.audit().facts
    accounts = tuple(dataclasses.replace(a, password=PasswordState.UNKNOWN) for a in facts.accounts)
    on_facts(session, accounts=accounts)
    text = unchanged_text(session, "root-password", "lock")
    assert text.startswith("nothing to change — the state is unknown")
    assert "/etc/shadow" in text


def test_preview_says_unknown_when_sshd_t_failed(practice: ImageTarget) -> None:
    # UseDNS yes in the files, the operator keeps it, but the running sshd could not be asked.
    on_facts(session := Session(practice), live=True, sshd_t=None, sshd_t_error="exit 255")
    text = unchanged_text(session, "ssh-use-dns", "yes")
    assert text.startswith("nothing to change — the state is unknown")
    assert "sshd -T failed (exit 255)" in text


def test_preview_says_a_kept_warning_is_still_a_warning(practice: ImageTarget) -> None:
    session = Session(practice)
    session.audit()
    text = unchanged_text(session, "ssh-use-dns", "yes")
    assert "keeps the current setting on purpose — still a warning" in text
    assert "UseDNS is yes" in text
    text = unchanged_text(session, "authorized-keys", "keep-and-exclude")
    assert "keeps the current setting on purpose — still a failure" in text


def test_preview_says_why_an_option_changes_nothing(practice: ImageTarget) -> None:
    session = on_facts(Session(practice), identity={})
    text = unchanged_text(session, "identify", "set")
    assert "changes nothing here because no publisher and description is configured" in text
    on_facts(session, package_manager="dnf", pending_updates=None, ami_tools=())
    text = unchanged_text(session, "ami-tools", "update")
    assert text.startswith("nothing to change — the state is unknown")
    assert "dnf" in text and "pending updates" in text
    on_facts(session, package_manager="dnf", pending_updates=0, ami_tools=())
    text = unchanged_text(session, "ami-tools", "update")
    assert "changes nothing here because no EC2 AMI tools are installed" in text


def test_preview_says_unknown_when_the_check_skips(practice: ImageTarget) -> None:
    on_facts(session := Session(practice), sshd_files={}, sshd_t=None)
    text = unchanged_text(session, "root-ssh-login", "prohibit-password")
    assert (
        text
        == "nothing to change — the state is unknown: no sshd configuration found: no SSH server to check"
    )


def test_preview_says_already_compliant_only_when_the_check_passes(
    practice: ImageTarget,
) -> None:
    session = Session(practice)
    before = session.audit()
    session.apply({"machine-id": "empty"}, confirm_irreversible=True)
    assert {f.id: f.status for f in before.findings}["machine-id"] is Status.FAIL
    pv = session.preview("machine-id", "empty")
    assert pv.actions == () and pv.text == "(nothing to change: already compliant)\n"


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
    from wizard.report import build_report
    from wizard.session_report import from_session

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


def test_preview_masks_a_secret_the_diff_would_quote(practice: ImageTarget) -> None:
    """The TUI shows preview text as it is: a token in sshd_config must not appear in full."""
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    main = Path(practice.root) / "etc/ssh/sshd_config"
    main.write_text(f"# deploy token {token}\nPermitRootLogin yes\n" + main.read_text())
    session = Session(practice)
    session.audit()
    pv = session.preview("root-ssh-login", "prohibit-password")
    assert pv.actions and "PermitRootLogin" in pv.text
    assert token not in pv.text and "ghp_" in pv.text
