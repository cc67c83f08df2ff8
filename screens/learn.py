"""`ami-wizard learn`: the wizard on a planted practice image, with a course on top.

The course screen walks the scenario's guidelines: the explanation (from the catalog), then
the learner finds and fixes the flaw — in the wizard (w) or at a shell on the practice image
(s) — and checks it (c: probe again; the probe is the judge), then the quiz (q). The scores
are saved after every step (in a worker: screens do no I/O themselves).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Header, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from checks.base import catalog
from screens.app import WizardApp
from screens.base import WizardScreen, letter
from wizard.config import AwsConfig, Config
from wizard.i18n import _
from wizard.learn import LearnRun
from wizard.learn_account import REGION
from wizard.results import AuditResult


def lesson_prompt(run: LearnRun, check_id: str) -> Text:
    course = run.course
    lesson = course.lessons[check_id]
    points, out_of = course.score(check_id)
    mark = "[DONE]" if course.done(check_id) else "[FIXD]" if lesson.fixed else "[    ]"
    return Text.assemble((mark, "bold"), f" {points}/{out_of} ", catalog()[check_id].title)


def course_chart(run: LearnRun, width: int = 20) -> Text:
    """The course's final summary: one bar per guideline (points of its maximum), the total."""
    course = run.course
    text = Text("Your course, guideline by guideline:\n", style="bold")
    for check_id in course.lessons:
        points, out_of = course.score(check_id)
        full = round(width * points / out_of) if out_of else 0
        text.append("█" * full, style="green")
        text.append("░" * (width - full), style="dim")
        text.append(f" {points}/{out_of} {catalog()[check_id].title}\n")
    points, out_of = course.total()
    text.append(f"Total: {points}/{out_of}", style="bold")
    if course.scenario.decoys:
        text.append("\nLook-alikes that were fine: " + "; ".join(course.scenario.decoys) + ".")
    return text


class QuizScreen(ModalScreen[bool]):
    """One guideline's quiz, a question at a time: 1-5 answers, then the reason; n next."""

    CSS_PATH = "learn.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(n), f"answer({n - 1})", show=False) for n in range(1, 6)),
        Binding("n,enter", "next", _("Next"), id="quiz-next"),
        Binding("escape", "dismiss_quiz", _("Later"), id="quiz-later"),
    ]

    def __init__(self, run: LearnRun, check_id: str) -> None:
        super().__init__()
        self.learn_run = run
        self.check_id = check_id
        self.questions = run.course.quiz(check_id)
        lesson = run.course.lessons[check_id]
        # resume at the first question not answered yet
        self.index = next(
            (n for n, q in enumerate(self.questions) if q.id not in lesson.answers),
            len(self.questions),
        )
        self.answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="quiz"):
            yield Static(id="question")
            yield Static(id="verdict")

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        verdict = self.query_one("#verdict", Static)
        if self.index >= len(self.questions):
            points, out_of = self.learn_run.course.score(self.check_id)
            self.query_one("#question", Static).update(
                Text(f"Quiz done. This guideline: {points}/{out_of} points.")
            )
            verdict.update(Text("Enter: back to the lesson"))
            return
        q = self.questions[self.index]
        lines = [f"Question {self.index + 1} of {len(self.questions)}", "", q.question, ""]
        lines += [f"  {n}) {c}" for n, c in enumerate(q.choices, 1)]
        self.query_one("#question", Static).update(Text("\n".join(lines)))
        verdict.update(Text(f"Press 1-{len(q.choices)} to answer."))

    def action_answer(self, choice: int) -> None:
        if self.answered or self.index >= len(self.questions):
            return
        q = self.questions[self.index]
        if choice >= len(q.choices):
            return
        right = self.learn_run.course.answer(self.check_id, q.id, choice)
        self.answered = True
        head = (
            "Right."
            if right
            else f"Not quite: the answer is {q.answer + 1}) {q.choices[q.answer]}."
        )
        self.query_one("#verdict", Static).update(
            Text.assemble(
                (head, "bold green" if right else "bold red"), "\n", q.reason, "\n\nn: next"
            )
        )

    def action_next(self) -> None:
        if self.index >= len(self.questions):
            self.dismiss(True)
            return
        if not self.answered:
            return
        self.index += 1
        self.answered = False
        self._show()

    def action_dismiss_quiz(self) -> None:
        self.dismiss(False)


class CourseScreen(WizardScreen):
    """The course: lessons on the left, the chosen one's explanation and state on the right."""

    CSS_PATH = "learn.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        letter("w", "fix_in_wizard", "Fix in wizard", id="learn-wizard"),
        letter("s", "app.learn_shell", "Shell", id="learn-shell"),
        letter("c", "app.reprobe", "Check fix", id="learn-check"),
        letter("q", "quiz", "Quiz", id="learn-quiz"),
        letter("o", "app.overview_from_course", "Overview", id="learn-overview"),
        Binding("escape", "app.overview_from_course", show=False),
    ]

    def __init__(self, run: LearnRun) -> None:
        super().__init__()
        self.learn_run = run
        self.current = run.current or run.course.next_lesson() or next(iter(run.course.lessons), "")

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="course-line"):
            yield Static(id="course-score")
            yield ProgressBar(total=1, show_eta=False, id="course-progress")
        with Horizontal():
            yield OptionList(id="lessons")
            with VerticalScroll(id="lesson"):
                yield Static(id="lesson-text")
                yield Static(id="lesson-state")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_course()
        self.query_one("#lessons", OptionList).focus()
        self.set_interval(0.25, self._show_probing)

    def _show_probing(self) -> None:
        """A LoadingIndicator over the lesson's state while a probe judges the fixes."""
        gate = self.wizard.gate
        probing = gate.busy and "prob" in gate.doing
        state = self.query_one("#lesson-state", Static)
        if state.loading != probing:
            state.loading = probing

    def refresh_course(self) -> None:
        course = self.learn_run.course
        lessons = self.query_one("#lessons", OptionList)
        lessons.clear_options()
        lessons.add_options(
            [Option(lesson_prompt(self.learn_run, i), id=i) for i in course.lessons]
        )
        if self.current in course.lessons:
            lessons.highlighted = list(course.lessons).index(self.current)
        points, out_of = course.total()
        done = sum(1 for i in course.lessons if course.done(i))
        level, seed = course.scenario.level, course.scenario.seed
        finished = "  Course finished!" if course.finished else ""
        self.query_one("#course-score", Static).update(
            Text(
                f"Course {level} #{seed}: {done}/{len(course.lessons)} lessons, "
                f"score {points}/{out_of}{finished}  "
            )
        )
        self.query_one("#course-progress", ProgressBar).update(
            total=len(course.lessons) or 1, progress=done
        )
        self._show_lesson()

    def _show_lesson(self) -> None:
        if not self.current:
            return
        entry = catalog()[self.current]
        lesson = self.learn_run.course.lessons[self.current]
        text = Text.assemble((entry.title, "bold"), "\n\n", entry.why, "\n\n", entry.learn or "")
        self.query_one("#lesson-text", Static).update(text)
        quiz = self.learn_run.course.quiz(self.current)
        answered = sum(1 for q in quiz if q.id in lesson.answers)
        if lesson.fixed:
            state = Text("Fixed: the wizard's probe no longer finds the flaw.", style="green")
        else:
            state = Text(
                "The flaw is still there. Find it and fix it: w opens this guideline in the "
                "wizard, s opens a shell in the practice image; c checks your fix.",
                style="yellow",
            )
        if lesson.fixed:
            where = next(
                f.where for f in self.learn_run.course.scenario.flaws if f.check_id == self.current
            )
            state.append(f"\nWhere it was hidden: {where}.")
        if quiz:
            state.append(f"\nQuiz: {answered}/{len(quiz)} answered (q).")
        else:
            state.append("\nNo quiz for this guideline yet.")
        if self.learn_run.course.finished:
            state.append("\n\n")
            state.append_text(course_chart(self.learn_run))
        self.query_one("#lesson-state", Static).update(state)

    @on(OptionList.OptionHighlighted, "#lessons")
    def _chosen(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.current:
            self.current = self.learn_run.current = event.option.id
            self._show_lesson()

    def action_fix_in_wizard(self) -> None:
        self.wizard.action_open_guideline(self.current)

    def action_quiz(self) -> None:
        if not self.learn_run.course.quiz(self.current):
            self.notify(_("this guideline has no quiz yet"))
            return

        def done(_: bool | None) -> None:
            self.run_worker(self.learn_run.save, name="save progress", thread=True, group="learn")
            self.current = self.learn_run.current = (
                self.learn_run.course.next_lesson() or self.current
            )
            self.refresh_course()

        self.app.push_screen(QuizScreen(self.learn_run, self.current), done)


class LearnApp(WizardApp):
    """The wizard on the course's practice image, with the course screen on top."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f3", "course", _("Course"), id="course"),
    ]

    def __init__(self, run: LearnRun) -> None:
        aws = AwsConfig(region=REGION, configured=True) if run.account else AwsConfig()
        super().__init__(
            "demo",
            config=Config(aws=aws),
            learn=True,
            practice_root=str(run.root),
            save_recent=False,
        )
        self.learn_run = run

    def on_mount(self) -> None:
        # Textual also runs WizardApp.on_mount (handlers run per class): it opens the target
        # and pushes the overview; the course goes on top once that is done.
        self.call_after_refresh(self.push_screen, CourseScreen(self.learn_run))
        self.watch(self, "result", self._judge, init=False)
        if self.learn_run.account_note:
            self.notify(self.learn_run.account_note, title=_("chapter 003"), timeout=8)

    def _judge(self, result: AuditResult | None) -> None:
        """Every fresh probe judges the lessons: a guideline that now passes is fixed."""
        if result is None:
            return
        fixed = self.learn_run.verify(result)
        if fixed:
            self.notify(
                "\n".join(f"fixed: {self.learn_run.title(i)}" for i in fixed), title=_("well done")
            )
            self.action_save_progress()
        for screen in self.screen_stack:
            if isinstance(screen, CourseScreen):
                screen.refresh_course()

    def action_save_progress(self) -> None:
        self.run_worker(self.learn_run.save, name="save progress", thread=True, group="learn")

    def action_course(self) -> None:
        """Back to the course (the wizard's screens pop it when they open a guideline)."""
        if not any(isinstance(s, CourseScreen) for s in self.screen_stack):
            self._to_overview()
            self.push_screen(CourseScreen(self.learn_run))
            return
        while not isinstance(self.screen, CourseScreen):
            self.pop_screen()

    def action_overview_from_course(self) -> None:
        self._to_overview()

    def action_learn_shell(self) -> None:
        """A shell in the practice image (the app is suspended meanwhile), then a re-probe."""
        if self.gate.busy:
            self.notify_busy()
            return
        with self.suspend():
            self.learn_run.run_shell()
        self.action_reprobe()
