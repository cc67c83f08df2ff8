"""Command palette entries: jump to a guideline or an account check, re-probe, finale,
export, undo, learn, the AWS account and its runbook."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from checks import registry
from checks.account import ACCOUNT_CHECKS
from checks.base import catalog
from wizard.i18n import LANGUAGE_NAMES, N_, _

ACTIONS = (
    (N_("Re-probe the target"), "reprobe", N_("probe again and refresh every badge")),
    (N_("Go to the finale"), "finale", N_("final phase, exclude list, last command")),
    (
        N_("Export the signed report"),
        "export",
        N_("JSON, Markdown and HTML, signed with your SSH key"),
    ),
    (N_("Undo this session's changes"), "undo", N_("restore every reversible change")),
    (N_("Toggle learn mode"), "toggle_learn", N_("fuller explanations for newcomers")),
    (N_("Overview"), "overview", N_("back to the list of guidelines")),
    (N_("Read the AWS account"), "choose_account", N_("profile and region; the wizard only reads")),
    (N_("Compromised-account runbook"), "runbook", N_("the steps in order, ticked off as you go")),
)


class WizardCommands(Provider):
    def _commands(self) -> list[tuple[str, str, str]]:
        entries = catalog()
        out = [(_(title), action, _(help_text)) for title, action, help_text in ACTIONS]
        out += [
            (_("Guideline: {title}").format(title=entries[i].title), f"open_guideline('{i}')", i)
            for i in registry.ids()
        ]
        out += [
            (
                _("AWS account: {title}").format(title=entries[i].title),
                f"open_account_check('{i}')",
                i,
            )
            for i in ACCOUNT_CHECKS
        ]
        out += [
            (_("Language: {name}").format(name=name), f"set_language('{lang}')", lang)
            for lang, name in LANGUAGE_NAMES.items()
        ]
        return out

    async def discover(self) -> Hits:
        for title, action, help_text in self._commands():
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in self._commands():
            score = matcher.match(f"{title} {help_text}")
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.app.run_action, action),
                    help=help_text,
                )
