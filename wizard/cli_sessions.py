"""`ami-wizard sessions [list | show ID]` and `ami-wizard report SESSION_ID --report STEM`:
the apply sessions on this machine, and a session's checklist report written again later.

Both only read the journals (wizard.sessions); nothing here connects to a target.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from wizard.i18n import _
from wizard.journal import Entry, Journal

EXIT_OK, EXIT_FAIL = 0, 1


def add_parsers(sub: Any) -> None:
    """Register `sessions` on the main parser's subcommands."""
    s = sub.add_parser(
        "sessions", help=_("the apply/undo sessions on this machine and their state")
    )
    ssub = s.add_subparsers(dest="sessions_command", parser_class=type(s))
    ssub.add_parser("list", help=_("every session: target, start, state, number of changes"))
    show = ssub.add_parser("show", help=_("one session's journal, entry by entry"))
    show.add_argument("session", metavar="SESSION_ID")


def build_report_parser(
    parser_class: type[argparse.ArgumentParser],
    sign_options: Callable[[argparse.ArgumentParser, str], None],
) -> argparse.ArgumentParser:
    """`ami-wizard report SESSION_ID ...` (parsed apart from `report verify`)."""
    p = parser_class(
        prog="ami-wizard report",
        description=_(
            "Write the checklist report of an apply session again, from what the "
            "session recorded (its final findings and its undo events)."
        ),
    )
    p.add_argument("session", metavar="SESSION_ID")
    p.add_argument(
        "--report",
        metavar="STEM",
        required=True,
        help=_("write STEM.json, STEM.md and STEM.html (each signed with --sign-key/--sign-agent)"),
    )
    sign_options(p, "the report files")
    return p


def cmd_sessions(args: argparse.Namespace) -> int:
    from wizard.sessions import all_sessions, load_session

    if getattr(args, "sessions_command", None) == "show":
        info = load_session(args.session)
        journal = Journal.open(args.session)
        print(f"session  {info.id}")
        print(
            f"target   {info.target}"
            + (f" ({info.root})" if info.kind in ("image", "demo") else "")
        )
        print(f"started  {info.started}")
        print(f"state    {info.state}" + (f" ({info.undone_at})" if info.undone_at else ""))
        print(f"changes  {info.changes}")
        for entry in journal.entries():
            print(f"  {entry.seq:>4} {entry.time or '-':<32} {_describe(entry)}")
        return EXIT_OK
    sessions = all_sessions()
    if not sessions:
        print("no sessions on this machine")
        return EXIT_OK
    print(f"{'SESSION':<26} {'STATE':<8} {'CHANGES':>7}  {'STARTED':<32} TARGET")
    for info in sessions:
        print(f"{info.id:<26} {info.state:<8} {info.changes:>7}  {info.started:<32} {info.target}")
    return EXIT_OK


def _describe(e: Entry) -> str:
    """One journal line in words: what and where, never the content it saved."""
    d = e.data
    where = f"{e.check_id}: " if e.check_id else ""
    if e.op == "file":
        f = e.file
        was = "absent" if f.kind == "absent" else f"{f.kind} {f.mode:o} {f.uid}:{f.gid}"
        return f"{where}about to change {f.path} (was {was})"
    if e.op == "done":
        return f"{where}done #{d.get('of')}"
    if e.op == "lock":
        return f"{where}about to lock the password of {d.get('user')}"
    if e.op == "move":
        return f"{where}about to move {d.get('source')} to {d.get('destination')}"
    if e.op == "mode":
        return f"{where}about to remove write access for others from {d.get('path')}"
    if e.op == "command":
        undo = d.get("undo")
        tail = f" (undo: {shlex.join(undo)})" if undo else " (cannot be undone)"
        return f"{where}about to run {shlex.join(d.get('argv', []))}{tail}"
    if e.op == "irreversible":
        return f"{where}cannot be undone: {d.get('text')}"
    if e.op == "undo":
        if d.get("refused"):
            return f"undo refused: {d['refused']}"
        text = f"undo: {len(d.get('restored', []))} restored, {len(d.get('errors', []))} error(s)"
        for line in [*d.get("restored", []), *(f"error: {x}" for x in d.get("errors", []))]:
            text += f"\n{'':>38}{line}"
        return text
    return f"{where}{e.op}: {d.get('text', '')}"


def cmd_report_session(argv: Sequence[str], parser: argparse.ArgumentParser) -> int:
    """Regenerate a session's checklist report, with the undo events recorded since."""
    from wizard.cli_report import write_checklist
    from wizard.report import build_report
    from wizard.sessions import load_report_input, load_session, report_events

    args = parser.parse_args(list(argv))
    info = load_session(args.session)
    inp = load_report_input(args.session)
    known = {(e.time, e.summary) for e in inp.events}
    later = tuple(e for e in report_events(info) if (e.time, e.summary) not in known)
    warnings = inp.warnings
    if info.state == "undone":
        warnings += (
            f"this session was undone ({info.undone_at}): the target is no longer in the "
            "'after' state shown here",
        )
    inp = dataclasses.replace(inp, events=(*inp.events, *later), warnings=warnings)
    write_checklist(args, build_report(inp))
    print(f"session {info.id}: {info.state}", file=sys.stderr)
    return EXIT_OK
