"""What every `ami-wizard` subcommand shares below the command modules: the terminal prompt
for passphrases and the --report STEM writer (the checklist report in every format, signed
with --sign-key / --sign-agent). `cli`, `cli_apply` and `cli_sessions` import it; it imports
none of them.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from wizard.report_doc import ReportDoc


def prompt(label: str) -> str | None:
    """Ask on the terminal without echo; None without a terminal or when declined."""
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(f"{label}: ") or None
    except (EOFError, KeyboardInterrupt):
        return None


def write_checklist(args: argparse.Namespace, report: ReportDoc) -> None:
    """--report STEM (audit and apply): the checklist report in every format, each file
    signed with --sign-key / --sign-agent."""
    from wizard.report_files import write_report

    for path in write_report(
        report,
        args.report,
        sign_key=args.sign_key,
        sign_agent=args.sign_agent,
        passphrase_cb=prompt,
    ):
        print(f"wrote: {path}", file=sys.stderr)
