"""A new guideline is three files: a throw-away one in a temp package shows up in the audit
JSON, the plan (its options are accepted, previewed) and the checklist report with no other
edit; once its package is gone, so is it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from checks import registry
from tests.throwaway import ID, TITLE, throwaway_check
from wizard.cli import main
from wizard.cli_apply import PLAN_SCHEMA, load_plan
from wizard.demo import seed_practice_image
from wizard.session import Session
from wizard.targets.image import ImageTarget


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return seed_practice_image(tmp_path / "img")


def test_throwaway_check_in_audit_json_plan_and_report(
    image: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with throwaway_check(tmp_path / "pkg") as check_id:
        assert registry.is_check(check_id)
        out = tmp_path / "audit.json"
        assert main(["audit", f"image:{image}", "--format", "json", "-o", str(out)]) == 1
        doc = json.loads(out.read_text(encoding="utf-8"))
        ids = [c["id"] for c in doc["checks"]]
        assert ids.index(ID) == ids.index("shell-history") + 1  # META.order 105
        mine = next(c for c in doc["checks"] if c["id"] == ID)
        assert (mine["title"], mine["status"]) == (TITLE, "warn")
        assert (mine["options"], mine["recommended"]) == (["keep"], "keep")
        assert doc["summary"]["warn"] >= 1

        plan = tmp_path / "plan.yaml"
        plan.write_text(yaml.safe_dump({"schema": PLAN_SCHEMA, "choices": {ID: "keep"}}))
        assert load_plan(str(plan)) == {ID: "keep"}
        preview = Session(ImageTarget(str(image))).preview(ID, "keep")
        assert preview.actions == () and preview.refusal is None

        stem = tmp_path / "report"
        assert main(["audit", f"image:{image}", "--report", str(stem)]) == 1
        report = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        assert ID in [c["id"] for c in report["checks"]]
        assert TITLE in stem.with_suffix(".md").read_text(encoding="utf-8")
        assert TITLE in stem.with_suffix(".html").read_text(encoding="utf-8")
    capsys.readouterr()
    assert not registry.is_check(ID)
    assert ID not in registry.ids()
