"""The signed checklist report: content, canonical bytes, masking, hostile names in HTML and
Markdown, and signatures checked by the real OpenSSH ssh-keygen and `ami-wizard report verify`.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from checks import INSTANCE_CHECKS
from checks.bundle_excludes import exclude_list
from wizard.config import Config
from wizard.demo import EXAMPLE_KEY_ID, EXAMPLE_SECRET, seed_practice_image
from wizard.driver import Driver, write_reports
from wizard.engine import audit
from wizard.errors import UsageError
from wizard.model import Evidence, Finding, SessionEvent, Severity, Status
from wizard.report import REPORT_SCHEMA, CheckActions, ReportInput, build_report
from wizard.report_files import to_json_bytes, write_report
from wizard.report_html import to_html
from wizard.report_md import to_markdown
from wizard.results import AuditResult, TargetInfo
from wizard.secrets import clean_text
from wizard.session import Session, recommended_choices
from wizard.session_report import from_session
from wizard.sshsig import canonical_json
from wizard.targets.image import ImageTarget

SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
SSH_AGENT = shutil.which("ssh-agent") or "/usr/bin/ssh-agent"
SSH_ADD = shutil.which("ssh-add") or "/usr/bin/ssh-add"
PRINCIPAL = "operator@example.test"
SCRIPT = "<script>alert(1)</script>"
HOSTILE_DIR = "<script>alert(1)<"  # a file name cannot hold "/": the tag opens in a directory
STARTED, FINISHED = "2024-05-01T10:00:00+00:00", "2024-05-01T10:20:00+00:00"


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def cli_image(tmp_path: Path) -> Path:
    """The practice image (it has `.$(touch PWNED)history`) plus a name opening a script tag."""
    root = seed_practice_image(tmp_path / "img")
    hostile = root / "home" / "bob" / HOSTILE_DIR
    hostile.mkdir()
    (hostile / ".bash_history").write_text("id\n")
    return root


@pytest.fixture
def image(cli_image: Path) -> Path:
    root = cli_image
    # Bytes that are not UTF-8 and a terminal escape in a name.
    bad = os.fsencode(root / "home" / "bob") + b"/.bad\xff\x1b[31m_history"
    os.close(os.open(bad, os.O_CREAT | os.O_WRONLY, 0o600))
    return root


@pytest.fixture
def result(image: Path) -> AuditResult:
    config = Config(
        identity={"publisher": "Example Corp <images@example.test>", "description": "Base"}
    )
    return audit(ImageTarget(str(image), kind="image", uri=f"image:{image}"), config)


def full_input(result: AuditResult) -> ReportInput:
    return ReportInput(
        before=result,
        after=result,
        choices={"root-ssh-login": "prohibit-password", "machine-id": "empty"},
        notes={
            "root-ssh-login": f"admins use sudo {SCRIPT}",
            "machine-id": f"leaked key {EXAMPLE_KEY_ID} aws_secret_access_key={EXAMPLE_SECRET}",
        },
        actions={
            "root-ssh-login": CheckActions(
                commands=("set PermitRootLogin prohibit-password in sshd's configuration",),
                diff_summary="/etc/ssh/sshd_config.d/00-ami-wizard.conf: +2 -0",
            ),
            "machine-id": CheckActions(
                commands=("write /etc/machine-id (0 bytes)",), error="boom", rolled_back=True
            ),
        },
        operator="alice@laptop",
        session_id="s-1",
        started=STARTED,
        finished=FINISHED,
    )


@pytest.fixture
def report(result: AuditResult) -> dict[str, object]:
    return build_report(full_input(result))


def synthetic(path: str, detail: str = "") -> AuditResult:
    """An audit result with one finding whose evidence is exactly `path` (any text at all)."""
    finding = Finding(
        "shell-history",
        "No shell history",
        Status.FAIL,
        Severity.HIGH,
        f"found {path}",
        (Evidence(path, 3, detail),),
        ("shred",),
        "shred",
    )
    target = TargetInfo(f"image:/{path}", path, "os", "k", "i-0abc", "ami-0def")
    return AuditResult(target, object(), (finding,), STARTED, 0.1)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    out = {}
    for name, spec in (("ed25519", ["-t", "ed25519"]), ("rsa", ["-t", "rsa", "-b", "3072"])):
        out[name] = folder / name
        subprocess.run(
            [SSH_KEYGEN, "-q", *spec, "-N", "", "-C", name, "-f", str(out[name])], check=True
        )
    out["encrypted"] = folder / "encrypted"
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "s3cret-pass", "-f", str(out["encrypted"])],
        check=True,
    )
    return out


def allowed_signers(folder: Path, key: Path) -> Path:
    pub = Path(str(key) + ".pub").read_text().split()
    path = folder / "allowed_signers"
    path.write_text(f'{PRINCIPAL} namespaces="ami-wizard" {pub[0]} {pub[1]}\n')
    return path


def keygen_verify(
    folder: Path, key: Path, data: Path, sig: Path
) -> subprocess.CompletedProcess[bytes]:
    """Exactly the command an auditor runs."""
    with open(data, "rb") as stdin:
        return subprocess.run(
            [
                SSH_KEYGEN,
                "-Y",
                "verify",
                "-f",
                str(allowed_signers(folder, key)),
                "-I",
                PRINCIPAL,
                "-n",
                "ami-wizard",
                "-s",
                str(sig),
            ],
            stdin=stdin,
            capture_output=True,
            check=False,
        )


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def flip_byte(path: Path, index: int = 20) -> None:
    data = bytearray(path.read_bytes())
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def agent() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="agent-")  # short: unix socket paths are limited
    sock = os.path.join(folder, "sock")
    proc = subprocess.Popen(
        [SSH_AGENT, "-D", "-a", sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            assert proc.poll() is None, "ssh-agent exited"
            assert time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.02)
        yield sock
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


# --- content ----------------------------------------------------------------------------


def test_content_is_complete(result: AuditResult, report: dict[str, object]) -> None:
    r = json.loads(to_json_bytes(report))
    assert r["schema"] == REPORT_SCHEMA == "ami-wizard/report/v1"
    assert r["tool"] == {"name": "ami-wizard", "version": result.tool_version}
    assert r["operator"] == "alice@laptop" and r["session"] == "s-1"
    assert (r["started"], r["finished"]) == (STARTED, FINISHED)
    assert r["target"]["hostname"] == "practice-builder"
    assert set(r["target"]) >= {"uri", "hostname", "os", "kernel", "instance_id", "ami_id"}
    assert r["image"] == {
        "publisher": "Example Corp <images@example.test>",
        "description": "Base",
        "contact": "",
    }
    assert [c["id"] for c in r["checks"]] == list(INSTANCE_CHECKS)
    by_id = {c["id"]: c for c in r["checks"]}
    root = by_id["root-ssh-login"]
    assert root["before"]["status"] == "fail" and root["before"]["evidence"]
    assert root["choice"]["option"] == "prohibit-password" and root["choice"]["recommended"]
    assert root["note"] == f"admins use sudo {SCRIPT}"
    assert root["actions"]["commands"] == [
        "set PermitRootLogin prohibit-password in sshd's configuration"
    ]
    assert root["actions"]["diff_summary"].endswith("+2 -0")
    assert by_id["machine-id"]["actions"]["rolled_back"] is True
    assert by_id["ssh-use-dns"]["choice"] is None
    # Left open: everything not pass (or not applicable) after.
    expected_open = [f.id for f in result.findings if f.status not in (Status.PASS, Status.SKIP)]
    assert [o["id"] for o in r["open"]] == expected_open
    assert "launch-key" not in expected_open and "root-ssh-login" in expected_open
    # Shown cleaned: bytes that are not UTF-8 and control characters as \xNN.
    assert r["bundle_excludes"] == [clean_text(p) for p in exclude_list(result.facts)]
    assert "/home/bob/.bad\\xff\\x1b[31m_history" in r["bundle_excludes"]
    assert r["summary"]["before"]["fail"] == result.summary.counts["fail"]


def test_audit_only_report_has_no_after(result: AuditResult) -> None:
    r = build_report(ReportInput(before=result, operator="a@b", started=STARTED, finished=FINISHED))
    assert r["summary"]["after"] is None
    assert all(c["after"] is None and c["choice"] is None for c in r["checks"])
    assert r["open"]  # judged on the before state


def test_defaults_fill_operator_and_times(result: AuditResult) -> None:
    r = build_report(ReportInput(before=result))
    assert "@" in r["operator"]
    assert r["started"] == result.started
    assert r["finished"] >= r["started"]


def test_canonical_json_is_stable(result: AuditResult) -> None:
    one = to_json_bytes(build_report(full_input(result)))
    two = to_json_bytes(build_report(full_input(result)))
    assert one == two
    assert one == canonical_json(json.loads(one))
    assert one.endswith(b"}\n") and b'": ' not in one and b"\n" not in one[:-1]


def test_secrets_never_appear_in_any_format(report: dict[str, object]) -> None:
    outputs = {
        "json": to_json_bytes(report).decode(),
        "md": to_markdown(report),
        "html": to_html(report),
    }
    for fmt, text in outputs.items():
        assert EXAMPLE_KEY_ID not in text, fmt
        assert EXAMPLE_SECRET not in text, fmt
        assert EXAMPLE_SECRET[:12] not in text, fmt
    # The operator's note quoting the key is masked, not dropped.
    assert EXAMPLE_KEY_ID[:4] + "****" in outputs["json"]


def test_undecodable_and_control_bytes_in_names(report: dict[str, object]) -> None:
    data = to_json_bytes(report)
    assert (
        "/home/bob/.bad\\xff\\x1b[31m_history"
        in json.loads(data.decode("utf-8"))["bundle_excludes"]
    )
    assert b"\x1b" not in data
    for text in (to_markdown(report), to_html(report)):
        assert "\x1b" not in text and "\udcff" not in text
        assert "xff\\x1b[31m_history" in text


# --- hostile names in HTML and Markdown -------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


SAFE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "table", "thead",
    "tbody", "tr", "th", "td", "code", "pre", "span", "br", "ul", "li", "p", "div", "section",
    "dl", "dt", "dd",
}  # fmt: skip


@pytest.mark.parametrize(
    "name", [SCRIPT, "/home/bob/.$(touch PWNED)history", '"><img src=x onerror=alert(1)>', "a`b|c"]
)
def test_html_escapes_hostile_names_and_is_self_contained(name: str) -> None:
    report = build_report(
        ReportInput(
            before=synthetic(name, detail=name), operator=name, started=STARTED, finished=FINISHED
        )
    )
    page = to_html(report)
    markup = page.replace(html.escape(name, quote=True), "")
    parser = _Tags()
    parser.feed(page)
    assert parser.tags <= SAFE_TAGS
    assert parser.attrs <= {"lang", "charset", "name", "content", "class", "id"}
    assert name in "".join(parser.text)  # shown as text, whole
    lowered = markup.lower()
    for external in ("<script", "<img", "<link", "src=", "href=", "url(", "@import", "http"):
        assert external not in lowered
    assert "@media print" in page


def test_html_of_practice_image(report: dict[str, object], tmp_path: Path) -> None:
    page = to_html(report)
    assert "<script" not in page.lower()
    assert (
        f"/home/bob/{HOSTILE_DIR}/.bash_history".replace("<", "&lt;").replace(">", "&gt;") in page
    )
    assert "/home/bob/.$(touch PWNED)history" in page
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


@pytest.mark.parametrize("name", [SCRIPT, "/x/.$(touch PWNED)history", "tick`s|pipe*_[a](b)"])
def test_markdown_renders_hostile_names_as_text(name: str) -> None:
    md = to_markdown(
        build_report(
            ReportInput(before=synthetic(name, detail=name), started=STARTED, finished=FINISHED)
        )
    )
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert "<script" not in rendered
    assert "<a " not in rendered
    assert "&lt;script&gt;" in rendered or "script" not in name


def test_markdown_content(report: dict[str, object]) -> None:
    md = to_markdown(report)
    assert md.startswith("# AMI checklist report: practice-builder")
    for heading in ("## Checklist", "## Left open", "## Bundle exclude list"):
        assert heading in md
    assert md.count("\n| ") == len(INSTANCE_CHECKS) + 1  # header + one row per guideline
    assert "ssh-keygen -Y verify" in md


# --- writing and signing ----------------------------------------------------------------


def test_write_report_signs_every_format_and_ssh_keygen_accepts(
    report: dict[str, object], keys: dict[str, Path], tmp_path: Path
) -> None:
    written = write_report(report, tmp_path / "r.json", sign_key=str(keys["ed25519"]))
    names = [Path(p).name for p in written]
    assert names == ["r.json", "r.json.sig", "r.md", "r.md.sig", "r.html", "r.html.sig"]
    assert (tmp_path / "r.json").read_bytes() == to_json_bytes(report)
    for fmt in ("json", "html", "md"):
        data = tmp_path / f"r.{fmt}"
        ok = keygen_verify(tmp_path, keys["ed25519"], data, Path(f"{data}.sig"))
        assert ok.returncode == 0, ok.stderr
    proc = cli(
        "report", "verify", str(tmp_path / "r.json"),
        "--allowed-signers", str(allowed_signers(tmp_path, keys["ed25519"])),
    )  # fmt: skip
    assert proc.returncode == 0 and PRINCIPAL in proc.stdout, proc.stderr
    for fmt in ("json", "html"):
        flip_byte(tmp_path / f"r.{fmt}")
        data = tmp_path / f"r.{fmt}"
        assert keygen_verify(tmp_path, keys["ed25519"], data, Path(f"{data}.sig")).returncode != 0
        proc = cli("report", "verify", str(data), "--public-key", f"{keys['ed25519']}.pub")
        assert proc.returncode == 1
        assert proc.stderr.count("\n") == 1 and "NOT valid" in proc.stderr


def test_encrypted_key_asks_once_for_all_formats(
    report: dict[str, object], keys: dict[str, Path], tmp_path: Path
) -> None:
    asked: list[str] = []

    def prompt(label: str) -> str:
        asked.append(label)
        return "s3cret-pass"

    written = write_report(
        report, tmp_path / "r", sign_key=str(keys["encrypted"]), passphrase_cb=prompt
    )
    assert len(written) == 6 and len(asked) == 1


def test_unsigned_subset_and_bad_arguments(report: dict[str, object], tmp_path: Path) -> None:
    assert write_report(report, tmp_path / "only", formats=("html",)) == [
        str(tmp_path / "only.html")
    ]
    with pytest.raises(UsageError, match="unknown report format"):
        write_report(report, tmp_path / "x", formats=("pdf",))
    with pytest.raises(UsageError, match="not a directory"):
        write_report(report, tmp_path / "missing" / "x")
    with pytest.raises(UsageError, match="not both"):
        write_report(report, tmp_path / "x", sign_key="k", sign_agent=True)


def test_agent_signed_report(
    report: dict[str, object], keys: dict[str, Path], tmp_path: Path, agent: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    subprocess.run(
        [SSH_ADD, "-q", str(keys["rsa"])], env={**os.environ, "SSH_AUTH_SOCK": agent}, check=True
    )
    monkeypatch.setenv("SSH_AUTH_SOCK", agent)
    write_report(report, tmp_path / "r", formats=("json",), sign_agent=True)
    ok = keygen_verify(tmp_path, keys["rsa"], tmp_path / "r.json", tmp_path / "r.json.sig")
    assert ok.returncode == 0, ok.stderr


# --- the CLI end to end -----------------------------------------------------------------


def test_cli_audit_sign_key_verifies_with_ssh_keygen(
    cli_image: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    proc = cli(
        "audit", f"image:{cli_image}", "--format", "json", "-o", str(out),
        "--sign-key", str(keys["ed25519"]),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # the practice image fails checks
    sig = tmp_path / "r.json.sig"
    assert sig.read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    ok = keygen_verify(tmp_path, keys["ed25519"], out, sig)
    assert ok.returncode == 0, ok.stderr
    signers = str(allowed_signers(tmp_path, keys["ed25519"]))
    assert cli("report", "verify", str(out), "--allowed-signers", signers).returncode == 0
    flip_byte(out)
    assert keygen_verify(tmp_path, keys["ed25519"], out, sig).returncode != 0
    bad = cli("report", "verify", str(out), "--allowed-signers", signers)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_cli_audit_sign_agent_verifies_with_ssh_keygen(
    cli_image: Path, keys: dict[str, Path], tmp_path: Path, agent: str
) -> None:
    env = {**os.environ, "SSH_AUTH_SOCK": agent}
    subprocess.run([SSH_ADD, "-q", str(keys["ed25519"])], env=env, check=True)
    out = tmp_path / "r.json"
    proc = cli(
        "audit", f"image:{cli_image}", "--format", "json", "-o", str(out), "--sign-agent", env=env
    )
    assert proc.returncode == 1, proc.stderr
    sig = tmp_path / "r.json.sig"
    assert keygen_verify(tmp_path, keys["ed25519"], out, sig).returncode == 0
    flip_byte(out, index=-3)
    assert keygen_verify(tmp_path, keys["ed25519"], out, sig).returncode != 0
    bad = cli("report", "verify", str(out), "--public-key", f"{keys['ed25519']}.pub")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1


def test_cli_audit_report_stem_all_formats_signed(
    cli_image: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    stem = tmp_path / "checklist"
    proc = cli(
        "audit", f"image:{cli_image}", "--report", str(stem), "--sign-key", str(keys["rsa"])
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("# ami-wizard audit of")  # the audit itself still prints
    doc = json.loads((tmp_path / "checklist.json").read_bytes())
    assert doc["schema"] == REPORT_SCHEMA and doc["target"]["uri"] == f"image:{cli_image}"
    for fmt in ("json", "md", "html"):
        data = tmp_path / f"checklist.{fmt}"
        assert EXAMPLE_SECRET not in data.read_text()
        ok = keygen_verify(tmp_path, keys["rsa"], data, Path(f"{data}.sig"))
        assert ok.returncode == 0, (fmt, ok.stderr)
    assert "<script" not in (tmp_path / "checklist.html").read_text().lower()


# --- adapters ---------------------------------------------------------------------------


def test_from_session_after_apply(image: Path, tmp_path: Path) -> None:
    session = Session(ImageTarget(str(image), kind="image", uri=f"image:{image}"))
    before = session.audit()
    rec = recommended_choices(before)
    choices = {c: rec[c] for c in ("root-ssh-login", "machine-id")}
    previews = {c: session.preview(c, o) for c, o in choices.items()}
    # Two rounds, as the wizard applies them: the report adds them up.
    first = session.apply({"root-ssh-login": choices["root-ssh-login"]})
    second = session.apply({"machine-id": choices["machine-id"]}, confirm_irreversible=True)
    assert first.ok and second.ok, (first.errors, second.errors)
    r = build_report(
        from_session(
            session,
            [first, second],
            notes={"machine-id": "why"},
            previews=previews,
            started=STARTED,
            finished=FINISHED,
        )
    )
    by_id = {c["id"]: c for c in r["checks"]}
    assert r["session"] == session.id
    for check_id in choices:
        c = by_id[check_id]
        assert (c["before"]["status"], c["after"]["status"]) == ("fail", "pass")
        assert c["choice"]["option"] == choices[check_id]
        assert c["actions"]["commands"] and c["actions"]["diff_summary"]
        assert not c["open"]
    assert by_id["machine-id"]["note"] == "why"
    md, page = to_markdown(r), to_html(r)
    assert "**Evidence before:**" in md and "Evidence before" in page
    assert "/etc/machine-id" in by_id["machine-id"]["actions"]["diff_summary"]
    assert by_id["ssh-host-keys"]["open"]
    single = build_report(from_session(session, second, operator="a@b"))
    assert {c["id"] for c in single["checks"] if c["choice"]} == {"machine-id"}
    assert build_report(from_session(session))["summary"]["after"] is not None
    # The wizard's export hook reads the same from its driver.
    driver = Driver(spec=f"image:{image}", session=session, before=before)
    driver.outcomes += [first, second]
    exported = json.loads(Path(write_reports(driver, tmp_path)[0]).read_bytes())
    assert [c["id"] for c in exported["checks"] if c["actions"]["commands"]] == [
        "root-ssh-login",
        "machine-id",
    ]


def test_tui_export_hook_writes_three_formats(result: AuditResult, tmp_path: Path) -> None:
    driver = Driver(spec="image:/unused", before=result, result=result)
    written = write_reports(driver, tmp_path)
    assert [Path(p).name for p in written] == [
        "ami-wizard-report.json",
        "ami-wizard-report.md",
        "ami-wizard-report.html",
    ]
    assert json.loads(Path(written[0]).read_bytes())["schema"] == REPORT_SCHEMA


# --- one truth per report (issue 10, items 8 and 11) --------------------------------------

EVENTS = (
    SessionEvent("2024-05-01T10:05:00+00:00", "applied", "s-1", "12 step(s) on 9 check(s)"),
    SessionEvent("2024-05-01T10:15:00+00:00", "undone", "s-1", "4 change(s) restored"),
)


def test_excludes_are_the_final_finding_never_recomputed(
    result: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The after state says the histories are gone (as after the shred) while the facts still
    list them: the report follows the final bundle-excludes finding, and runs no check."""
    import checks.bundle_excludes

    kept = [p for p in exclude_list(result.facts) if "history" not in p]
    assert len(kept) < len(exclude_list(result.facts))
    findings = tuple(
        dataclasses.replace(f, evidence=tuple(Evidence(p, 0, "kept") for p in kept))
        if f.id == "bundle-excludes"
        else f
        for f in result.findings
    )
    after = dataclasses.replace(result, findings=findings)

    def no_checks(*_args: object) -> object:
        raise AssertionError("the report ran a check")

    monkeypatch.setattr(checks.bundle_excludes, "exclude_list", no_checks)
    monkeypatch.setattr(checks.bundle_excludes, "check", no_checks)
    monkeypatch.setattr(checks, "run_one", no_checks)
    r = build_report(ReportInput(before=result, after=after, operator="a@b", finished=FINISHED))
    assert r["bundle_excludes"] == [clean_text(p) for p in kept]
    by_id = {c["id"]: c for c in r["checks"]}
    assert [e["path"] for e in by_id["bundle-excludes"]["after"]["evidence"]] == r[
        "bundle_excludes"
    ]
    # an explicit list from the session is used as given
    given = ReportInput(before=result, after=after, exclude_list=("/only",), operator="a@b")
    assert build_report(given)["bundle_excludes"] == ["/only"]


def test_events_in_every_format_and_signed(
    result: AuditResult, keys: dict[str, Path], tmp_path: Path
) -> None:
    r = build_report(dataclasses.replace(full_input(result), events=EVENTS))
    assert r["events"] == [e.to_dict() for e in EVENTS]
    assert build_report(full_input(result))["events"] == []  # additive: always present
    md = to_markdown(r)
    assert "## Session events" in md
    assert "**applied** `s-1`: 12 step\\(s\\) on 9 check\\(s\\)" in md
    assert "2024-05-01T10:15:00\\+00:00 **undone** `s-1`: 4 change\\(s\\) restored" in md
    page = to_html(r)
    assert "<h2>Session events</h2>" in page
    assert "<strong>undone</strong> <code>s-1</code>: 4 change(s) restored" in page
    write_report(r, tmp_path / "r", sign_key=str(keys["ed25519"]))
    for fmt in ("json", "md", "html"):
        data = tmp_path / f"r.{fmt}"
        ok = keygen_verify(tmp_path, keys["ed25519"], data, Path(f"{data}.sig"))
        assert ok.returncode == 0, (fmt, ok.stderr)
    # the events are covered by the signature: rewriting one breaks it
    for fmt, old, new in (
        ("json", b'"kind":"undone"', b'"kind":"applied"'),
        ("md", b"**undone**", b"**applied**"),
        ("html", b"<strong>undone</strong>", b"<strong>applied</strong>"),
    ):
        data = tmp_path / f"r.{fmt}"
        assert old in data.read_bytes(), fmt
        data.write_bytes(data.read_bytes().replace(old, new))
        bad = keygen_verify(tmp_path, keys["ed25519"], data, Path(f"{data}.sig"))
        assert bad.returncode != 0, fmt


def test_report_after_final_phase_and_undo_says_one_thing(image: Path, tmp_path: Path) -> None:
    session = Session(ImageTarget(str(image), kind="image", uri=f"image:{image}"))
    before = session.audit()
    histories = {clean_text(h.path) for h in before.facts.histories}
    outcome = session.apply(recommended_choices(before), confirm_irreversible=True)
    assert outcome.last_done, outcome.errors
    r = build_report(from_session(session, outcome, operator="a@b", finished=FINISHED))
    by_id = {c["id"]: c for c in r["checks"]}
    gone = {e["path"] for e in by_id["shell-history"]["before"]["evidence"]} - {
        e["path"] for e in by_id["shell-history"]["after"]["evidence"]
    }
    assert gone == histories
    assert not gone & set(r["bundle_excludes"])
    assert [e["path"] for e in by_id["bundle-excludes"]["after"]["evidence"]] == r[
        "bundle_excludes"
    ]
    assert r["bundle_excludes"] == [clean_text(p) for p in outcome.exclude_list]
    for path in gone:
        assert path not in to_markdown(r).split("## Bundle exclude list")[1]
    assert [e["kind"] for e in r["events"]] == ["applied"]
    # undo, re-probe: the report says undone, and its after state is the undone target
    session.undo()
    session.audit()
    r = build_report(from_session(session, outcome, operator="a@b", finished=FINISHED))
    assert [e["kind"] for e in r["events"]] == ["applied", "undone"]
    by_id = {c["id"]: c for c in r["checks"]}
    assert by_id["root-ssh-login"]["after"]["status"] == "fail"  # undone: as before
    assert "## Session events" in to_markdown(r) and "<h2>Session events</h2>" in to_html(r)


def test_probe_notes_are_in_every_report_format_and_signed(result: AuditResult) -> None:
    """A search the probe cut short is said in the checklist report too (json, md, html), never
    hidden behind a PASS; the notes are part of what the signature covers."""
    from wizard.facts import SearchNote

    facts = dataclasses.replace(
        result.facts,
        incomplete=(SearchNote("history", "stopped after 10000 files (probe.max_files)"),),
        probe_errors=("shadow: /etc/shadow is not readable <b>",),
    )
    doc = build_report(ReportInput(before=dataclasses.replace(result, facts=facts)))
    kinds = [(n["kind"], n["search"]) for n in doc["probe_notes"]]
    assert kinds == [("limit", "history"), ("error", "")]
    md, page = to_markdown(doc), to_html(doc)
    assert "## Probe notes" in md and "max\\_files" in md
    assert "<h2>Probe notes</h2>" in page and "&lt;b&gt;" in page and "<b>" not in page
    assert b"probe.max_files" in to_json_bytes(doc)
    clean = build_report(ReportInput(before=result))
    assert clean["probe_notes"] == [] and "Probe notes" not in to_markdown(clean)
