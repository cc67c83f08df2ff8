"""`ami-wizard audit` and `apply --plan` on many targets: the command-line side of wizard.fleet.

Targets come from the command line (several, or `@FILE` with one a line) or `--inventory`
(ours or Ansible's). While they run, a terminal shows one line per target; without a
terminal (or in CI) nothing is shown until the summary. The summary (target × guideline)
goes to stdout (or -o), and with --out-dir every target's own report is written beside
summary.json, summary.md and summary.html. The exit code is the worst of all targets.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from wizard import fleet
from wizard.cli_report import write_output
from wizard.errors import UsageError
from wizard.inventory import FleetTarget, expand_args, file_stem, read_inventory
from wizard.report_fleet import RENDERERS, FleetRow, fleet_doc
from wizard.secrets import clean_lines, clean_text

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
_EXT = {"json": "json", "md": "md", "sarif": "sarif", "junit": "xml"}


def add_fleet_options(p: argparse.ArgumentParser, default_timeout: float) -> None:
    g = p.add_argument_group("many targets")
    g.add_argument(
        "--inventory",
        metavar="FILE",
        help="targets from an inventory: ours (schema ami-wizard/inventory/v1) or Ansible's "
        "(INI or YAML, read with ansible-inventory)",
    )
    g.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help=f"targets worked on at once (default {fleet.default_jobs()}, at most {fleet.MAX_JOBS})",
    )
    g.add_argument(
        "--out-dir", metavar="DIR", help="write each target's report and the summary here"
    )
    g.add_argument(
        "--target-timeout",
        type=float,
        metavar="SECONDS",
        default=None,
        help=f"give up on a target after this long (default {default_timeout:g})",
    )


def wants_fleet(args: argparse.Namespace) -> bool:
    """Many targets (or a fleet option): anything but the one-target command."""
    targets: list[str] = args.target
    return bool(
        args.inventory
        or len(targets) > 1
        or any(t.startswith("@") for t in targets)
        or args.out_dir
        or args.jobs is not None
        or args.target_timeout is not None
    )


def members(args: argparse.Namespace) -> list[FleetTarget]:
    from wizard.inventory import unique_names

    found = expand_args(args.target)
    if args.inventory:
        found += read_inventory(args.inventory)
    if not found:
        raise UsageError("no target given: name targets, @FILE or --inventory FILE")
    for m in found:
        if m.spec.startswith("aws:"):
            raise UsageError("aws: is the account chapter; audit it on its own")
    return unique_names(found)


def _jobs(args: argparse.Namespace) -> int:
    jobs: int = args.jobs if args.jobs is not None else fleet.default_jobs()
    if not 1 <= jobs <= fleet.MAX_JOBS:
        raise UsageError(f"--jobs must be between 1 and {fleet.MAX_JOBS}")
    return jobs


def _timeout(args: argparse.Namespace, default: float) -> float:
    value: float = args.target_timeout if args.target_timeout is not None else default
    if not value > 0:
        raise UsageError("--target-timeout must be more than 0 seconds")
    return value


def _out_dir(args: argparse.Namespace) -> str | None:
    if not args.out_dir:
        return None
    try:
        os.makedirs(args.out_dir, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot make {args.out_dir}: {exc.strerror}") from None
    return str(args.out_dir)


def live_display_wanted(stream: TextIO) -> bool:
    """One line per target on a terminal; quiet in CI or when output is not a terminal."""
    return stream.isatty() and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


class LiveDisplay:
    """One line per target (name, phase, seconds), redrawn in place on a terminal.

    Called from job threads; a lock guards the table and the drawing. With more targets than
    the terminal has lines, the unfinished ones are shown under a count line.
    """

    def __init__(self, names: Sequence[str], stream: TextIO) -> None:
        self._stream = stream
        self._names = [clean_text(n)[:40] for n in names]
        self._width = max((len(n) for n in self._names), default=4)
        self._state = dict.fromkeys(self._names, fleet.WAITING)
        self._since = dict.fromkeys(self._names, time.monotonic())
        self._lock = threading.Lock()
        self._drawn = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> LiveDisplay:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(1)
        self._draw()

    def update(self, member: FleetTarget, phase: str) -> None:
        name = clean_text(member.name)[:40]
        with self._lock:
            if self._state.get(name) != phase:
                self._state[name] = phase
                self._since[name] = time.monotonic()
        self._draw()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._draw()

    def _lines(self) -> list[str]:
        now = time.monotonic()
        height = shutil.get_terminal_size((100, 24)).lines - 2
        names = self._names
        ended = (fleet.DONE, fleet.UNREACHABLE, fleet.FAILED, fleet.TIMEOUT)
        head: list[str] = []
        if len(names) > height:
            done = sum(self._state[n] in ended for n in names)
            head = [f"{done}/{len(names)} targets finished"]
            names = [n for n in names if self._state[n] not in ended][: max(height - 1, 1)]
        return head + [
            f"{n:<{self._width}}  {self._state[n]:<12} {now - self._since[n]:6.1f} s"
            if self._state[n] in (fleet.CONNECTING, fleet.WORKING)
            else f"{n:<{self._width}}  {self._state[n]}"
            for n in names
        ]

    def _draw(self) -> None:
        with self._lock:
            lines = self._lines()
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            body = "".join(f"\x1b[2K{line}\n" for line in lines)
            extra = max(self._drawn - len(lines), 0)
            clear = "\x1b[2K\n" * extra + (f"\x1b[{extra}F" if extra else "")
            self._stream.write(up + body + clear)
            self._stream.flush()
            self._drawn = len(lines)


def _run(
    args: argparse.Namespace,
    targets: list[FleetTarget],
    job: Callable[[FleetTarget, fleet.Handle], Any],
    timeout: float,
) -> list[fleet.Outcome[Any]]:
    jobs = _jobs(args)
    if not live_display_wanted(sys.stderr):
        return fleet.run_fleet(targets, job, jobs, timeout)
    with LiveDisplay([t.name for t in targets], sys.stderr) as display:
        return fleet.run_fleet(targets, job, jobs, timeout, display.update)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _check_columns(results: Sequence[Any], wanted: Sequence[str] | None) -> list[tuple[str, str]]:
    """The table's columns: the checks as the results list them, else as the registry does."""
    for r in results:
        if r is not None:
            return [(f.id, f.title) for f in r.findings]
    from checks import registry
    from checks.base import catalog

    entries = catalog()
    ids = list(wanted) if wanted else list(registry.ids())
    return [(i, entries[i].title if i in entries else i) for i in ids]


def _finish(
    args: argparse.Namespace, command: str, rows: list[FleetRow], columns: list[tuple[str, str]]
) -> int:
    doc = fleet_doc(command, rows, columns, _now())
    out_dir = _out_dir(args)
    if out_dir:
        for fmt, render in RENDERERS.items():
            write_output(os.path.join(out_dir, f"summary.{fmt}"), render(doc))
    fmt = getattr(args, "format", "md")
    text = RENDERERS[fmt if fmt in RENDERERS else "md"](doc)
    if getattr(args, "output", None):
        write_output(args.output, text)
    else:
        sys.stdout.write(text)
    for r in rows:
        if r.state != fleet.DONE:
            print(f"ami-wizard: {clean_text(r.name)}: {r.state}: {r.error}", file=sys.stderr)
    exit_code: int = doc["exit_code"]
    return exit_code


def _refuse_single_only(args: argparse.Namespace, names: Sequence[str]) -> None:
    for name in names:
        if getattr(args, name.replace("-", "_"), None):
            raise UsageError(f"--{name} takes one target; with many, use --out-dir")


def cmd_audit_fleet(args: argparse.Namespace, base_options: Any) -> int:
    """`ami-wizard audit T1 T2 … | @FILE | --inventory FILE`."""
    from wizard.config import load_config
    from wizard.engine import validate_ids
    from wizard.formats import render

    _refuse_single_only(args, ("report", "sign-key", "sign-agent"))
    targets = members(args)
    config = load_config()
    wanted = validate_ids(args.checks)
    timeout = _timeout(args, fleet.DEFAULT_TARGET_TIMEOUT_S)
    out_dir = _out_dir(args)

    from wizard import fleet_jobs

    def job(member: FleetTarget, handle: fleet.Handle) -> Any:
        return fleet_jobs.audit_member(member, handle, base_options, config, wanted, timeout)

    outcomes = _run(args, targets, job, timeout)
    rows = []
    for o in outcomes:
        result = o.value
        report = ""
        if result is not None and out_dir:
            report = f"{file_stem(o.member.name)}.{_EXT[args.format]}"
            write_output(os.path.join(out_dir, report), render(result, args.format))
        failed = result is None or result.summary.failed
        rows.append(
            FleetRow(
                name=o.member.name,
                target=result.target.uri if result is not None else o.member.spec,
                state=o.state,
                error=o.error,
                duration_s=o.duration_s,
                exit_code=EXIT_USAGE if result is None else (EXIT_FAIL if failed else EXIT_OK),
                statuses={f.id: str(f.status) for f in result.findings} if result else {},
                report=report,
            )
        )
    return _finish(args, "audit", rows, _check_columns([o.value for o in outcomes], wanted))


DEFAULT_APPLY_TIMEOUT_S = 1800.0


def cmd_apply_fleet(args: argparse.Namespace, base_options: Any) -> int:
    """`ami-wizard apply --plan PLAN T1 T2 … | --inventory FILE`: the same plan on every
    target, each its own session (journal, undo) and its own log in --out-dir."""
    from wizard.cli_apply import load_plan

    _refuse_single_only(args, ("dry-run", "sign-key", "sign-agent"))
    from wizard.config import load_config

    choices = load_plan(args.plan) if args.plan else None
    targets = members(args)
    config = load_config()
    timeout = _timeout(args, DEFAULT_APPLY_TIMEOUT_S)
    out_dir = _out_dir(args)

    from wizard import fleet_jobs

    def job(member: FleetTarget, handle: fleet.Handle) -> Any:
        return fleet_jobs.apply_member(
            member, handle, base_options, config, choices, args.yes, timeout
        )

    outcomes = _run(args, targets, job, timeout)
    rows = [_apply_row(args, o, out_dir) for o in outcomes]
    afters = [o.value.outcome.after if o.value is not None else None for o in outcomes]
    return _finish(args, "apply", rows, _check_columns(afters, None))


def _apply_row(args: argparse.Namespace, o: fleet.Outcome[Any], out_dir: str | None) -> FleetRow:
    from wizard.cli_apply import _keep_report_input

    applied: Any = o.value
    if applied is None:
        return FleetRow(o.member.name, o.member.spec, o.state, o.error, o.duration_s, EXIT_USAGE)
    outcome = applied.outcome
    _keep_report_input(applied.session, outcome)
    report = ""
    if out_dir:
        report = f"{file_stem(o.member.name)}.txt"
        write_output(os.path.join(out_dir, report), clean_lines(apply_log(applied)))
        if args.report:
            from wizard.report import build_report
            from wizard.report_files import write_report
            from wizard.session_report import from_session

            stem = os.path.join(out_dir, f"{file_stem(o.member.name)}.report")
            write_report(build_report(from_session(applied.session, outcome)), stem)
    if outcome.after is not None:
        statuses = {f.id: str(f.status) for f in outcome.after.findings}
    else:
        statuses = {c.check_id: str(c.after) for c in outcome.checks if c.after is not None}
    failed = any(c.after is not None and c.after.value == "fail" for c in outcome.checks)
    code = EXIT_FAIL if failed or not outcome.ok else EXIT_OK
    return FleetRow(
        o.member.name,
        applied.session.target.uri,
        o.state,
        "; ".join(outcome.errors)[:300],
        o.duration_s,
        code,
        statuses,
        report,
    )


def apply_log(applied: Any) -> str:
    """What `ami-wizard apply` prints for one target, as one text (progress first)."""
    outcome = applied.outcome
    out = [f"  {line}" for line in applied.log]
    for c in outcome.checks:
        before = str(c.before) if c.before is not None else "-"
        after = str(c.after) if c.after is not None else "-"
        out.append(f"{c.check_id}: {before} -> {after}{'  ROLLED BACK' if c.rolled_back else ''}")
        if c.error:
            out.append(f"  error: {c.error}")
    out += [f"warning: {w}" for w in outcome.warnings]
    if outcome.exclude_list:
        out += ["exclude list for ec2-bundle-vol --exclude:", "  " + ",".join(outcome.exclude_list)]
    out.append(f"session {outcome.session_id}: undo with `ami-wizard undo {outcome.session_id}`")
    return "\n".join(out) + "\n"
