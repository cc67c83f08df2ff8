"""The catalog as data: every file follows checks/catalog/schema.json, a bad one fails at
load with one line naming the file and the field, and translations must carry every key."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks import _catalog
from checks._catalog import CatalogError, validate
from checks.base import GROUPS
from wizard.model import Severity

ENTRY: dict[str, Any] = {
    "id": "sample",
    "title": "A sample guideline",
    "group": "traces",
    "severity": "low",
    "seed": "none",
    "why": "It is a sample. Nothing more.",
    "learn": "Nothing to learn.",
    "options": [
        {"id": "keep", "label": "Keep", "tradeoff": "Nothing changes.", "recommended": True},
        {"id": "drop", "label": "Drop", "tradeoff": "It goes."},
    ],
}


def catalog_files() -> list[str]:
    folder = resources.files("checks").joinpath("catalog")
    return sorted(i.name for i in folder.iterdir() if i.name.endswith(".yaml"))


@pytest.mark.parametrize("name", catalog_files())
def test_every_catalog_file_follows_the_schema(name: str) -> None:
    where = f"checks/catalog/{name}"
    text = resources.files("checks").joinpath("catalog", name).read_text("utf-8")
    assert validate(yaml.safe_load(text), where)["id"]


def test_schema_enums_are_the_models() -> None:
    props = _catalog.schema()["properties"]
    assert props["severity"]["enum"] == [s.value for s in Severity]
    assert tuple(props["group"]["enum"]) == GROUPS


def _with(**changes: Any) -> dict[str, Any]:
    return {**ENTRY, **changes}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({k: v for k, v in ENTRY.items() if k != "why"}, "(top level): 'why' is a required"),
        (_with(group="nowhere"), "group: 'nowhere' is not one of"),
        (_with(severity="dire"), "severity: 'dire' is not one of"),
        (_with(title=""), "title: '' does not match"),
        (_with(colour="red"), "(top level): Additional properties are not allowed ('colour'"),
        (_with(options=[{"id": "keep", "label": "Keep"}]), "options.0: 'tradeoff' is a required"),
        (_with(options=[{**ENTRY["options"][0], "recommended": "yes"}]), "options.0.recommended"),
        (_with(options=[ENTRY["options"][0]] * 2), "options.1.id: 'keep' appears twice"),
        (
            _with(options=[{**o, "recommended": True} for o in ENTRY["options"]]),
            "options: more than one recommended (['keep', 'drop'])",
        ),
        (_with(id="Not An Id"), "id: 'Not An Id' does not match"),
    ],
)
def test_a_bad_entry_is_one_line_with_file_and_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogError) as info:
        validate(data, "pkg/catalog/sample.yaml")
    text = str(info.value)
    assert text.startswith(f"pkg/catalog/sample.yaml: {message}"), text
    assert "\n" not in text


# --- a package of its own: loading, and translations ---------------------------------------


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty package `catalog_sample` whose catalog is the only one read."""
    pkg = tmp_path / "catalog_sample"
    (pkg / "catalog").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "catalog" / "sample.yaml").write_text(yaml.safe_dump(ENTRY))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_catalog, "_packages", ["catalog_sample"])
    _catalog.clear()
    yield pkg / "catalog"
    monkeypatch.undo()
    sys.modules.pop("catalog_sample", None)
    _catalog.clear()


def spanish(**changes: Any) -> dict[str, Any]:
    words: dict[str, Any] = {
        "id": "sample",
        "title": "Una guía de ejemplo",
        "why": "Es un ejemplo. Nada más.",
        "learn": "Nada que aprender.",
        "options": [
            {"id": "keep", "label": "Mantener", "tradeoff": "Nada cambia."},
            {"id": "drop", "label": "Quitar", "tradeoff": "Se va."},
        ],
    }
    return {**words, **changes}


def test_a_bad_file_fails_the_load_naming_it(package: Path) -> None:
    (package / "sample.yaml").write_text(yaml.safe_dump(_with(severity="dire")))
    with pytest.raises(CatalogError, match=r"^catalog_sample/catalog/sample.yaml: severity: "):
        _catalog.catalog()
    (package / "sample.yaml").write_text("id: [unclosed\n")
    with pytest.raises(CatalogError, match=r"^catalog_sample/catalog/sample.yaml: line 2: not"):
        _catalog.catalog()


def test_a_translation_lays_its_words_over_english(package: Path) -> None:
    (package / "es").mkdir()
    (package / "es" / "sample.yaml").write_text(yaml.safe_dump(spanish(), allow_unicode=True))
    assert _catalog.languages() == ("en", "es")
    entry = _catalog.catalog("es")["sample"]
    assert entry.title == "Una guía de ejemplo"
    assert [o.label for o in entry.options] == ["Mantener", "Quitar"]
    assert entry.recommended == "keep" and entry.group == "traces"  # not the translator's
    assert _catalog.catalog()["sample"].title == "A sample guideline"


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ({k: v for k, v in spanish().items() if k != "learn"}, "learn: missing"),
        (spanish(group="traces"), "group: not in the English entry"),
        (spanish(options=spanish()["options"][:1]), "options: does not match"),
        (
            spanish(options=[{"id": "keep", "label": "Mantener"}, spanish()["options"][1]]),
            "options.0.tradeoff: missing",
        ),
    ],
)
def test_a_translation_must_have_every_key_and_no_other(
    package: Path, words: dict[str, Any], message: str
) -> None:
    (package / "es").mkdir()
    (package / "es" / "sample.yaml").write_text(yaml.safe_dump(words, allow_unicode=True))
    with pytest.raises(CatalogError) as info:
        _catalog.catalog("es")
    assert str(info.value).startswith(f"catalog_sample/catalog/es/sample.yaml: {message}")


def test_a_missing_translation_file_is_named(package: Path) -> None:
    (package / "es").mkdir()
    (package / "other.yaml").write_text(yaml.safe_dump(_with(id="other")))
    (package / "es" / "sample.yaml").write_text(yaml.safe_dump(spanish(), allow_unicode=True))
    _catalog.clear()
    with pytest.raises(CatalogError, match=r"^catalog_sample/catalog/es/other.yaml: \(file\): "):
        _catalog.catalog("es")


def test_the_shipped_languages_are_complete() -> None:
    for lang in _catalog.languages():
        assert set(_catalog.catalog(lang)) == set(_catalog.catalog())


QUIZ = [
    {"id": q, "question": f"Question {q}?", "choices": ["Yes", "No", "Maybe"], "answer": 1}
    | {"reason": "Because."}
    for q in ("one", "two")
]


def spanish_quiz(**changes: Any) -> list[dict[str, Any]]:
    return [
        {"id": q, "question": f"¿Pregunta {q}?", "choices": ["Sí", "No", "Quizá"]}
        | {"reason": "Porque sí."}
        | changes
        for q in ("one", "two")
    ]


def test_a_translated_quiz_keeps_the_english_answer(package: Path) -> None:
    (package / "sample.yaml").write_text(yaml.safe_dump(_with(quiz=QUIZ)))
    (package / "es").mkdir()
    words = spanish(quiz=spanish_quiz())
    (package / "es" / "sample.yaml").write_text(yaml.safe_dump(words, allow_unicode=True))
    question = _catalog.catalog("es")["sample"].quiz[0]
    assert question.question == "¿Pregunta one?" and question.choices[0] == "Sí"
    assert question.answer == 1 and question.reason == "Porque sí."
    assert _catalog.catalog("en")["sample"].quiz[0].question == "Question one?"


@pytest.mark.parametrize(
    ("quiz", "message"),
    [
        (spanish_quiz(answer=1), "quiz.0.answer: not in the English entry"),
        ([{k: v for k, v in q.items() if k != "reason"} for q in spanish_quiz()], "quiz.0.reason"),
        (spanish_quiz(choices=["Sí", "No"]), "quiz.0.choices: does not match the English entry"),
        (spanish_quiz()[:1], "quiz: does not match the English entry (1 items, not 2)"),
    ],
)
def test_a_translated_quiz_must_match_english(
    package: Path, quiz: list[dict[str, Any]], message: str
) -> None:
    (package / "sample.yaml").write_text(yaml.safe_dump(_with(quiz=QUIZ)))
    (package / "es").mkdir()
    words = spanish(quiz=quiz)
    (package / "es" / "sample.yaml").write_text(yaml.safe_dump(words, allow_unicode=True))
    with pytest.raises(CatalogError) as info:
        _catalog.catalog("es")
    assert str(info.value).startswith(f"catalog_sample/catalog/es/sample.yaml: {message}")
    assert "\n" not in str(info.value)
