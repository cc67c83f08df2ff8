"""The IMDSv2 registration advice reaches every report format (and the finale: see
tests/tui/test_inputs.py): the register-image option and what it changes for users."""

from __future__ import annotations

import html
import json
from pathlib import Path

from wizard.demo import seed_practice_image
from wizard.engine import audit
from wizard.report import ReportInput, build_report
from wizard.report_files import to_json_bytes
from wizard.report_html import to_html
from wizard.report_md import to_markdown
from wizard.targets.image import ImageTarget

ID = "ami-imdsv2"


def test_the_imdsv2_advice_is_in_json_markdown_and_html(tmp_path: Path) -> None:
    root = seed_practice_image(tmp_path / "image")
    result = audit(ImageTarget(str(root), kind="image", uri=f"image:{root}"))
    report = build_report(ReportInput(before=result))
    doc = json.loads(to_json_bytes(report))
    entry = next(c for c in doc["checks"] if c["id"] == ID)
    assert entry["before"]["status"] == "info"
    assert "--imds-support v2.0" in entry["before"]["summary"]
    md = to_markdown(report)
    page = html.unescape(to_html(report))
    for text in (md, page):
        assert "The AMI is registered to require IMDSv2" in text
        assert "aws ec2 register-image" in text and "--imds-support v2.0" in text
        assert "aws ec2 modify-image-attribute" in text and "hop limit of 2" in text


def test_the_image_section_carries_the_contact(tmp_path: Path) -> None:
    from wizard.config import Config

    root = seed_practice_image(tmp_path / "image")
    config = Config(identity={"publisher": "Ex", "description": "Base", "contact": "a@b.org"})
    result = audit(ImageTarget(str(root), kind="image", uri=f"image:{root}"), config)
    report = build_report(ReportInput(before=result))
    doc = json.loads(to_json_bytes(report))
    assert doc["image"] == {"publisher": "Ex", "description": "Base", "contact": "a@b.org"}
    assert "a@b.org" in to_markdown(report) and "a@b.org" in to_html(report)
