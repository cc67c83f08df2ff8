"""The signed report after a full apply on a real OpenSSH instance: one truth per report.

After the final phase the histories are shredded by the very last command; every finding
derived from them (the bundle exclude list above all) must say the same as shell-history,
in the JSON and in the Markdown and HTML renderings of it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from tests.integration.conftest import ClientKey
from tests.integration.instance import Instance
from tests.integration.test_apply import cli
from tests.integration.test_audit import HOSTILE, seed_unprepared

HISTORIES = ("/root/.bash_history", "/home/builder/.python_history", f"/home/builder/{HOSTILE}")


def test_recommended_apply_report_has_one_truth_about_histories(
    instance: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path
) -> None:
    seed_unprepared(instance)
    stem = tmp_path / "checklist"
    proc = cli(
        "apply",
        f"ssh://root@127.0.0.1:{instance.port}",
        "--recommended",
        "--yes",
        "--report",
        str(stem),
        "-i",
        str(client_key.path),
        "--known-hosts",
        str(known_hosts),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in HISTORIES:
        assert not instance.exists(path), path
    report = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    checks = {c["id"]: c for c in report["checks"]}
    history = checks["shell-history"]
    before_paths = {e["path"] for e in history["before"]["evidence"]}
    after_paths = {e["path"] for e in history["after"]["evidence"]}
    assert set(HISTORIES) <= before_paths  # the report knew them before
    gone = before_paths - after_paths
    assert gone and history["after"]["status"] == "pass"
    excludes = set(report["bundle_excludes"])
    # every history reported gone is absent from the exclude list, and vice versa: what the
    # exclude list still names is still reported present by shell-history
    assert not gone & excludes, gone & excludes
    listed_histories = excludes & before_paths
    assert listed_histories <= after_paths
    # the bundle-excludes finding after the shred agrees with the exclude list exactly
    derived = checks["bundle-excludes"]["after"]
    assert {e["path"] for e in derived["evidence"]} == excludes
    assert not any(e["detail"] == "shell history" for e in derived["evidence"])
    # the renderings say the same: no history that is gone appears anywhere in md or html
    md = stem.with_suffix(".md").read_text(encoding="utf-8")
    page = html.unescape(stem.with_suffix(".html").read_text(encoding="utf-8"))
    md_excludes = md.split("## Bundle exclude list", 1)[1].split("\n## ", 1)[0]
    html_excludes = page.split("<h2>Bundle exclude list</h2>", 1)[1].split("<h2>", 1)[0]
    for path in excludes:
        assert path in md_excludes and path in html_excludes, path
    # and so does the bundle-excludes guideline's own "after" evidence in both renderings
    md_check = md.split("(`bundle-excludes`)\n", 1)[1].split("\n### ", 1)[0]
    html_check = page.split('id="c-bundle-excludes"', 1)[1].split("</section>", 1)[0]
    assert "**Evidence after:**" in md_check and "<dt>Evidence after</dt>" in html_check
    md_after = md_check.split("**Evidence after:**", 1)[1]
    html_after = html_check.split("<dt>Evidence after</dt>", 1)[1]
    for path in ("/root/.bash_history", "/home/builder/.python_history"):
        assert path not in md_excludes and path not in html_excludes, path
        assert path not in md_after and path not in html_after, path
    # the session's apply is an event of the report, and it says the final phase ran
    kinds = [e["kind"] for e in report["events"]]
    assert kinds == ["applied"], report["events"]
    assert report["events"][0]["session"] == report["session"]
