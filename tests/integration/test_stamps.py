"""The builder's first-boot stamps, over real SSH: the probe names them, root-password fails on
the bare one and warns on the keyed one, and its fix deletes exactly those two (undoably)."""

from __future__ import annotations

from checks import _plans
from tests.integration.instance import Instance
from tests.integration.test_apply import SYSTEM_SIDE_FILES, connect
from wizard.model import Status
from wizard.session import Session
from wizard.targets import ConnectOptions

STAMPS = {
    _plans.LEGACY_ROOT_PASSWORD_STAMP: "",
    _plans.ROOT_PASSWORD_STAMP: "0123456789abcdef0123456789abcdef\n",
    _plans.LAUNCH_KEY_STAMP: "i-0b0113de0000b0113\n",
}


def test_the_builders_stamps_are_judged_and_the_root_password_ones_deleted(
    instance: Instance, ssh_options: ConnectOptions
) -> None:
    for path, text in STAMPS.items():
        instance.write(path, text)
    before = {c.path for c in instance.upper_changes()}
    with connect(instance, ssh_options) as target:
        session = Session(target)
        found = {f.id: f for f in session.audit().findings}
        assert set(session.before.facts.stamps) == set(STAMPS)  # type: ignore[union-attr]
        root = found["root-password"]
        assert root.status is Status.FAIL
        assert _plans.LEGACY_ROOT_PASSWORD_STAMP in [e.path for e in root.evidence]
        assert _plans.LAUNCH_KEY_STAMP in [e.path for e in found["launch-key"].evidence]
        outcome = session.apply({"root-password": "lock"})
        assert outcome.ok, outcome.errors
        after = outcome.checks[0]
        assert (after.check_id, after.after) == ("root-password", Status.PASS), after
        for path in (_plans.LEGACY_ROOT_PASSWORD_STAMP, _plans.ROOT_PASSWORD_STAMP):
            assert not instance.exists(path), path
        assert instance.read(_plans.LAUNCH_KEY_STAMP) == STAMPS[_plans.LAUNCH_KEY_STAMP].encode()
        # Nothing else was written: root's shadow line (and the shadow tools' side files).
        new = {c.path: c.kind for c in instance.upper_changes() if c.path not in before}
        written = {p for p, kind in new.items() if kind not in ("deleted", "dir")}
        assert written <= {"/etc/shadow"} | SYSTEM_SIDE_FILES, new
        # Both deletions were journaled: undo brings the stamps back byte for byte.
        assert session.undo().ok
    for path, text in STAMPS.items():
        assert instance.read(path) == text.encode(), path
