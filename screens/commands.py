"""Command palette entries: jump to a guideline or an account check, re-probe, finale,
export, undo, learn, the AWS account and its runbook."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from checks import registry
from checks.account import ACCOUNT_CHECKS
from checks.base import catalog

ACTIONS = (
    ("Re-probe the target", "reprobe", "probe again and refresh every badge"),
    ("Go to the finale", "finale", "final phase, exclude list, last command"),
    ("Export the signed report", "export", "JSON, Markdown and HTML, signed with your SSH key"),
    ("Undo this session's changes", "undo", "restore every reversible change"),
    ("Toggle learn mode", "toggle_learn", "fuller explanations for newcomers"),
    ("Overview", "overview", "back to the list of guidelines"),
    ("Read the AWS account", "choose_account", "profile and region; the wizard only reads"),
    ("Compromised-account runbook", "runbook", "the steps in order, ticked off as you go"),
)


class WizardCommands(Provider):
    def _commands(self) -> list[tuple[str, str, str]]:
        entries = catalog()
        out = [(title, action, help_text) for title, action, help_text in ACTIONS]
        out += [
            (f"Guideline: {entries[i].title}", f"open_guideline('{i}')", i) for i in registry.ids()
        ]
        out += [
            (f"AWS account: {entries[i].title}", f"open_account_check('{i}')", i)
            for i in ACCOUNT_CHECKS
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
