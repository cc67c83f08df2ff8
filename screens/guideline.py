"""One guideline, driven by its catalog entry and the live finding: the state now (with
evidence), why it matters, the options side by side, an exact preview, apply, verify, undo."""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.events import Click
from textual.widgets import Button, Footer, Header, Input, Label, ProgressBar, Static

from checks import registry
from checks.base import CatalogEntry, Option, catalog
from screens.badges import badge
from screens.base import WizardScreen, letter
from screens.confirm_dialog import ConfirmDialog
from screens.inputs import InputsPanel
from screens.messages import Applied, ApplyProgress, Audited, EngineFailed, Previewed
from screens.typed_confirm_dialog import TypedConfirmDialog
from screens.workers import failing_as
from wizard.actions import Phase
from wizard.i18n import _
from wizard.model import Finding
from wizard.results import AuditResult
from wizard.session import Preview

if TYPE_CHECKING:
    pass


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of catalog prose so the terminal can wrap it; list items
    (lines starting with -, * or a number) keep their own lines."""
    out: list[str] = []
    for line in text.strip().splitlines():
        item = line.strip()
        if not item:
            out.append("")
        elif out and out[-1] and not re.match(r"([-*]|\d+[.)])\s", item):
            out[-1] += " " + item
        else:
            out.append(item)
    return "\n".join(out)


class OptionCard(Static, can_focus=True):
    """One option with its trade-off; the chosen one is highlighted."""

    def __init__(self, entry: CatalogEntry, option: Option, index: int) -> None:
        super().__init__(id=f"option-{index}", classes="option-card")
        self.option = option
        text = Text()
        text.append(f"{index + 1}. {option.label}\n", style="bold")
        if option.recommended:
            text.append("★ recommended\n", style="bold green")
        if not option.reversible:
            text.append("irreversible\n", style="bold red")
        text.append(reflow(option.tradeoff))
        self.update(text)

    def on_click(self, event: Click) -> None:
        screen = self.screen
        if isinstance(screen, GuidelineScreen):
            screen.choose(self.option.id)


def why_text(entry: CatalogEntry, learn: bool, source: str) -> Text:
    """Why a guideline matters; with learn mode, the fuller newcomer explanation too."""
    why = Text()
    why.append("Why it matters: ", style="bold")
    why.append(reflow(entry.why))
    if learn and entry.learn:
        why.append("\n\nLearn more\n", style="bold")
        why.append(reflow(entry.learn))
    why.append(f"\n(source: {source})", style="dim")
    return why


def preview_text(preview: Preview) -> Text:
    """The exact diffs and commands, coloured like `diff -u` (words stay without colour)."""
    raw = preview.text or "(nothing to change)"
    out = Text()
    for line in raw.splitlines():
        style = ""
        if line.startswith("+") and not line.startswith("+++"):
            style = "green"
        elif line.startswith("-") and not line.startswith("---"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        out.append(line + "\n", style=style)
    return out


# Long enough for a reason and a ticket number; the report is read by people, not parsed.
NOTE_MAX = 500
NOTE_LABEL = "Your note (optional, kept in the report) — t to write, Tab or Esc to leave:"


class GuidelineScreen(WizardScreen):
    CSS_PATH = "guideline.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _("Back"), id="guideline-back"),
        Binding("left", "cycle(-1)", _("Prev option"), id="option-prev", show=False),
        Binding("right", "cycle(1)", _("Next option"), id="option-next", show=False),
        letter("a", "apply", "Apply", id="apply"),
        letter("u", "app.undo", "Undo", id="guideline-undo"),
        letter("n", "next_guideline", "Next", id="next-guideline"),
        letter("t", "note", "Note", id="guideline-note"),
        letter("o", "toggle_selected", "On/off", id="guideline-selected"),
        *(
            letter(str(n), f"choose_index({n - 1})", show=False, id=f"option-{n}")
            for n in range(1, 10)
        ),
    ]

    def __init__(self, check_id: str) -> None:
        super().__init__()
        self.check_id = check_id
        self.entry = catalog()[check_id]
        self.finding: Finding | None = None
        self.chosen: str | None = None
        self.preview: Preview | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(id="heading")
            yield Static(id="state")
            yield Static(id="why")
            if registry.inputs(self.check_id):
                yield InputsPanel(self.check_id)
            yield Label(_("Your options (1-9, ←/→ or click):"), classes="section")
            with Horizontal(id="options"):
                for index, option in enumerate(self.entry.options):
                    yield OptionCard(self.entry, option, index)
            yield Label(NOTE_LABEL, classes="section")
            yield Input(
                id="note",
                placeholder="why this choice, e.g. a ticket or who agreed",
                max_length=NOTE_MAX,
            )
            yield Label(_("What will change"), classes="section")
            yield Static(id="preview")
            yield ProgressBar(
                total=None, show_eta=False, show_percentage=False, id="apply-progress"
            )
            yield Static(id="progress-text")
            yield Static(id="verify")
        with Horizontal(id="actions"):
            yield Button(_("Apply"), id="apply", variant="primary", disabled=True)
            yield Button(_("Undo session"), id="undo")
            yield Button(_("Back"), id="back")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#apply-progress").display = False
        driver = self.wizard.driver
        if driver is not None:
            self.query_one("#note", Input).value = driver.notes.get(self.check_id, "")
        self.watch(self.app, "learn", self._learn_changed)
        self.watch(self.app, "result", self._result_changed)
        choice = (
            self.wizard.choices.get(self.check_id)
            or self.wizard.final_choices.get(self.check_id)
            or self.entry.recommended
        )
        if choice:
            self.choose(choice)
        else:
            self.query_one("#preview", Static).update(
                Text("This guideline has nothing to choose: it only reports.")
            )
        self.focus_keys(scroll_visible=False)

    def focus_keys(self, scroll_visible: bool = True) -> None:
        """The keys belong to the chosen option card (or the Apply button)."""
        selected = self.query(".option-card.-selected")
        cards = selected or self.query(OptionCard)
        target = cards.first() if cards else self.query_one("#apply", Button)
        target.focus(scroll_visible=scroll_visible)

    def action_note(self) -> None:
        self.query_one("#note", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "o" exists only on an optional guideline that is off by default.
        toggle = action == "key" and parameters[:1] == ("toggle_selected",)
        if toggle and self.check_id not in registry.off_by_default():
            return False
        return super().check_action(action, parameters)

    def action_toggle_selected(self) -> None:
        """Turn this optional guideline on (judge it) or off (not selected) for the session."""
        result = self.wizard.result
        facts = result.facts if result is not None else None
        on = facts is not None and self.check_id not in getattr(facts, "selected", ())
        self.select_guideline(on)

    @work(thread=True, exclusive=True, group="select", exit_on_error=False)
    @failing_as("select")
    def select_guideline(self, on: bool) -> None:
        driver = self.wizard.driver
        if driver is None:
            return
        with self.wizard.gate.waiting("judging the guideline again") as got:
            if not got:
                return
            result = driver.select_optional(self.check_id, on)
        self.app.post_message(Audited(result, "select"))

    # --- showing ----------------------------------------------------------------------

    def _result_changed(self, result: AuditResult | None) -> None:
        if result is not None:
            self.show_result(result)

    def show_result(self, result: AuditResult) -> None:
        self.finding = next((f for f in result.findings if f.id == self.check_id), None)
        heading = Text.assemble(
            badge(self.finding.status if self.finding else None),
            " ",
            (self.entry.title, "bold"),
            f"   severity {self.entry.severity}",
            "  (optional guideline)" if self.entry.optional else "",
            "  — o turns it on" if self._not_selected(result) else "",
        )
        self.query_one("#heading", Static).update(heading)
        state = Text()
        state.append("Now: ", style="bold")
        state.append(self.finding.summary if self.finding else "not probed yet")
        for ev in self.finding.evidence if self.finding else ():
            where = f"{ev.path}:{ev.line}" if ev.line else ev.path
            state.append("\n  ")
            state.append(where, style="underline")
            if ev.detail:
                state.append("  " + ev.detail)
        self.query_one("#state", Static).update(state)
        self._learn_changed(self.wizard.learn)

    def _not_selected(self, result: AuditResult) -> bool:
        off = self.check_id in registry.off_by_default()
        return off and self.check_id not in getattr(result.facts, "selected", ())

    def _learn_changed(self, learn: bool) -> None:
        self.query_one("#why", Static).update(why_text(self.entry, learn, self.entry.seed))

    def choose(self, option_id: str) -> None:
        if self.entry.option(option_id) is None:
            return
        self.chosen = option_id
        self.preview = None
        for card in self.query(OptionCard):
            card.set_class(card.option.id == option_id, "-selected")
        self.query_one("#apply", Button).disabled = True
        self.query_one("#preview", Static).update(Text("Working out exactly what would change…"))
        self.load_preview(option_id)

    def action_choose_index(self, index: int) -> None:
        if 0 <= index < len(self.entry.options):
            self.choose(self.entry.options[index].id)

    def action_cycle(self, step: int) -> None:
        ids = [o.id for o in self.entry.options]
        if not ids:
            return
        current = ids.index(self.chosen) if self.chosen in ids else 0
        self.choose(ids[(current + step) % len(ids)])

    def action_next_guideline(self) -> None:
        ids = list(registry.ids())
        if self.check_id in ids and ids.index(self.check_id) + 1 < len(ids):
            nxt = ids[ids.index(self.check_id) + 1]
            self.app.pop_screen()
            self.wizard.action_open_guideline(nxt)
        else:
            self.app.pop_screen()
            self.wizard.action_finale()

    # --- the operator's note -----------------------------------------------------------

    @on(Input.Changed, "#note")
    def _note_changed(self, event: Input.Changed) -> None:
        self.save_note(event.value)

    @on(Input.Submitted, "#note")
    def _note_submitted(self, event: Input.Submitted) -> None:
        # Enter keeps the focus in the note: what is typed next is still text, never a
        # command (Tab or Escape hand the keys back to the screen).
        self.save_note(event.value)

    def save_note(self, text: str) -> None:
        if self.wizard.driver is not None:
            self.wizard.driver.set_note(self.check_id, text)

    # --- preview ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    @failing_as("preview")
    def load_preview(self, option_id: str) -> None:
        driver = self.wizard.driver
        if driver is None:
            return
        with self.wizard.gate.waiting("working out a preview") as got:
            if not got:
                return
            preview = driver.preview(self.check_id, option_id)
        self.post_message(Previewed(self.check_id, option_id, preview))

    @on(Previewed)
    def _previewed(self, message: Previewed) -> None:
        if message.option_id != self.chosen:
            return  # an older preview arriving late
        self.preview = message.preview
        box = self.query_one("#preview", Static)
        apply = self.query_one("#apply", Button)
        text = preview_text(message.preview)
        refusal = message.preview.refusal
        if refusal:
            text = Text.assemble(("Refused: ", "bold red"), refusal, "\n\n", text)
        if message.preview.irreversible:
            text = Text.assemble(
                ("Irreversible: ", "bold red"),
                "this removes material that is not kept anywhere; undo cannot bring it back.\n\n",
                text,
            )
        if self._is_final(message.preview):
            text = Text.assemble(
                ("Final phase: ", "bold yellow"),
                "this runs in the finale, after everything else is verified.\n\n",
                text,
            )
        box.update(text)
        apply.label = "Queue for finale" if self._is_final(message.preview) else "Apply"
        apply.disabled = bool(refusal)

    @staticmethod
    def _is_final(preview: Preview) -> bool:
        return preview.phase > Phase.NORMAL  # FINAL or LAST (the history shred)

    # --- apply ------------------------------------------------------------------------

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        if self.chosen is None or self.preview is None:
            self.notify(_("nothing to apply yet: wait for the preview"), severity="warning")
            return
        if self.preview.refusal:
            self.notify(self.preview.refusal, title=_("refused"), severity="error")
            return
        self.save_note(self.query_one("#note", Input).value)
        if self._is_final(self.preview):
            self.wizard.final_choices[self.check_id] = self.chosen
            self.notify(f"{self.entry.title}: queued for the finale")
            return
        if self.wizard.gate.busy:
            self.wizard.notify_busy()
            return
        option_id, irreversible = self.chosen, self.preview.irreversible
        label = getattr(self.entry.option(option_id), "label", option_id)

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._start_apply(option_id, confirm=irreversible)

        if irreversible:
            dialog: ConfirmDialog | TypedConfirmDialog = TypedConfirmDialog(
                "This cannot be undone",
                f"{self.entry.title}: {label}. The removed material is not kept anywhere.",
                "yes",
            )
        else:
            dialog = ConfirmDialog(
                f"Apply: {self.entry.title}",
                f"{label}. The change is made on the target now, as the preview shows; "
                "it is journaled first, so undo (u) can restore it.",
                "Apply",
            )
        self.app.push_screen(dialog, confirmed)

    def _start_apply(self, option_id: str, *, confirm: bool) -> None:
        work = partial(self.apply_choice, option_id, confirm)
        if not self.wizard.run_on_target(f"applying {self.entry.title}", work):
            return
        self.query_one("#apply", Button).disabled = True
        self.query_one("#apply-progress").display = True
        self.query_one("#progress-text", Static).update(Text("Applying…"))

    @failing_as("apply")
    def apply_choice(self, option_id: str, confirm: bool) -> None:
        """The apply itself, run by `run_on_target` in a thread (it holds the target)."""
        driver = self.wizard.driver
        if driver is None:
            return

        # The engine reports each action as it starts; the verifying probe is the last step.
        planned = (len(self.preview.actions) if self.preview else 0) + 1
        started = 0

        def progress(*args: Any, **_: Any) -> None:
            nonlocal started
            total = max(planned, started + 2)  # an sshd change reports steps of its own
            self.post_message(ApplyProgress(" ".join(str(a) for a in args), started, total))
            started += 1

        outcome, result = driver.apply(
            {self.check_id: option_id}, confirm_irreversible=confirm, progress=progress
        )
        self.post_message(Applied({self.check_id: option_id}, outcome, result))
        self.app.post_message(Audited(result, "verify"))

    @on(ApplyProgress)
    def _progress(self, message: ApplyProgress) -> None:
        self.query_one("#progress-text", Static).update(Text(message.text))
        if message.total:
            bar = self.query_one("#apply-progress", ProgressBar)
            bar.update(total=message.total, progress=message.done)
        if not message.text:
            self.query_one("#apply-progress").display = False
            self.query_one("#apply", Button).disabled = False

    @on(Applied)
    def _applied(self, message: Applied) -> None:
        self.query_one("#apply-progress").display = False
        self.query_one("#progress-text", Static).update(Text(""))
        self.query_one("#apply", Button).disabled = False
        before = self.finding.status if self.finding else None
        assert message.result is not None
        after = next((f for f in message.result.findings if f.id == self.check_id), None)
        outcome = message.outcome
        mine = next((c for c in outcome.checks if c.check_id == self.check_id), None)
        for warning in outcome.warnings:
            self.notify(str(warning), severity="warning", timeout=10)
        if mine is not None and mine.error:
            verdict = Text.assemble(
                ("Not applied: ", "bold red"),
                str(mine.error),
                "\n(rolled back: the target is as it was)" if mine.rolled_back else "",
            )
            self.query_one("#verify", Static).update(verdict)
            self.notify(str(mine.error), title=f"{self.entry.title}: not applied", severity="error")
            return
        self.wizard.choices[self.check_id] = message.choices[self.check_id]
        if after is None:
            return
        done = "\n".join(f"  done: {d}" for d in (mine.actions_done if mine else ()))
        verdict = Text.assemble(
            ("Verified by a fresh probe: ", "bold"),
            badge(before),
            " → ",
            badge(after.status),
            "  ",
            after.summary,
            "\n" + done if done else "",
        )
        self.wizard.verified[self.check_id] = f"{before} → {after.status}"
        self.query_one("#verify", Static).update(verdict)
        self.notify(f"{self.entry.title}: {before} → {after.status}")

    @on(EngineFailed)
    def _failed(self, message: EngineFailed) -> None:
        self.notify(message.message, title=f"{message.action} failed", severity="error")
        if message.action == "apply":
            self.post_message(ApplyProgress(""))  # the progress bar goes, Apply is back
        if message.action == "preview":
            self.query_one("#preview", Static).update(Text(f"No preview: {message.message}"))

    @on(Button.Pressed, "#undo")
    def _undo(self) -> None:
        self.wizard.action_undo()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.app.pop_screen()
