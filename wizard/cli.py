"""The `ami-wizard` command line: the TUI by default, and headless subcommands for pipelines.

Every error that reaches the operator is one line on stderr with exit code 2 (usage or
connection) — tracebacks only with --debug. Exit 1 means at least one check failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from wizard import __version__
from wizard.cli_report import emit, prompt, sign_output, write_checklist
from wizard.errors import SignatureError, UsageError, WizardError
from wizard.i18n import _

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
COMMANDS = (
    "audit",
    "apply",
    "undo",
    "report",
    "demo",
    "sessions",
    "test-boot",
    "learn",
    "export",
    "serve",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _ssh_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("SSH")
    g.add_argument("-i", "--identity", metavar="FILE", help=_("private key file to log in with"))
    g.add_argument(
        "--known-hosts", metavar="FILE", help=_("known_hosts file (default ~/.ssh/known_hosts)")
    )
    g.add_argument(
        "--accept-new-host-key",
        action="store_true",
        help=_(
            "trust and record the host key of a host not yet in known_hosts (a changed key is always refused)"
        ),
    )
    g.add_argument(
        "-F", "--ssh-config", metavar="FILE", help=_("ssh config file (default ~/.ssh/config)")
    )


def _sign_options(p: argparse.ArgumentParser, what: str = "the output file") -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sign-key", metavar="FILE", help=f"sign {what} with this SSH private key")
    g.add_argument("--sign-agent", action="store_true", help=f"sign {what} with a key in ssh-agent")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ami-wizard",
        description=_("Prepare a Linux machine image (AWS AMI) to be shared: audit, fix, sign."),
    )
    parser.add_argument("--version", action="version", version=f"ami-wizard {__version__}")
    parser.add_argument("--debug", action="store_true", help=_("show tracebacks and debug logs"))
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    a = sub.add_parser("audit", help=_("audit a target headless and print a report"))
    a.add_argument(
        "target",
        metavar="TARGET",
        nargs="*",
        help=_(
            "ssh://user@host[:port], user@host, alias, local, image:/path, demo; "
            "several, or @FILE (one a line), audit them all at once"
        ),
    )
    a.add_argument("--format", choices=("json", "md", "sarif", "junit"), default="md")
    a.add_argument(
        "-o", "--output", metavar="FILE", help=_("write the report here instead of stdout")
    )
    a.add_argument(
        "--check",
        action="append",
        metavar="ID",
        dest="checks",
        help=_("run only this check (repeatable)"),
    )
    a.add_argument(
        "--region",
        metavar="REGION[,REGION...]",
        help=_("aws:[PROFILE] only: read these regions (default: every enabled region)"),
    )
    a.add_argument(
        "--report",
        metavar="STEM",
        help=_(
            "also write the checklist report as STEM.json, STEM.md and STEM.html "
            "(each signed with --sign-key/--sign-agent)"
        ),
    )
    _ssh_options(a)
    _sign_options(a)
    _fleet_options(a, "audit")

    d = sub.add_parser(
        "demo", help=_("the wizard on a practice instance (a temp dir seeded with flaws)")
    )
    d.add_argument(
        "--format",
        choices=("json", "md", "sarif", "junit"),
        help=_("audit the practice instance headless in this format instead of opening the wizard"),
    )

    from wizard.cli_apply import add_parsers as add_apply_parsers

    add_apply_parsers(sub, _ssh_options, _sign_options)
    _fleet_options(sub.choices["apply"], "apply")
    from wizard.cli_sessions import add_parsers as add_sessions_parsers

    add_sessions_parsers(sub)
    from wizard.cli_testboot import add_parser as add_test_boot_parser

    add_test_boot_parser(sub, _sign_options)
    from wizard.cli_learn import add_parser as add_learn_parser

    add_learn_parser(sub, _sign_options)
    from wizard.cli_serve import add_parser as add_serve_parser

    add_serve_parser(sub)

    from wizard.cli_export import add_parser as add_export_parser

    add_export_parser(sub, _ssh_options)

    r = sub.add_parser(
        "report",
        help=_("work with signed reports"),
        epilog="ami-wizard report SESSION_ID --report STEM [--sign-key FILE | --sign-agent] "
        "writes an apply session's checklist report again",
    )
    rsub = r.add_subparsers(dest="report_command", parser_class=_Parser, required=True)
    v = rsub.add_parser("verify", help=_("verify a report's SSH signature"))
    v.add_argument("report", metavar="REPORT")
    v.add_argument("--signature", metavar="FILE", help=_("signature file (default REPORT.sig)"))
    g = v.add_mutually_exclusive_group(required=True)
    g.add_argument("--allowed-signers", metavar="FILE")
    g.add_argument("--public-key", metavar="FILE")
    v.add_argument("--principal", metavar="ID", help=_("require this signer identity"))
    return parser


def _fleet_options(p: argparse.ArgumentParser, command: str) -> None:
    """--inventory, --jobs, --out-dir, --target-timeout (wizard.cli_fleet)."""
    from wizard import cli_fleet

    default = cli_fleet.DEFAULT_APPLY_TIMEOUT_S if command == "apply" else None
    cli_fleet.add_fleet_options(p, default or cli_fleet.fleet.DEFAULT_TARGET_TIMEOUT_S)


def _one_target(args: argparse.Namespace) -> bool:
    """Many targets go to wizard.cli_fleet; one keeps `args.target` a string, as before."""
    from wizard.cli_fleet import wants_fleet

    if wants_fleet(args):
        return False
    if not args.target:
        raise UsageError(_("no target given: name a TARGET, @FILE or --inventory FILE"))
    args.target = args.target[0]
    return True


def _connect_options(
    args: argparse.Namespace,
):  # -> ConnectOptions (lazy import keeps start-up fast)
    from wizard.targets.base import ConnectOptions

    return ConnectOptions(
        identity=args.identity,
        known_hosts=args.known_hosts,
        accept_new_host_key=args.accept_new_host_key,
        ssh_config=args.ssh_config,
        passphrase_prompt=prompt,
        sudo_password_prompt=prompt,
    )


def _report(args: argparse.Namespace, result: object) -> None:
    """--report STEM: the checklist report of this audit."""
    if not args.report:
        return
    from wizard.report import ReportInput, build_report

    write_checklist(args, build_report(ReportInput(before=result)))  # type: ignore[arg-type]


def cmd_audit(args: argparse.Namespace) -> int:
    from wizard.config import load_config
    from wizard.engine import audit, open_target, validate_ids
    from wizard.formats import render

    if not _one_target(args):
        from wizard.cli_fleet import cmd_audit_fleet

        return cmd_audit_fleet(args, _connect_options(args))
    if args.target.startswith("aws:"):
        return _audit_aws(args)
    config = load_config()
    validate_ids(args.checks)
    with open_target(args.target, _connect_options(args)) as target:
        result = audit(target, config, args.checks)
    emit(render(result, args.format), args.output)
    sign_output(args)
    _report(args, result)
    return EXIT_FAIL if result.summary.failed else EXIT_OK


def _audit_aws(args: argparse.Namespace) -> int:
    from wizard.engine import audit_account
    from wizard.formats import render

    if args.checks:
        raise UsageError(
            _("--check selects instance checks; the account chapter runs all of its own")
        )
    result = audit_account(args.target, args.region, _account_progress())
    emit(render(result, args.format), args.output)
    sign_output(args)
    _report(args, result)
    return EXIT_FAIL if result.summary.failed else EXIT_OK


def _account_progress() -> Callable[[str, int, int], None] | None:
    """One self-overwriting stderr line while the regions are read; quiet in CI or a pipe."""
    import os

    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None

    def show(what: str, done: int, total: int) -> None:
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r\033[Kreading the account: {done}/{total} ({what}){end}")
        sys.stderr.flush()

    return show


def build_tui_parser() -> argparse.ArgumentParser:
    """`ami-wizard [TARGET]`: the wizard itself (the connect screen when no TARGET)."""
    p = _Parser(prog="ami-wizard", description=_("The wizard: prepare an image to be shared."))
    p.add_argument("--debug", action="store_true", help=_("show tracebacks and debug logs"))
    p.add_argument(
        "target",
        metavar="TARGET",
        nargs="?",
        help=_("ssh://user@host[:port], user@host, alias, local, image:/path (none: choose)"),
    )
    p.add_argument("--learn", action="store_true", help=_("start with fuller explanations"))
    _ssh_options(p)
    return p


def cmd_tui(target: str | None, options: object = None, learn: bool | None = None) -> int:
    from screens.app import make_app
    from wizard.targets.base import ConnectOptions

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "the wizard needs a terminal; for scripts use `ami-wizard audit TARGET` "
            "or `ami-wizard demo --format md`"
        )
    app = make_app(
        target,
        options=options if isinstance(options, ConnectOptions) else None,
        learn=learn,
    )
    app.run()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    if args.format is None:
        return cmd_tui("demo")
    from wizard.config import load_config
    from wizard.engine import audit, open_target
    from wizard.formats import render
    from wizard.targets.base import ConnectOptions

    with open_target("demo", ConnectOptions()) as target:  # closing it removes the practice dir
        result = audit(target, load_config())
        sys.stdout.write(render(result, args.format))
    return EXIT_FAIL if result.summary.failed else EXIT_OK


def cmd_report_verify(args: argparse.Namespace) -> int:
    from wizard.signing import verify

    sig_path = args.signature or args.report + ".sig"
    from wizard.fsutil import read_capped
    from wizard.sshsig import SIGNED_FILE_LIMIT

    try:
        data = read_capped(args.report, SIGNED_FILE_LIMIT)
        signature = read_capped(sig_path).decode("utf-8", "replace")
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror}") from None
    try:
        who = verify(
            data,
            signature,
            allowed_signers=args.allowed_signers,
            public_key=args.public_key,
            principal=args.principal,
        )
    except SignatureError as exc:
        print(f"ami-wizard: signature NOT valid: {exc}", file=sys.stderr)
        return EXIT_FAIL
    signer = f'"{who.principal}" ' if who.principal else ""
    print(
        f"Good signature by {signer}with {who.key_type} key {who.fingerprint} (namespace {who.namespace})"
    )
    return EXIT_OK


def _take_lang(argv: list[str]) -> list[str]:
    """Take `--lang X` / `--lang=X` out of argv (any subcommand) and set the language:
    --lang, else config `lang:`, else the locale variables (wizard.i18n.resolve)."""
    from wizard.i18n import resolve, set_language

    rest: list[str] = []
    lang: str | None = None
    it = iter(argv)
    for arg in it:
        if arg == "--lang":
            lang = next(it, None)
            if lang is None:
                raise UsageError(_("--lang needs a value: en, es, ja or ko"))
        elif arg.startswith("--lang="):
            lang = arg.partition("=")[2]
        else:
            rest.append(arg)
    config_lang: str | None = None
    if lang is None:
        from wizard.config import load_config

        try:
            config_lang = load_config().lang or None
        except UsageError:
            config_lang = None  # the command reports a broken config itself
    set_language(resolve(lang, config_lang))
    return rest


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not debug:
        # paramiko logs a traceback from its transport thread for every failed handshake;
        # the operator gets our one-line error instead (`--debug` shows both).
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    try:
        argv = _take_lang(argv)
    except UsageError as exc:
        print(f"ami-wizard: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    first = next((a for a in argv if not a.startswith("-")), None)
    try:
        if first is None or first not in COMMANDS:
            if any(a in ("-h", "--help", "--version") for a in argv):
                parser.parse_args(argv)
            tui = build_tui_parser().parse_args(argv)
            return cmd_tui(tui.target, _connect_options(tui), tui.learn or None)
        rest = argv[argv.index(first) + 1 :]
        if first == "report" and next((a for a in rest if not a.startswith("-")), "") not in (
            "",
            "verify",
        ):
            from wizard.cli_sessions import build_report_parser, cmd_report_session

            return cmd_report_session(rest, build_report_parser(_Parser, _sign_options))
        args = parser.parse_args(argv)
        if args.command == "sessions":
            from wizard.cli_sessions import cmd_sessions

            return cmd_sessions(args)
        if args.command == "audit":
            return cmd_audit(args)
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "apply" and not _one_target(args):
            from wizard.cli_fleet import cmd_apply_fleet

            return cmd_apply_fleet(args, _connect_options(args))
        if args.command in ("apply", "undo"):
            from wizard import cli_apply

            run = cli_apply.cmd_apply if args.command == "apply" else cli_apply.cmd_undo
            return run(args, _connect_options)
        if args.command == "export":
            from wizard.cli_export import cmd_export

            return cmd_export(args, _connect_options)
        if args.command == "test-boot":
            from wizard.cli_testboot import cmd_test_boot

            return cmd_test_boot(args)
        if args.command == "learn":
            from wizard.cli_learn import cmd_learn

            return cmd_learn(args)
        if args.command == "serve":
            from wizard.cli_serve import cmd_serve

            return cmd_serve(args)
        if args.command == "report" and args.report_command == "verify":
            return cmd_report_verify(args)
        parser.error("unknown command")
    except WizardError as exc:
        if debug:
            raise
        from wizard.secrets import clean_text

        # One line, printable, secrets masked: messages may quote file names or lines.
        print(f"ami-wizard: {clean_text(str(exc)).replace(chr(10), ' ')}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ami-wizard: interrupted", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
