"""`ami-wizard apply` and `ami-wizard undo`: the headless side of the apply session.

The plan file (`schema: ami-wizard/plan/v1`, `choices: {check_id: option_id}`) is read and
validated here; a bad plan is one line on stderr and exit code 2, like every usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from typing import Any, TextIO

from wizard.errors import UsageError
from wizard.i18n import _
from wizard.secrets import clean_lines

PLAN_SCHEMA = "ami-wizard/plan/v1"
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def add_parsers(
    sub: Any,
    ssh_options: Callable[[argparse.ArgumentParser], None],
    sign_options: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    """Register `apply` and `undo` on the main parser's subcommands."""
    p = sub.add_parser(
        "apply", help=_("apply fixes headless (a plan file or the recommended ones)")
    )
    p.add_argument(
        "target",
        metavar="TARGET",
        nargs="*",
        help=_("ssh://user@host[:port], local, image:/path; several, or @FILE (one a line)"),
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--plan", metavar="PLAN.yaml", help=f"choices per check ({PLAN_SCHEMA})")
    which.add_argument(
        "--recommended", action="store_true", help=_("the recommended option of every check")
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help=_("print the exact diffs and commands; change nothing"),
    )
    p.add_argument(
        "--yes",
        action="store_true",
        help=_("confirm steps that cannot be undone (host keys, credentials, histories)"),
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        help=_(
            "write the checklist report (FILE.json, FILE.md, FILE.html: before, choice, "
            "actions, after for every guideline)"
        ),
    )
    sign_options(p, "the report files")
    ssh_options(p)

    u = sub.add_parser("undo", help=_("restore every reversible change of an apply session"))
    u.add_argument("session", metavar="SESSION_ID")
    u.add_argument(
        "--force",
        action="store_true",
        help=_(
            "also restore files that changed since the session wrote them, asking for each "
            "(a session already undone, or one a later session changed, is still refused)"
        ),
    )
    u.add_argument(
        "--yes", action="store_true", help=_("with --force: restore them without asking")
    )
    ssh_options(u)


def load_plan(path: str) -> dict[str, str]:
    """Read and check a plan file; every problem is a one-line UsageError."""
    from checks import registry
    from checks.base import catalog
    from wizard.config import load_yaml

    raw = load_yaml(path, "plan")
    if not isinstance(raw, dict):
        raise UsageError(f"plan {path} must be a mapping with schema and choices")
    if raw.get("schema") != PLAN_SCHEMA:
        raise UsageError(f"plan {path}: schema must be {PLAN_SCHEMA!r}")
    choices = raw.get("choices")
    if not isinstance(choices, dict) or not choices:
        raise UsageError(f"plan {path}: choices must map check ids to option ids")
    out: dict[str, str] = {}
    entries = catalog()
    for check_id, option_id in choices.items():
        if not registry.is_check(check_id):
            raise UsageError(f"plan {path}: unknown check id {check_id!r}")
        if not isinstance(option_id, str | bool) or isinstance(option_id, bool):
            # YAML turns a bare `no` into False: ask for quotes instead of guessing.
            hint = ' (quote it: "no")' if option_id is False else ""
            raise UsageError(f"plan {path}: option for {check_id} must be a string{hint}")
        if entries[check_id].option(option_id.split(":", 1)[0]) is None:
            known = ", ".join(o.id for o in entries[check_id].options) or "none"
            raise UsageError(
                f"plan {path}: {check_id} has no option {option_id!r} (options: {known})"
            )
        out[str(check_id)] = option_id
    return out


def say(text: str, stream: TextIO | None = None) -> None:
    """Write apply output (diffs, commands, errors) with every secret masked and every
    byte printable: a dry-run diff of sshd_config or an error line may quote a secret."""
    (stream or sys.stdout).write(clean_lines(text))


def _status(value: object) -> str:
    return str(value) if value is not None else "-"


def cmd_apply(args: argparse.Namespace, connect: Callable[[argparse.Namespace], Any]) -> int:
    from wizard.config import load_config
    from wizard.engine import open_target
    from wizard.session import Session, recommended_choices
    from wizard.sessions import target_lock

    choices = load_plan(args.plan) if args.plan else None
    config = load_config()
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(open_target(args.target, connect(args)))
        if not args.dry_run:
            # Held from the first probe to the last: two applies must never interleave.
            stack.enter_context(target_lock(target))
        session = Session(target, config)
        before = session.audit()
        choices = choices if choices is not None else recommended_choices(before)
        if args.dry_run:
            refused = 0
            for check_id, option_id in choices.items():
                pv = session.preview(check_id, option_id)
                flags = " (cannot be undone)" if pv.irreversible else ""
                say(f"== {check_id}: {option_id} [{pv.phase.name}]{flags}\n")
                say(pv.text)
                refused += pv.refusal is not None
            say("dry run: nothing was changed\n")
            return EXIT_FAIL if refused else EXIT_OK
        outcome = session.apply(
            choices,
            confirm_irreversible=args.yes,
            progress=lambda msg: say(f"  {msg}\n", sys.stderr),
        )
    for c in outcome.checks:
        mark = "  ROLLED BACK" if c.rolled_back else ""
        say(f"{c.check_id}: {_status(c.before)} -> {_status(c.after)}{mark}\n")
        if c.error:
            say(f"  error: {c.error}\n")
    for w in outcome.warnings:
        say(f"warning: {w}\n", sys.stderr)
    if outcome.exclude_list:
        say("exclude list for ec2-bundle-vol --exclude:\n")
        say("  " + ",".join(outcome.exclude_list) + "\n")
        if outcome.exclude_file:
            say(f"  (also written to {outcome.exclude_file})\n")
    say(f"session {outcome.session_id}: undo with `ami-wizard undo {outcome.session_id}`\n")
    _keep_report_input(session, outcome)
    if args.report:
        _write_report(args, session, outcome)
    failed = any(c.after is not None and c.after.value == "fail" for c in outcome.checks)
    return EXIT_FAIL if failed or not outcome.ok else EXIT_OK


def _keep_report_input(session: Any, outcome: Any) -> None:
    """What the report says, beside the journal: `ami-wizard report SESSION_ID` writes it
    again later (only when something was journaled)."""
    from wizard.session_report import from_session
    from wizard.sessions import store_report_input

    if outcome.journal_dir:
        store_report_input(outcome.session_id, from_session(session, outcome))


def _write_report(args: argparse.Namespace, session: Any, outcome: Any) -> None:
    """--report FILE: the signed checklist report of this apply session."""
    from wizard.cli_report import write_checklist
    from wizard.report import build_report
    from wizard.session_report import from_session

    write_checklist(args, build_report(from_session(session, outcome)))


def _confirm(args: argparse.Namespace) -> Callable[[str], bool] | None:
    """--force: ask on the terminal for each changed file (--yes: restore without asking)."""
    if not args.force:
        return None
    if args.yes:
        return lambda _question: True

    def ask(question: str) -> bool:
        if not sys.stdin.isatty():
            print(f"{question}? no (no terminal to ask; --yes restores it)", file=sys.stderr)
            return False
        try:
            return input(f"{question}? [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            return False

    return ask


def cmd_undo(args: argparse.Namespace, connect: Callable[[argparse.Namespace], Any]) -> int:
    from wizard.journal import Journal
    from wizard.session import undo_session
    from wizard.targets.image import ImageTarget
    from wizard.undo import UndoRefused

    meta = Journal.open(args.session).meta
    kind = meta.get("kind")
    if kind in ("demo", "image"):
        target: Any = ImageTarget(str(meta["root"]), kind=str(kind), uri=str(meta["target"]))
    else:
        from wizard.engine import open_target

        options = connect(args)
        # The session remembers how it connected (paths only); flags given now win.
        import dataclasses

        options = dataclasses.replace(
            options,
            identity=options.identity or meta.get("identity"),
            known_hosts=options.known_hosts or meta.get("known_hosts"),
        )
        target = open_target(str(meta["target"]), options)
    with target:
        try:
            outcome = undo_session(args.session, target, force=args.force, confirm=_confirm(args))
        except UndoRefused as exc:
            say(f"ami-wizard: undo refused: {exc}\n", sys.stderr)
            return EXIT_FAIL
    for line in outcome.restored:
        say(f"{line}\n")
    for line in outcome.irreversible:
        say(f"not undoable: {line}\n")
    for line in outcome.errors:
        say(f"error: {line}\n", sys.stderr)
    return EXIT_OK if outcome.ok else EXIT_FAIL
