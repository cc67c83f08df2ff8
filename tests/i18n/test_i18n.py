"""UI languages: resolution order, the template up to date with the code, every language
complete (gettext catalogs and catalog YAML), and a Spanish report end to end."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from checks import _catalog
from wizard import i18n
from wizard.cli import main

ROOT = Path(__file__).resolve().parents[2]
POT = ROOT / "wizard" / "locale" / "ami_wizard.pot"
STUB = Path(__file__).parent / "locale"
TRANSLATED = ("es", "ja", "ko")
# the README's `pybabel extract` options, less the output file
EXTRACT = ("-F", "babel.cfg", "-k", "N_", "-k", "ngettext:1,2", "--no-location", "-o")


@pytest.fixture(autouse=True)
def english_after() -> Iterator[None]:
    yield
    i18n.set_language("en")
    i18n.translations.cache_clear()


@pytest.mark.parametrize(
    ("cli", "config", "env", "want"),
    [
        ("ko", "ja", {"LANG": "es_ES.UTF-8"}, "ko"),
        (None, "ja", {"LANG": "es_ES.UTF-8"}, "ja"),
        (None, None, {"LANG": "ja_JP.UTF-8"}, "ja"),
        (None, None, {"LANGUAGE": "ko:en", "LC_ALL": "es_ES", "LANG": "ja_JP"}, "ko"),
        (None, None, {"LC_ALL": "es_MX.UTF-8", "LANG": "ja_JP.UTF-8"}, "es"),
        (None, None, {"LC_MESSAGES": "ko_KR", "LANG": "es_ES"}, "ko"),
        (None, None, {"LANG": "fr_FR.UTF-8"}, "en"),
        (None, None, {"LANG": "C"}, "en"),
        (None, None, {}, "en"),
    ],
)
def test_language_resolution_order(
    cli: str | None, config: str | None, env: dict[str, str], want: str
) -> None:
    assert i18n.resolve(cli, config, env) == want


def test_a_bad_lang_is_one_line_and_exit_2() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "wizard.cli", "--lang", "xx", "demo", "--format", "md"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "unknown language 'xx'" in run.stderr
    assert not run.stdout


def _msgids(path: Path) -> set[str]:
    with path.open("rb") as f:
        return {str(m.id) if isinstance(m.id, str) else str(m.id[0]) for m in read_po(f) if m.id}


def test_the_template_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "-q", "extract", *EXTRACT, str(fresh), "."],
        cwd=ROOT,
        check=True,
    )
    missing, stale = _msgids(fresh) - _msgids(POT), _msgids(POT) - _msgids(fresh)
    assert not missing and not stale, (
        f"re-extract the template (README, Languages): missing {sorted(missing)[:5]}, "
        f"stale {sorted(stale)[:5]}"
    )


@pytest.mark.parametrize("lang", ("en", *TRANSLATED))
def test_every_msgid_has_a_translation(lang: str) -> None:
    if lang == "en":
        assert i18n.translations("en").gettext("Checklist") == "Checklist"
        return
    po = i18n.po_path(lang)
    assert po.is_file(), f"{po.relative_to(ROOT)}: missing catalog"
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    empty = sorted(m for m in _msgids(POT) if not (catalog.get(m) and catalog.get(m).string))
    assert not empty, f"{lang}: {len(empty)} msgid(s) without msgstr, e.g. {empty[:5]}"


@pytest.mark.parametrize("lang", ("en", *TRANSLATED))
def test_every_catalog_entry_has_a_translation(lang: str) -> None:
    assert lang in _catalog.languages(), f"checks/catalog/{lang}/: missing"
    # raises CatalogError naming the first missing file or key
    assert set(_catalog.catalog(lang)) == set(_catalog.catalog("en"))


def test_a_spanish_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--lang es` on the practice image: Markdown headings in Spanish, HTML lang="es"
    (the test's own few Spanish strings stand in for wizard/locale/es)."""
    monkeypatch.setattr(i18n, "LOCALE_DIR", STUB)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("AMI_WIZARD_CONFIG", str(tmp_path / "none.yaml"))
    i18n.translations.cache_clear()
    stem = tmp_path / "report"
    code = main(["audit", "--lang", "es", "demo", "--format", "md", "--report", str(stem)])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert out.startswith("# Auditoría de ami-wizard sobre ")
    page = stem.with_suffix(".html").read_text(encoding="utf-8")
    assert '<html lang="es">' in page and "<h2>Lista de control</h2>" in page
    assert "## Lista de control" in stem.with_suffix(".md").read_text(encoding="utf-8")
    i18n.set_language("en")
    assert main(["audit", "demo", "--format", "md"]) in (0, 1)
    assert capsys.readouterr().out.startswith("# ami-wizard audit of ")


def test_every_marked_string_is_in_the_template() -> None:
    """Babel (Python 3.11) skips a _() inside an f-string: such a label must also be N_()."""
    marked = re.compile(r"\b_\(([\"'])((?:(?!\1).)+)\1\)")
    ids = _msgids(POT)
    missing = sorted(
        f"{path.relative_to(ROOT)}: {m.group(2)!r}"
        for package in ("wizard", "checks", "screens")
        for path in (ROOT / package).rglob("*.py")
        for m in marked.finditer(path.read_text(encoding="utf-8"))
        if m.group(2) not in ids
    )
    assert not missing, missing[:10]
