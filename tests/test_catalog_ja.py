"""The Japanese catalog (checks/catalog/ja/) is complete and keeps what must not be translated.

Each English entry has a Japanese file with exactly its text keys (ids in the same order), every
quiz question keeps the number of choices (the answer is chosen by index in the English file),
the prose is really Japanese, and backticked code spans (commands, paths, keywords) are unchanged.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest

from checks._catalog import OPTION_TEXT_KEYS, STEP_TEXT_KEYS, TEXT_KEYS, load_yaml

QUIZ_TEXT_KEYS = ("question", "choices", "reason")
_FOLDER = resources.files("checks").joinpath("catalog")
_NAMES = sorted(i.name for i in _FOLDER.iterdir() if i.is_file() and i.name.endswith(".yaml"))
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_CODE = re.compile(r"`[^`]+`")
_PROSE = re.compile(r"[a-z]{3,} [a-z]{3,} [a-z]{3,}")  # three words in a row: a sentence


def _code(text: str) -> list[str]:
    """The backticked spans of a text, with line breaks inside a span read as spaces."""
    return sorted({" ".join(span.split()) for span in _CODE.findall(text)})


def _load(*parts: str) -> dict[str, Any]:
    data = load_yaml(_FOLDER.joinpath(*parts).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _items(data: dict[str, Any], kind: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"id": i["id"]} | {k: i[k] for k in keys if k in i} for i in data.get(kind) or []]


def _words(english: dict[str, Any]) -> dict[str, Any]:
    """The shape a translation must have: the English entry's text keys only."""
    out: dict[str, Any] = {k: english[k] for k in ("id", *TEXT_KEYS) if k in english}
    for kind, keys in (
        ("options", OPTION_TEXT_KEYS),
        ("steps", STEP_TEXT_KEYS),
        ("quiz", QUIZ_TEXT_KEYS),
    ):
        if english.get(kind):
            out[kind] = _items(english, kind, keys)
    return out


def _pairs(english: dict[str, Any], japanese: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(where, English text, Japanese text) for every translated string."""
    out = [(k, str(english[k]), str(japanese[k])) for k in TEXT_KEYS if k in english]
    for kind in ("options", "steps", "quiz"):
        for e, j in zip(english.get(kind) or [], japanese.get(kind) or [], strict=False):
            for key, value in e.items():
                if key == "choices":
                    out += [
                        (f"{kind}.{e['id']}.choices.{n}", str(a), str(b))
                        for n, (a, b) in enumerate(zip(value, j["choices"], strict=True))
                    ]
                elif key in (*OPTION_TEXT_KEYS, *STEP_TEXT_KEYS, *QUIZ_TEXT_KEYS) and key in j:
                    out.append((f"{kind}.{e['id']}.{key}", str(value), str(j[key])))
    return out


def test_every_english_file_has_a_japanese_one() -> None:
    japanese = {i.name for i in _FOLDER.joinpath("ja").iterdir() if i.name.endswith(".yaml")}
    assert _NAMES
    assert sorted(japanese) == _NAMES


@pytest.mark.parametrize("name", _NAMES)
def test_japanese_file_has_exactly_the_english_text_keys(name: str) -> None:
    english, japanese = _load(name), _load("ja", name)
    want = _words(english)
    if "quiz" not in english and "quiz" in japanese:
        # The lead's late English quizzes reach this branch only at the merge (main has them).
        want["quiz"] = _items(japanese, "quiz", QUIZ_TEXT_KEYS)
    assert list(japanese) == list(want), name
    for kind in ("options", "steps", "quiz"):
        got = japanese.get(kind) or []
        assert [i["id"] for i in got] == [i["id"] for i in want.get(kind, [])], (name, kind)
        assert [sorted(i) for i in got] == [sorted(i) for i in want.get(kind, [])], (name, kind)
    for e, j in zip(english.get("quiz") or [], japanese.get("quiz") or [], strict=False):
        assert len(j["choices"]) == len(e["choices"]), (name, e["id"])


@pytest.mark.parametrize("name", _NAMES)
def test_japanese_prose_is_japanese_and_keeps_code(name: str) -> None:
    english, japanese = _load(name), _load("ja", name)
    for where, en, ja in _pairs(english, japanese):
        if where in ("cli", "console") or where.endswith(".console"):
            continue  # a command or a console path may rightly stay as it is
        if en.isascii() and not _PROSE.search(en):
            continue  # a label that is only a config line (`UseDNS no`) stays as written
        assert _JAPANESE.search(ja), (name, where, ja)
        assert _code(ja) == _code(en), (name, where)
