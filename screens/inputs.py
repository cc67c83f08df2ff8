"""The values the operator types for a guideline (its `META.inputs`): the identify screen's
publisher, description and contact, the launch-key screen's user.

A panel on the guideline screen: one validated Input per value, the check's suggestions
under it (the first is the default), and Save. The values are validated here as typed (the
check's own pure rules, on the latest facts), and saved by a worker through the driver, which
writes the config file atomically and judges the facts again; this panel does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Static

from checks import registry
from checks.registry import OperatorInput
from screens.host import WizardHost
from screens.messages import Audited, EngineFailed, Saved
from screens.workers import failing_as
from wizard.facts import Facts
from wizard.i18n import _


class _Rule(Validator):
    """The check's rule for one input, on the facts of the latest audit (asked each time)."""

    def __init__(self, spec: OperatorInput, facts: Callable[[], Facts | None]) -> None:
        super().__init__()
        self.spec = spec
        self.facts = facts

    def validate(self, value: str) -> ValidationResult:
        facts = self.facts()
        if facts is None:
            return self.failure("not probed yet: wait for the probe")
        problem = self.spec.problem(facts, " ".join(value.split()))
        return self.failure(problem) if problem else self.success()


def suggestion_text(suggestions: tuple[str, ...], current: str) -> Text:
    """The default (first suggestion) and the other good values, for the hint line."""
    if not suggestions:
        return Text("")
    text = Text()
    text.append("default: " if not current else "the default would be: ", style="dim")
    text.append(suggestions[0], style="bold")
    if len(suggestions) > 1:
        text.append("; also possible: " + ", ".join(suggestions[1:]), style="dim")
    return text


class InputsPanel(Vertical):
    """The inputs of one check; posts Audited(result, "inputs") once they are saved."""

    def __init__(self, check_id: str) -> None:
        super().__init__(id="inputs")
        self.check_id = check_id
        self.specs = registry.inputs(check_id)

    @property
    def wizard(self) -> WizardHost:
        app = self.app
        assert isinstance(app, WizardHost)
        return app

    def compose(self) -> ComposeResult:
        yield Label(
            "Your answers (kept in the wizard's config file, never on the target; "
            "Enter or Save keeps them):",
            classes="section",
        )
        for n, spec in enumerate(self.specs):
            yield Label(spec.label, classes="input-label")
            yield Input(
                id=f"input-{n}",
                placeholder=spec.placeholder,
                max_length=spec.max_length,
                validators=[_Rule(spec, self._facts)],
                classes="operator-input",
            )
            yield Static(id=f"input-hint-{n}", classes="input-hint")
            yield Static(id=f"input-error-{n}", classes="input-error")
        yield Button(_("Save"), id="save-inputs")

    def on_mount(self) -> None:
        driver = self.wizard.driver
        values = driver.input_values(self.check_id) if driver is not None else {}
        for n, spec in enumerate(self.specs):
            self.query_one(f"#input-{n}", Input).value = values.get(spec.key, "")
        self.refresh_rules()
        self.watch(self.app, "result", lambda _: self.refresh_rules())

    def _facts(self) -> Facts | None:
        result = self.wizard.result
        return result.facts if result is not None and isinstance(result.facts, Facts) else None

    def refresh_rules(self) -> None:
        """Show the suggestions the latest facts allow (the rules read them when used)."""
        driver = self.wizard.driver
        if driver is None:
            return
        suggestions = driver.input_suggestions(self.check_id)
        for n, spec in enumerate(self.specs):
            field = self.query_one(f"#input-{n}", Input)
            hint = suggestion_text(suggestions.get(spec.key, ()), field.value.strip())
            self.query_one(f"#input-hint-{n}", Static).update(hint)

    def values(self) -> dict[str, str]:
        return {
            spec.key: self.query_one(f"#input-{n}", Input).value
            for n, spec in enumerate(self.specs)
        }

    def problems(self) -> list[str]:
        """Validate every input now, show each one's error under it; the errors, in order."""
        found = []
        for n in range(len(self.specs)):
            field = self.query_one(f"#input-{n}", Input)
            outcome = field.validate(field.value)
            error = "; ".join(outcome.failure_descriptions) if outcome is not None else ""
            self.query_one(f"#input-error-{n}", Static).update(Text(error))
            if error:
                found.append(error)
        return found

    @on(Input.Changed, ".operator-input")
    def _changed(self, event: Input.Changed) -> None:
        n = int((event.input.id or "input-0").rsplit("-", 1)[1])
        failures = event.validation_result.failure_descriptions if event.validation_result else []
        self.query_one(f"#input-error-{n}", Static).update(Text("; ".join(failures)))

    @on(Input.Submitted, ".operator-input")
    @on(Button.Pressed, "#save-inputs")
    def save(self) -> None:
        problems = self.problems()
        if problems:
            self.notify(problems[0], title=_("not saved"), severity="error")
            return
        self.save_values(self.values())

    @work(thread=True, exclusive=True, group="inputs", exit_on_error=False)
    @failing_as("save")
    def save_values(self, values: dict[str, str]) -> None:
        driver = self.wizard.driver
        if driver is None:
            return
        # It changes what the session reports: wait for an apply that is running.
        with self.wizard.gate.waiting("saving your answers") as got:
            if not got:
                return
            result = driver.save_inputs(self.check_id, values)
        self.app.post_message(Audited(result, "inputs"))
        self.post_message(Saved("answers", [f"saved: {', '.join(values)}"]))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        if message.what == "answers":
            message.stop()
            self.notify(_("kept in the config file"), title=_("answers saved"), timeout=4)

    @on(EngineFailed)
    def _failed(self, message: EngineFailed) -> None:
        if message.action == "save":
            message.stop()
            self.notify(message.message, title=_("answers not saved"), severity="error")
