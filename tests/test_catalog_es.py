"""The Spanish translation is complete and keeps what must not be translated.

Catalog: every English `checks/catalog/<id>.yaml` has a `checks/catalog/es/<id>.yaml` with the
same ids and the same text keys, quiz questions with as many choices as English and no `answer`,
and every `code span` of an English text still present in its Spanish text (commands, paths and
config keywords stay as they are). UI: the es .po file has a translation for every msgid, with the
same `{placeholders}`, and is not marked fuzzy.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks._catalog import _shape
from tests.translation_shape import wanted

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "checks" / "catalog"
SPANISH = ENGLISH / "es"
PO = ROOT / "wizard" / "locale" / "es" / "LC_MESSAGES" / "ami_wizard.po"

QUIZ_TEXT = ("question", "choices", "reason")


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


SKIP = {
    "id",
    "answer",
    "group",
    "severity",
    "seed",
    "recommended",
    "reversible",
    "optional",
    "live",
}


def _texts(data: Any, path: str = "") -> dict[str, str]:
    """Every translatable string of an entry by its path (ids and flags left out)."""
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key not in SKIP:
                out |= _texts(value, f"{path}.{key}")
    elif isinstance(data, list):
        for n, value in enumerate(data):
            out |= _texts(value, f"{path}.{n}")
    elif isinstance(data, str):
        out[path] = data
    return out


ENGLISH_FILES = sorted(p.name for p in ENGLISH.glob("*.yaml"))


def test_every_english_file_has_a_spanish_one() -> None:
    spanish = sorted(p.name for p in SPANISH.glob("*.yaml"))
    assert len(ENGLISH_FILES) >= 40
    assert spanish == ENGLISH_FILES


@pytest.mark.parametrize("name", ENGLISH_FILES)
def test_translation_has_the_english_shape(name: str) -> None:
    en, es = _load(ENGLISH / name), _load(SPANISH / name)
    want = wanted(en)
    if "quiz" in es and "quiz" not in en:
        # A quiz translated ahead of its English text (the lead's late quizzes, merged later).
        es = {k: v for k, v in es.items() if k != "quiz"}
    assert _shape(es) == _shape(want)
    english = _texts(en)
    for path, text in _texts(es).items():
        assert text.strip() or not english[path].strip(), path


@pytest.mark.parametrize("name", ENGLISH_FILES)
def test_code_spans_and_commands_are_kept(name: str) -> None:
    en, es = _texts(_load(ENGLISH / name)), _texts(_load(SPANISH / name))
    for path, text in en.items():
        if path not in es:
            continue
        for span in re.findall(r"`([^`]+)`", text):
            assert f"`{' '.join(span.split())}`" in " ".join(es[path].split()), (path, span)
    if ".cli" in en and not en[".cli"].startswith("Root"):  # two `cli` texts are prose
        assert es[".cli"] == en[".cli"]


def _po_entries(text: str) -> list[dict[str, Any]]:
    """A small .po reader: each entry's flags, msgid(s) and msgstr(s), continuation lines joined."""
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] = {"flags": set()}
    key = ""
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if "msgid" in current:
                entries.append(current)
            current, key = {"flags": set()}, ""
        elif line.startswith("#,"):
            current["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            current[key] = ast.literal_eval(value)
    return entries


def test_po_is_complete_and_keeps_placeholders() -> None:
    entries = _po_entries(PO.read_text(encoding="utf-8"))
    header = entries[0]
    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header["msgstr"]
    messages = entries[1:]
    assert len(messages) >= 40
    for entry in messages:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        strs = [v for k, v in entry.items() if k.startswith("msgstr")]
        assert strs and all(s.strip() for s in strs), entry["msgid"]
        want = sorted(re.findall(r"\{[^{}]*\}", entry["msgid"]))
        for s in strs:
            assert sorted(re.findall(r"\{[^{}]*\}", s)) == want, entry["msgid"]
