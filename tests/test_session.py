"""The apply session on the practice image: apply, verify, journal and undo on real files."""

from __future__ import annotations

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
from wizard.targets.image import ImageTarget

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
