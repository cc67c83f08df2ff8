"""`ami-wizard test-boot`: the command line of wizard/testboot.py (arguments, output, the
checklist report of the image as shipped)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace

from wizard.cli_report import emit, sign_output, write_checklist
from wizard.config import Config, load_config
from wizard.errors import UsageError
from wizard.i18n import _
from wizard.model import Summary
from wizard.report import ReportInput
from wizard.testboot import Options, TestBootResult, test_boot, to_text
from wizard.testboot_nspawn import BootError


def add_parser(
    sub: argparse._SubParsersAction,
    sign_options: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    """Register `test-boot` on the main parser's subcommands."""
    p = sub.add_parser(
        "test-boot",
        help=_("boot throw-away copies of an image under systemd-nspawn and prove them"),
    )
    p.add_argument(
        "target",
        metavar="TARGET",
        help=_("image:/path (a mounted root volume), a directory or a root-fs tarball"),
    )
    p.add_argument(
        "--launches", type=int, default=2, metavar="N", help=_("how many launches (default 2)")
    )
    p.add_argument("--format", choices=("json", "md"), default="md")
    p.add_argument(
        "-o", "--output", metavar="FILE", help=_("write the report here instead of stdout")
    )
    p.add_argument(
        "--refuse-key",
        action="append",
        default=[],
        metavar="FILE",
        help=_("a private key (e.g. the builder's) that must NOT log in (repeatable)"),
    )
    p.add_argument("--no-reboot", action="store_true", help=_("skip the reboot of each launch"))
    p.add_argument(
        "--allow-imdsv1",
        action="store_true",
        help=_("let the metadata stub answer IMDSv1 requests too (default: IMDSv2 only)"),
    )
    p.add_argument(
        "--report",
        metavar="STEM",
        help=_(
            "also write the checklist report of the image, with a test_boot section, as "
            "STEM.json, STEM.md and STEM.html (each signed with --sign-key/--sign-agent)"
        ),
    )
    sign_options(p, "the -o file (FILE.sig beside it) and the --report files")


def cmd_test_boot(args: argparse.Namespace) -> int:
    options = Options(
        launches=args.launches,
        refuse_keys=tuple(args.refuse_key),
        reboot=not args.no_reboot,
        allow_imdsv1=args.allow_imdsv1,
        config=load_config(),
    )
    try:
        result = test_boot(args.target, options)
    except BootError as exc:
        raise UsageError(f"test-boot: {exc}") from exc
    emit(to_text(result, args.format), args.output)
    sign_output(args)
    if args.report:
        from wizard.report import build_report

        write_checklist(args, build_report(checklist_input(result, options.config)))
    return 1 if Summary.of(result.audit.findings).failed else 0


def checklist_input(result: TestBootResult, config: Config) -> ReportInput:
    """`ami-wizard test-boot --report`: the checklist of the image as shipped (every check
    on the facts test-boot probed) with the test-boot as its `test_boot` section."""
    from checks import run_checks
    from wizard.engine import AuditResult
    from wizard.report import ReportInput
    from wizard.testboot import from_result

    facts = result.audit.facts
    if config.identity:
        facts = replace(facts, identity=dict(config.identity))
    # The AMI id test-boot made up for its launches is not the image's.
    target = replace(result.audit.target, ami_id="")
    before = AuditResult(
        target, facts, tuple(run_checks(facts)), result.audit.started, result.audit.duration_s
    )
    return ReportInput(before=before, test_boot=from_result(result))
