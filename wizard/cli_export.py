"""`ami-wizard export PLAN --to shell|ansible|imagebuilder --from TARGET`: the plan's fixes for
other engines (see wizard/export.py). Nothing on the reference target changes: it is probed.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from typing import Any

from wizard.cli_apply import load_plan
from wizard.errors import UsageError

EXIT_OK = 0


def add_parser(sub: Any, ssh_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `export` on the main parser's subcommands."""
    p = sub.add_parser(
        "export",
        help="export a plan's fixes as a shell script, an Ansible playbook or an EC2 Image "
        "Builder component",
    )
    p.add_argument("plan", metavar="PLAN.yaml", help="choices per check (ami-wizard/plan/v1)")
    p.add_argument("--to", required=True, choices=("shell", "ansible", "imagebuilder"))
    p.add_argument(
        "--from",
        dest="reference",
        required=True,
        metavar="TARGET",
        help="the machine to resolve the plan on (probed, never changed): a builder made from "
        "the same source image, image:/path, local",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument(
        "--yes",
        action="store_true",
        help="include steps that cannot be undone (host keys, credentials, histories)",
    )
    p.add_argument(
        "--same-machine",
        action="store_true",
        help="also check device, inode and size before deleting (only true on the machine probed)",
    )
    ssh_options(p)


def cmd_export(args: argparse.Namespace, connect: Callable[[argparse.Namespace], Any]) -> int:
    from wizard.config import load_config
    from wizard.engine import open_target
    from wizard.export import resolve

    choices = load_plan(args.plan)
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(open_target(args.reference, connect(args)))
        plan = resolve(
            target,
            choices,
            config=load_config(),
            confirm_irreversible=args.yes,
            same_machine=args.same_machine,
        )
    text = _render(args.to, plan)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror}") from exc
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _render(engine: str, plan: Any) -> str:
    if engine == "shell":
        from wizard import export_shell

        return export_shell.render(plan)
    if engine == "ansible":
        from wizard import export_ansible

        return export_ansible.render(plan)
    if engine == "imagebuilder":
        from wizard import export_imagebuilder

        return export_imagebuilder.render(plan)
    raise UsageError(f"unknown export target {engine!r}")
