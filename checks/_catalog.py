"""The catalog: every guideline's words as data (`catalog/<id>.yaml`), checked against a schema.

Each file is validated when it is loaded (`catalog/schema.json`, JSON Schema 2020-12, plus the
rules a schema cannot say: option and step ids unique, at most one recommended option, no id
twice); a bad file stops the load with one line naming the file and the field.

Languages: `catalog/<id>.yaml` is English and complete. A translation lives in
`catalog/<lang>/` under the English file's name and holds the same entry's words only (title, why, learn, console,
cli, each option's label and tradeoff, each step's title, action and console, each quiz
question's question, choices (as many, in the same order) and reason, never its answer): it must have a
file for every entry and every text key its English entry has, no more. `catalog(lang)` lays
it over the English entry.

Besides `checks`, more packages can carry a `catalog/` folder (`add_package`, used by the
check registry for checks that live outside this package).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import jsonschema
import yaml

from wizard.errors import WizardError
from wizard.i18n import current as current_language
from wizard.model import Evidence, Finding, Severity, Status

# libyaml's safe loader when PyYAML has it: 20x faster on the catalog (audit start-up).
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ENGLISH = "en"
# The keys a translation carries: the words, never ids, groups or flags.
TEXT_KEYS = ("title", "why", "learn", "console", "cli")
OPTION_TEXT_KEYS = ("label", "tradeoff")
STEP_TEXT_KEYS = ("title", "action", "console")
QUIZ_TEXT_KEYS = ("id", "question", "choices", "reason")

_packages: list[str] = ["checks"]


class CatalogError(WizardError):
    """A catalog file that does not follow the schema: one line, file and field."""


def load_yaml(text: str) -> Any:
    """yaml.safe_load, with libyaml's C safe loader when available."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader, C or Python)


@cache
def schema() -> dict[str, Any]:
    text = resources.files("checks").joinpath("catalog", "schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(data)
    return data


def groups() -> tuple[str, ...]:
    """The overview's groups, in order: the schema's `group` values (one place for both)."""
    return tuple(schema()["properties"]["group"]["enum"])


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    tradeoff: str
    recommended: bool = False
    reversible: bool = True  # False: the step destroys material that must not be journaled


@dataclass(frozen=True)
class Question:
    """One quiz question of a guideline (`quiz:` in its catalog file): the right choice is
    `choices[answer]`, and `reason` says why, shown after the learner answers."""

    id: str
    question: str
    choices: tuple[str, ...]
    answer: int
    reason: str


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    title: str
    group: str
    severity: Severity
    why: str  # short: why it matters
    learn: str  # fuller explanation for newcomers
    seed: str  # which seed section(s) this guideline comes from
    options: tuple[Option, ...]
    optional: bool = False  # the guideline itself is optional (e.g. UseDNS)
    console: str = ""  # account chapter: where in the AWS console to fix it
    cli: str = ""  # account chapter: the AWS CLI command that fixes it
    quiz: tuple[Question, ...] = ()  # `ami-wizard learn`'s questions (optional, English)

    @property
    def recommended(self) -> str | None:
        return next((o.id for o in self.options if o.recommended), None)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def finding(
        self,
        status: Status,
        summary: str,
        evidence: Iterable[Evidence] = (),
        severity: Severity | None = None,
    ) -> Finding:
        """Build this check's Finding; options and the recommended one come from the catalog."""
        return Finding(
            id=self.id,
            title=self.title,
            status=status,
            severity=severity or self.severity,
            summary=summary,
            evidence=tuple(evidence),
            options=tuple(o.id for o in self.options),
            recommended=self.recommended,
        )


def _field(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def validate(data: Any, where: str) -> dict[str, Any]:
    """The entry if it follows the schema and the catalog's own rules, else CatalogError
    `FILE: FIELD: problem` (the first problem found)."""
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise CatalogError(f"{where}: {_field(error.absolute_path)}: {error.message}")
    assert isinstance(data, dict)  # the schema says it is an object
    for kind in ("options", "steps", "quiz"):
        seen: set[str] = set()
        for n, item in enumerate(data.get(kind, [])):
            if item["id"] in seen:
                raise CatalogError(f"{where}: {kind}.{n}.id: {item['id']!r} appears twice")
            seen.add(item["id"])
    for n, q in enumerate(data.get("quiz", [])):
        if q["answer"] >= len(q["choices"]):
            raise CatalogError(f"{where}: quiz.{n}.answer: {q['answer']} is not one of the choices")
    recommended = [o["id"] for o in data["options"] if o.get("recommended")]
    if len(recommended) > 1:
        raise CatalogError(f"{where}: options: more than one recommended ({recommended})")
    return data


def _text_keys(data: dict[str, Any]) -> dict[str, Any]:
    """The translatable part of an entry, shaped like a translation file."""
    out: dict[str, Any] = {"id": data["id"]}
    out |= {k: data[k] for k in TEXT_KEYS if k in data}
    for kind, keys in (("options", OPTION_TEXT_KEYS), ("steps", STEP_TEXT_KEYS)):
        if data.get(kind):
            out[kind] = [{"id": i["id"]} | {k: i[k] for k in keys if k in i} for i in data[kind]]
    if data.get("quiz"):
        # same ids, same number and order of choices as English, no `answer` (it stays English)
        out["quiz"] = [{k: q[k] for k in QUIZ_TEXT_KEYS} for q in data["quiz"]]
    return out


def _shape(data: Any) -> Any:
    """The keys of a (nested) entry without its words: what two languages must share."""
    if isinstance(data, dict):
        return {k: (v if k == "id" else _shape(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_shape(v) for v in data]
    return None


def _files(folder: Traversable) -> Iterator[Traversable]:
    yield from sorted(
        (i for i in folder.iterdir() if i.is_file() and i.name.endswith(".yaml")),
        key=lambda p: p.name,
    )


def _folders() -> Iterator[tuple[str, Traversable]]:
    for package in _packages:
        folder = resources.files(package).joinpath("catalog")
        if folder.is_dir():
            yield package, folder


def _read(item: Traversable, where: str) -> Any:
    try:
        return load_yaml(item.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "(top level)"
        raise CatalogError(f"{where}: {line}: not YAML ({type(exc).__name__})") from None


@cache
def _english() -> dict[str, tuple[str, dict[str, Any]]]:
    entries: dict[str, tuple[str, dict[str, Any]]] = {}
    for package, folder in _folders():
        for item in _files(folder):
            where = f"{package}/catalog/{item.name}"
            data = validate(_read(item, where), where)
            if data["id"] in entries:
                raise CatalogError(f"{where}: id: {data['id']!r} is also {entries[data['id']][0]}")
            entries[data["id"]] = (where, data)
    return entries


def languages() -> tuple[str, ...]:
    """English, then every translation folder found (`catalog/<lang>/`)."""
    found = {sub.name for _, folder in _folders() for sub in folder.iterdir() if sub.is_dir()} - {
        "__pycache__"
    }
    return (ENGLISH, *sorted(found - {ENGLISH}))


@cache
def _translation(lang: str) -> dict[str, dict[str, Any]]:
    """One language's files, each checked to carry exactly its English entry's text keys."""
    english = _english()
    by_file = {where: i for i, (where, _) in english.items()}
    out: dict[str, dict[str, Any]] = {}
    for package, folder in _folders():
        sub = folder.joinpath(lang)
        if not sub.is_dir():
            continue
        for item in _files(sub):
            where = f"{package}/catalog/{lang}/{item.name}"
            data = _read(item, where)
            entry_id = by_file.get(f"{package}/catalog/{item.name}")
            if entry_id is None:
                raise CatalogError(f"{where}: (file): no English entry of that name")
            want = _shape(_text_keys(english[entry_id][1]))
            if not isinstance(data, dict) or _shape(data) != want:
                raise CatalogError(f"{where}: {_first_difference(want, _shape(data))}")
            out[entry_id] = data
    missing = sorted(english[i][0] for i in set(english) - set(out))
    if missing:
        package, _, name = missing[0].rpartition("/")
        raise CatalogError(f"{package}/{lang}/{name}: (file): missing translation")
    return out


def _first_difference(want: Any, got: Any, path: str = "") -> str:
    """`FIELD: missing` / `FIELD: not in the English entry` for the first key that differs."""
    here = path or "(top level)"
    if isinstance(want, dict) and isinstance(got, dict):
        for key in want:
            if key not in got:
                return f"{path + '.' if path else ''}{key}: missing"
        for key in got:
            if key not in want:
                return f"{path + '.' if path else ''}{key}: not in the English entry"
        for key in want:
            if want[key] != got[key]:
                return _first_difference(want[key], got[key], f"{path + '.' if path else ''}{key}")
    if isinstance(want, list) and isinstance(got, list) and len(want) != len(got):
        return f"{here}: does not match the English entry ({len(got)} items, not {len(want)})"
    if isinstance(want, list) and isinstance(got, list):
        for n, (w, g) in enumerate(zip(want, got, strict=True)):
            if w != g:
                return _first_difference(w, g, f"{path}.{n}")
    return f"{here}: does not match the English entry ({_shape(want)!r})"


def _entry(data: dict[str, Any], words: dict[str, Any] | None = None) -> CatalogEntry:
    text = data | ({k: words[k] for k in TEXT_KEYS if k in words} if words else {})
    labels = {o["id"]: o for o in (words or {}).get("options", [])}
    asked = {q["id"]: q for q in (words or {}).get("quiz", [])}
    return CatalogEntry(
        id=data["id"],
        title=text["title"],
        group=data["group"],
        severity=Severity(data["severity"]),
        why=text["why"].strip(),
        learn=text.get("learn", "").strip(),
        seed=data.get("seed", ""),
        optional=bool(data.get("optional", False)),
        console=str(text.get("console", "")).strip(),
        cli=str(text.get("cli", "")).strip(),
        options=tuple(
            Option(
                id=o["id"],
                label=labels.get(o["id"], o)["label"],
                tradeoff=labels.get(o["id"], o)["tradeoff"].strip(),
                recommended=bool(o.get("recommended", False)),
                reversible=bool(o.get("reversible", True)),
            )
            for o in data.get("options", [])
        ),
        quiz=tuple(
            Question(
                id=q["id"],
                question=" ".join(asked.get(q["id"], q)["question"].split()),
                choices=tuple(" ".join(c.split()) for c in asked.get(q["id"], q)["choices"]),
                answer=int(q["answer"]),
                reason=" ".join(asked.get(q["id"], q)["reason"].split()),
            )
            for q in data.get("quiz", [])
        ),
    )


def catalog(lang: str | None = None) -> dict[str, CatalogEntry]:
    """Every catalog entry by check id (validated), in `lang` (default: the UI language,
    wizard.i18n) when that language has a catalog folder, else in English."""
    lang = lang or current_language()
    return _catalog_in(lang if lang in languages() else ENGLISH)


@cache
def _catalog_in(lang: str) -> dict[str, CatalogEntry]:
    words = _translation(lang) if lang != ENGLISH else {}
    return {i: _entry(data, words.get(i)) for i, (_, data) in _english().items()}


def raw(entry_id: str, lang: str = ENGLISH) -> dict[str, Any]:
    """An entry's validated data as in its file (e.g. the runbook's steps), words in `lang`."""
    data = _english()[entry_id][1]
    if lang == ENGLISH:
        return data
    words = _translation(lang)[entry_id]
    out = data | {k: words[k] for k in TEXT_KEYS if k in words}
    for kind in ("options", "steps"):
        if kind in data:
            by_id = {i["id"]: i for i in words.get(kind, [])}
            out[kind] = [i | by_id.get(i["id"], {}) for i in data[kind]]
    return out


def add_package(package: str) -> None:
    """Also read `<package>/catalog/` (the registry's extra check packages)."""
    if package not in _packages:
        _packages.append(package)
        clear()


def remove_package(package: str) -> None:
    if package in _packages and package != "checks":
        _packages.remove(package)
        clear()


def clear() -> None:
    for fn in (_english, _translation, _catalog_in):
        fn.cache_clear()
