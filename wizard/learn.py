"""`ami-wizard learn`'s engine: one course on one planted practice image (and, when moto is
installed, a practice AWS account), the screens' door for everything that is not the wizard
itself. The screens call it from workers or while the app is suspended; it does the I/O.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from checks import registry
from wizard.learn_account import (
    MOTO_MISSING,
    PracticeAccount,
    moto_available,
    start_practice_account,
)
from wizard.learn_plant import make_scenario_image
from wizard.learn_progress import Course, save_course
from wizard.model import Status
from wizard.results import AuditResult


@dataclass
class LearnRun:
    """A course being taken: the planted image (removed on close) and the progress."""

    course: Course
    root: Path
    state_path: Path | None = None  # None: the XDG state file
    account: PracticeAccount | None = None
    account_note: str = ""
    current: str = ""  # the lesson the learner looks at (kept while the wizard's screens are open)

    @classmethod
    def start(
        cls, course: Course, parent: str | None = None, state_path: Path | None = None
    ) -> LearnRun:
        return cls(course, make_scenario_image(course.scenario, parent), state_path)

    def start_account(self) -> str:
        """Start the practice AWS account; returns one line saying what happened."""
        if not moto_available():
            self.account_note = MOTO_MISSING
            return self.account_note
        self.account = start_practice_account(self.course.scenario.seed)
        users = ", ".join(self.account.users)
        self.account_note = f"practice AWS account on {self.account.url} (users {users})"
        return self.account_note

    def verify(self, result: AuditResult) -> list[str]:
        """Mark the lessons whose guideline now passes (the wizard's probe is the judge);
        returns the check ids fixed by this result. A fix stays counted once seen."""
        status = {f.id: f.status for f in result.findings}
        fixed = []
        for check_id, lesson in self.course.lessons.items():
            if not lesson.fixed and status.get(check_id) == Status.PASS:
                lesson.fixed = True
                fixed.append(check_id)
        return fixed

    def save(self) -> Path:
        return save_course(self.course, self.state_path)

    def title(self, check_id: str) -> str:
        return registry.get(check_id).entry.title

    def shell_argv(self) -> list[str]:
        return [os.environ.get("SHELL") or "/bin/sh"]

    def run_shell(self) -> int:
        """A subshell with its working directory in the practice root (blocking; the app is
        suspended meanwhile). Paths inside the image are relative: `cat etc/ssh/sshd_config`."""
        env = dict(os.environ, AMI_WIZARD_PRACTICE_ROOT=str(self.root))
        print(
            f"\nA shell in the practice image: {self.root}\n"
            "Paths in the image are relative here (etc/ssh/sshd_config, home/...). "
            "Fix what you found, then type `exit` to go back to the lesson.\n",
            flush=True,
        )
        return subprocess.call(self.shell_argv(), cwd=self.root, env=env)

    def close(self) -> None:
        if self.account is not None:
            self.account.stop()
            self.account = None
        shutil.rmtree(self.root, ignore_errors=True)
