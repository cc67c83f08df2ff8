"""A learner's progress through a learn course: which flaws they fixed (as the wizard's own
probe saw it, never self-reported), their quiz answers, the score per guideline and overall,
kept under XDG state (`$XDG_STATE_HOME/ami-wizard/learn/progress.json`, written atomically) so
a course resumes where it was left; and the completion record a trainer verifies.

Points: a fixed flaw is worth FIX_POINTS, each right quiz answer one point.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks._catalog import Question
from checks.base import catalog
from wizard import __version__
from wizard.config import state_dir
from wizard.errors import UsageError
from wizard.fsutil import write_atomic
from wizard.learn_scenario import Scenario, make_scenario

FIX_POINTS = 2
STATE_VERSION = 1
RECORD_KIND = "ami-wizard/learn-completion/v1"


def progress_file() -> Path:
    return state_dir() / "learn" / "progress.json"


def course_key(seed: int, level: str) -> str:
    return f"{level}-{seed}"


@dataclass
class Lesson:
    check_id: str
    fixed: bool = False
    answers: dict[str, int] = field(default_factory=dict)  # question id -> chosen index

    def to_dict(self) -> dict[str, Any]:
        return {"fixed": self.fixed, "answers": dict(self.answers)}


@dataclass
class Course:
    """One (seed, level) course: its scenario and the learner's lessons in order."""

    scenario: Scenario
    lessons: dict[str, Lesson]
    started: str = ""

    @classmethod
    def new(cls, seed: int, level: str) -> Course:
        scenario = make_scenario(seed, level)
        return cls(
            scenario,
            {i: Lesson(i) for i in scenario.check_ids},
            datetime.now(UTC).replace(microsecond=0).isoformat(),
        )

    @property
    def key(self) -> str:
        return course_key(self.scenario.seed, self.scenario.level)

    def quiz(self, check_id: str) -> tuple[Question, ...]:
        """The guideline's questions; none yet for a guideline without a `quiz:`."""
        return catalog()[check_id].quiz

    def answer(self, check_id: str, question_id: str, choice: int) -> bool:
        """Record an answer (the first one counts: no retrying for points); True if right."""
        question = next(q for q in self.quiz(check_id) if q.id == question_id)
        self.lessons[check_id].answers.setdefault(question_id, choice)
        return question.answer == choice

    def score(self, check_id: str) -> tuple[int, int]:
        """(points, out of) for one guideline."""
        lesson, quiz = self.lessons[check_id], self.quiz(check_id)
        right = sum(1 for q in quiz if lesson.answers.get(q.id) == q.answer)
        return (FIX_POINTS if lesson.fixed else 0) + right, FIX_POINTS + len(quiz)

    def total(self) -> tuple[int, int]:
        scores = [self.score(i) for i in self.lessons]
        return sum(s for s, _ in scores), sum(m for _, m in scores)

    def done(self, check_id: str) -> bool:
        lesson = self.lessons[check_id]
        return lesson.fixed and all(q.id in lesson.answers for q in self.quiz(check_id))

    @property
    def finished(self) -> bool:
        return all(self.done(i) for i in self.lessons)

    def next_lesson(self) -> str | None:
        return next((i for i in self.lessons if not self.done(i)), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.scenario.seed,
            "level": self.scenario.level,
            "tree": self.scenario.digest(),
            "started": self.started,
            "lessons": {i: lesson.to_dict() for i, lesson in self.lessons.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Course:
        course = cls.new(int(data["seed"]), str(data["level"]))
        if data.get("tree") != course.scenario.digest():
            return course  # another version of the scenarios: start this course again
        course.started = str(data.get("started") or course.started)
        for check_id, raw in dict(data.get("lessons", {})).items():
            if check_id in course.lessons and isinstance(raw, dict):
                course.lessons[check_id].fixed = bool(raw.get("fixed"))
                answers = raw.get("answers", {})
                if isinstance(answers, dict):
                    course.lessons[check_id].answers = {
                        str(k): int(v) for k, v in answers.items() if isinstance(v, int)
                    }
        return course


def _read_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {"version": STATE_VERSION, "courses": {}}
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the learn progress {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("courses"), dict):
        raise UsageError(f"{path}: not an ami-wizard learn progress file")
    return data


def load_course(seed: int | None, level: str | None, path: Path | None = None) -> Course:
    """The course to run: `seed`/`level` given -> that course (resumed when saved before);
    none given -> the last course, or a new one with a fresh seed."""
    state = _read_state(path or progress_file())
    if seed is None and level is None and state.get("current") in state["courses"]:
        return Course.from_dict(state["courses"][state["current"]])
    level = level or "basic"
    if seed is None:
        seed = int.from_bytes(os.urandom(3), "big")
    saved = state["courses"].get(course_key(seed, level))
    return Course.from_dict(saved) if isinstance(saved, dict) else Course.new(seed, level)


def save_course(course: Course, path: Path | None = None) -> Path:
    """Store the course's progress (other courses kept), atomically, mode 0600."""
    path = path or progress_file()
    state = _read_state(path)
    state["version"] = STATE_VERSION
    state["current"] = course.key
    state["courses"][course.key] = course.to_dict()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(state, indent=2, sort_keys=True) + "\n", 0o600)
    return path


def completion_record(course: Course, learner: str) -> dict[str, Any]:
    """What a trainer verifies: who, which course, each guideline's score, the total."""
    points, out_of = course.total()
    entries = catalog()
    return {
        "kind": RECORD_KIND,
        "tool": f"ami-wizard {__version__}",
        "learner": learner,
        "course": {"seed": course.scenario.seed, "level": course.scenario.level},
        "started": course.started,
        "written": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "finished": course.finished,
        "guidelines": [
            {
                "id": i,
                "title": entries[i].title,
                "fixed": course.lessons[i].fixed,
                "score": course.score(i)[0],
                "out_of": course.score(i)[1],
            }
            for i in course.lessons
        ],
        "score": points,
        "out_of": out_of,
    }
