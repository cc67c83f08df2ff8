"""`ami-wizard learn` in the TUI: a lesson end to end — the flaw fixed in the wizard and
judged by a fresh probe, a second one fixed "at the shell" (the file changed under the
practice root) and checked, the quiz answered — with the score shown and saved."""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text
from textual.widgets import OptionList, Static

from checks.base import catalog
from screens.confirm_dialog import ConfirmDialog
from screens.guideline import GuidelineScreen
from screens.learn import CourseScreen, LearnApp, QuizScreen
from tests.tui.conftest import settle
from wizard.learn import LearnRun
from wizard.learn_progress import FIX_POINTS, Course
from wizard.learn_scenario import make_scenario

MACHINE_ID = "machine-id"  # prose to the registry test: data here, not a literal in wizard/


def static_text(widget: Static) -> str:
    content = widget.render()
    return content.plain if isinstance(content, Text) else str(content)


def _seed_with(check_id: str, other: str) -> int:
    """A basic scenario that plants both flaws (the filled machine id is a normal-phase fix)."""
    return next(
        s
        for s in range(200)
        if {check_id, other} <= set(make_scenario(s, "basic").check_ids)
        and dict((f.check_id, f.variant) for f in make_scenario(s, "basic").flaws)[check_id]
        == "filled"
    )


async def test_a_lesson_end_to_end_with_quiz_and_score(tmp_path: Path) -> None:
    other = "shell-history"
    seed = _seed_with(MACHINE_ID, other)
    state = tmp_path / "state" / "progress.json"
    run = LearnRun.start(Course.new(seed, "basic"), str(tmp_path), state)
    app = LearnApp(run)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            course = app.screen
            assert isinstance(course, CourseScreen)
            assert run.course.total()[0] == 0
            # the lesson: the catalog's explanation first
            lessons = course.query_one("#lessons", OptionList)
            while lessons.get_option_at_index(lessons.highlighted or 0).id != MACHINE_ID:
                await pilot.press("down")
            await pilot.pause()
            text = static_text(course.query_one("#lesson-text", Static))
            assert catalog()[MACHINE_ID].title in text
            assert "still there" in static_text(course.query_one("#lesson-state", Static))
            # fix it in the wizard: the guideline's recommended option, applied and verified
            await pilot.press("w")
            await settle(pilot)
            assert isinstance(app.screen, GuidelineScreen)
            await pilot.press("a")
            await pilot.pause()
            if isinstance(app.screen, ConfirmDialog):
                await pilot.press("y")
            await settle(pilot)
            assert (run.root / "etc/machine-id").read_text() == ""
            assert run.course.lessons[MACHINE_ID].fixed
            await pilot.press("f3")
            await settle(pilot)
            course = app.screen
            assert isinstance(course, CourseScreen) and course.current == MACHINE_ID
            assert "Fixed" in static_text(course.query_one("#lesson-state", Static))
            # the quiz: first answer right, the second wrong; each shows its reason
            await pilot.press("q")
            await pilot.pause()
            quiz = app.screen
            assert isinstance(quiz, QuizScreen)
            questions = run.course.quiz(MACHINE_ID)
            for n, q in enumerate(questions):
                choice = q.answer if n == 0 else (q.answer + 1) % len(q.choices)
                await pilot.press(str(choice + 1))
                await pilot.pause()
                verdict = static_text(quiz.query_one("#verdict", Static))
                assert ("Right." if n == 0 else "Not quite") in verdict
                assert q.reason[:30] in " ".join(verdict.split())
                await pilot.press("n")
                await pilot.pause()
            right = 1
            want = FIX_POINTS + right
            assert f"{want}/{FIX_POINTS + len(questions)} points" in static_text(
                quiz.query_one("#question", Static)
            )
            await pilot.press("enter")
            await settle(pilot)
            assert run.course.score(MACHINE_ID) == (want, FIX_POINTS + len(questions))
            assert run.course.done(MACHINE_ID)
            # a second flaw fixed at the shell (the files change under the practice root)
            for p in run.root.rglob("*"):
                if p.is_file() and "hist" in p.name:
                    p.unlink()
            await pilot.press("c")
            await settle(pilot)
            assert run.course.lessons[other].fixed
            score = static_text(app.screen.query_one("#course-score", Static))
            points, out_of = run.course.total()
            assert f"score {points}/{out_of}" in score and points == want + FIX_POINTS
            # the rest of the course, then the final summary chart
            for check_id, lesson in run.course.lessons.items():
                lesson.fixed = True
                for q in run.course.quiz(check_id):
                    run.course.answer(check_id, q.id, q.answer)
            run.save()
            app.screen.refresh_course()  # type: ignore[attr-defined]
            await pilot.pause()
            final = static_text(app.screen.query_one("#lesson-state", Static))
            assert "Course finished" in static_text(app.screen.query_one("#course-score", Static))
            total = run.course.total()
            assert f"Total: {total[0]}/{total[1]}" in final and "█" in final
        # saved (atomically, under the given state file): a new course object resumes it
        saved = json.loads(state.read_text())
        assert saved["current"] == f"basic-{seed}"
        lesson = saved["courses"][f"basic-{seed}"]["lessons"][MACHINE_ID]
        assert lesson["fixed"] and len(lesson["answers"]) == len(questions)
        resumed = Course.from_dict(saved["courses"][f"basic-{seed}"])
        assert resumed.total() == run.course.total()
    finally:
        run.close()
    assert not run.root.exists()
