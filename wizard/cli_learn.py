"""`ami-wizard learn`: a course on a randomised practice image (the TUI), its plan for a
trainer (`--plan`), the signed completion record (`--report FILE`) and its check
(`--verify FILE`)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable

from wizard.cli_report import prompt, write_output
from wizard.errors import SignatureError, UsageError
from wizard.i18n import _
from wizard.learn_progress import completion_record, load_course
from wizard.learn_scenario import LEVELS

EXIT_OK, EXIT_FAIL = 0, 1


def add_parser(
    sub: argparse._SubParsersAction,
    sign_options: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    """Register `learn` on the main parser's subcommands."""
    p = sub.add_parser(
        "learn",
        help=_("a course: find and fix planted flaws on a practice image, then a quiz"),
        epilog="Without --seed and --level the last course resumes (or a new one starts). "
        "Progress is kept in $XDG_STATE_HOME/ami-wizard/learn/progress.json.",
    )
    p.add_argument("--seed", type=int, metavar="N", help=_("the scenario's seed (reproducible)"))
    p.add_argument("--level", choices=LEVELS, help=_("basic, real-world or tricky (default basic)"))
    p.add_argument(
        "--plan",
        action="store_true",
        help=_("print the scenario as JSON (for a trainer: it names the flaws) and exit"),
    )
    p.add_argument(
        "--no-account",
        action="store_true",
        help=_("do not start the practice AWS account (a local moto server)"),
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        help=_("write the signed completion record of the course to FILE (FILE.sig beside it)"),
    )
    p.add_argument("--learner", metavar="NAME", help=_("the name in the record (default: login)"))
    p.add_argument(
        "--verify", metavar="FILE", help=_("verify a completion record's signature and show it")
    )
    p.add_argument("--signature", metavar="FILE", help=_("with --verify: default FILE.sig"))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--allowed-signers", metavar="FILE", help=_("with --verify"))
    g.add_argument("--public-key", metavar="FILE", help=_("with --verify"))
    p.add_argument("--principal", metavar="ID", help=_("with --verify: require this signer"))
    sign_options(p, "the completion record")


def cmd_learn(args: argparse.Namespace) -> int:
    if args.verify:
        return _verify(args)
    course = load_course(args.seed, args.level)
    if args.plan:
        scenario = course.scenario
        plan = scenario.describe() | {
            "planted_tree": _planted_hash(course),
            "flaws": [
                {"check": f.check_id, "variant": f.variant, "level": f.level, "where": f.where}
                for f in scenario.flaws
            ],
        }
        sys.stdout.write(json.dumps(plan, indent=2) + "\n")
        return EXIT_OK
    if args.report:
        return _report(args, course)
    return _run_tui(args, course)


def _planted_hash(course: object) -> str:
    """Plant the scenario in a temp dir and hash what is on disk (then remove it)."""
    import shutil

    from wizard.learn_plant import make_scenario_image, tree_hash
    from wizard.learn_progress import Course

    assert isinstance(course, Course)
    root = make_scenario_image(course.scenario)
    try:
        return tree_hash(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _report(args: argparse.Namespace, course: object) -> int:
    from wizard.learn_progress import Course
    from wizard.signing import sign_file

    assert isinstance(course, Course)
    if not (args.sign_key or args.sign_agent):
        raise UsageError(_("a completion record is signed: add --sign-key FILE or --sign-agent"))
    record = completion_record(course, args.learner or getpass.getuser())
    write_output(args.report, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    if args.sign_key:
        sig = sign_file(args.report, key_file=args.sign_key, passphrase_cb=prompt)
    else:
        sig = sign_file(args.report)
    print(f"wrote: {args.report}\nsigned: {sig}", file=sys.stderr)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from wizard.fsutil import read_capped
    from wizard.learn_progress import RECORD_KIND
    from wizard.signing import verify
    from wizard.sshsig import SIGNED_FILE_LIMIT

    if not (args.allowed_signers or args.public_key):
        raise UsageError(_("--verify needs --allowed-signers FILE or --public-key FILE"))
    sig_path = args.signature or args.verify + ".sig"
    try:
        data = read_capped(args.verify, SIGNED_FILE_LIMIT)
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
    try:
        record = json.loads(data)
    except ValueError:
        record = None
    if not isinstance(record, dict) or record.get("kind") != RECORD_KIND:
        raise UsageError(f"{args.verify}: signed, but not an ami-wizard learn completion record")
    signer = f'"{who.principal}" ' if who.principal else ""
    print(f"Good signature by {signer}with {who.key_type} key {who.fingerprint}")
    course = record.get("course", {})
    print(
        f"{record.get('learner')}: course {course.get('level')} #{course.get('seed')}, "
        f"score {record.get('score')}/{record.get('out_of')}"
        + (", finished" if record.get("finished") else ", not finished")
    )
    for g in record.get("guidelines", []):
        fixed = "fixed" if g.get("fixed") else "not fixed"
        print(f"  {g.get('score')}/{g.get('out_of')}  {g.get('id')} ({fixed})")
    return EXIT_OK


def _run_tui(args: argparse.Namespace, course: object) -> int:
    from screens.learn import LearnApp
    from wizard.learn import LearnRun
    from wizard.learn_progress import Course

    assert isinstance(course, Course)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(_("learn needs a terminal; `ami-wizard learn --plan` prints the scenario"))
    run = LearnRun.start(course)
    try:
        run.save()
        if not args.no_account:
            print("starting the practice AWS account (moto on 127.0.0.1)…", file=sys.stderr)
            try:
                run.start_account()
            except Exception as exc:  # the course works without it: say why, go on
                run.account_note = f"practice AWS account not started: {type(exc).__name__}: {exc}"
        LearnApp(run).run()
        run.save()
        points, out_of = course.total()
        print(f"learn: course {course.key}: score {points}/{out_of}", file=sys.stderr)
    finally:
        run.close()
    return EXIT_OK
