"""The quizzes in the catalog: optional, schema-checked, and present for every guideline a
learn scenario can teach."""

from __future__ import annotations

from typing import Any

import pytest

from checks._catalog import CatalogError, validate
from checks.base import catalog
from wizard.learn_scenario import teachable

ENTRY: dict[str, Any] = {
    "id": "sample",
    "title": "A sample guideline",
    "group": "traces",
    "severity": "low",
    "seed": "none",
    "why": "It is a sample.",
    "options": [{"id": "keep", "label": "Keep", "tradeoff": "Nothing changes."}],
}
QUESTION = {"id": "q", "question": "Which?", "choices": ["a", "b"], "answer": 1, "reason": "b."}


def test_every_teachable_guideline_has_a_quiz_of_two_or_three() -> None:
    entries = catalog()
    for check_id in teachable():
        quiz = entries[check_id].quiz
        assert 2 <= len(quiz) <= 3, check_id
        for q in quiz:
            assert 0 <= q.answer < len(q.choices) and q.reason and q.question, (check_id, q.id)


def test_a_quiz_is_optional() -> None:
    assert validate(dict(ENTRY), "x.yaml")["id"] == "sample"
    assert validate(ENTRY | {"quiz": [QUESTION, QUESTION | {"id": "r"}]}, "x.yaml")


@pytest.mark.parametrize(
    ("quiz", "message"),
    [
        (
            [QUESTION, QUESTION | {"id": "r", "answer": 2}],
            "quiz.1.answer: 2 is not one of the choices",
        ),
        ([QUESTION, QUESTION], "quiz.1.id: 'q' appears twice"),
        ([QUESTION], "quiz: .* is too short"),
        (
            [QUESTION, {k: v for k, v in QUESTION.items() if k != "reason"}],
            "'reason' is a required",
        ),
    ],
)
def test_a_bad_quiz_is_one_line(quiz: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        validate(ENTRY | {"quiz": quiz}, "x.yaml")


def test_a_guideline_without_a_quiz_still_makes_a_lesson(monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.learn_progress import FIX_POINTS, Course

    course = Course.new(2, "basic")
    first = next(iter(course.lessons))
    monkeypatch.setattr(Course, "quiz", lambda self, check_id: ())
    assert course.score(first) == (0, FIX_POINTS) and not course.done(first)
    course.lessons[first].fixed = True
    assert course.score(first) == (FIX_POINTS, FIX_POINTS) and course.done(first)
    assert course.next_lesson() != first
