"""What every `ami-wizard` subcommand shares below the command modules: the terminal prompt
for passphrases and the --report STEM writer (the checklist report in every format, signed
with --sign-key / --sign-agent). `cli`, `cli_apply` and `cli_sessions` import it; it imports
none of them.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from wizard.errors import UsageError
from wizard.fsutil import write_atomic as _write_atomic
from wizard.i18n import _
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


def write_output(path: str, text: str, mode: int = 0o644) -> None:
    """Write an output file atomically; a failure is one line for the operator."""
    try:
        _write_atomic(path, text, mode)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def emit(text: str, output: str | None) -> None:
    if output:
        write_output(output, text)
    else:
        sys.stdout.write(text)


def sign_output(args: argparse.Namespace) -> None:
    if not (args.sign_key or args.sign_agent):
        return
    if not args.output:
        if args.report:
            return  # only the --report files are signed (by _report)
        raise UsageError(_("signing needs -o FILE: the signature is written beside it as FILE.sig"))
    from wizard.signing import sign_file

    if args.sign_key:
        sig = sign_file(args.output, key_file=args.sign_key, passphrase_cb=prompt)
    else:
        sig = sign_file(args.output)  # no key file: the first suitable key in ssh-agent
    print(f"signed: {sig}", file=sys.stderr)
