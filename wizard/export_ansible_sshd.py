"""The sshd part of `export --to ansible` and the pieces every task of it shares (the
`!unsafe` strings, task names, stat and assert tasks); see wizard/export_ansible.py.

sshd files are checked against the plan (as found, or as a later step leaves them; under
--check also as an earlier step would have left them), written with `validate: sshd -t -f %s`,
then the whole configuration is checked with `sshd -t`; the block's rescue puts them back.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from wizard.export import ExportPlan, ExportRefused, Item, SshdFile, SshdFiles

Task = dict[str, Any]
HANDLER = "reload sshd"


class Unsafe(str):
    """A string Ansible must never template (emitted as `!unsafe`)."""


class Dumper(yaml.SafeDumper):
    pass


def _unsafe(dumper: yaml.SafeDumper, value: Unsafe) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("!unsafe", str(value), style=style)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    )


Dumper.add_representer(Unsafe, _unsafe)
Dumper.add_representer(str, _str)


def task_name(n: int, item: Item, text: str) -> str:
    """A task name (templated by Ansible): printable, without braces."""
    return re.sub(r"[^\x20-\x7e]|[{}%#]", "?", f"{n}. {item.check_id}: {text}")


def text(content: bytes, path: str) -> Unsafe:
    try:
        return Unsafe(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise ExportRefused(
            f"cannot export to ansible: {path} would get content that is not UTF-8 text"
        ) from None


def stat_task(n: int, item: Item, path: str, reg: str, checksum: bool = False) -> Task:
    args: dict[str, Any] = {"path": Unsafe(path), "follow": False, "get_mime": False}
    args["get_attributes"] = False
    if checksum:
        args["checksum_algorithm"] = "sha256"
    else:
        args["get_checksum"] = False
    return {
        "name": task_name(n, item, f"look at {path}"),
        "ansible.builtin.stat": args,
        "register": reg,
    }


def assert_task(n: int, item: Item, that: str, msg: str) -> Task:
    return {
        "name": task_name(n, item, "refuse an unexpected state"),
        "ansible.builtin.assert": {"that": [that], "fail_msg": Unsafe(msg), "quiet": True},
    }


def _later(plan: ExportPlan, item: Item) -> dict[str, list[str]]:
    """Per sshd file, what the steps after `item` leave it as."""
    out: dict[str, list[str]] = {}
    for other in plan.items[plan.items.index(item) + 1 :]:
        if isinstance(other.action, SshdFiles):
            for f in other.action.files:
                out.setdefault(f.path, []).append(f.after_sha256)
    return out


def _earlier(plan: ExportPlan, item: Item) -> dict[str, list[str]]:
    """Per sshd file, its states before the steps ahead of `item` ran ("" = absent): under
    --check those steps only pretended to write, so the file is still in one of them."""
    out: dict[str, list[str]] = {}
    for other in plan.items[: plan.items.index(item)]:
        if isinstance(other.action, SshdFiles):
            for f in other.action.files:
                out.setdefault(f.path, [f.before_sha256]).append(f.after_sha256)
    return out


def _put_back(n: int, item: Item, f: SshdFile) -> Task:
    if f.before is None:
        return {
            "name": task_name(n, item, f"remove {f.path} again"),
            "ansible.builtin.file": {"path": Unsafe(f.path), "state": "absent"},
        }
    copy = {
        "dest": Unsafe(f.path),
        "content": text(f.before, f.path),
        "mode": f"0{f.mode:o}",
        "owner": str(f.uid),
        "group": str(f.gid),
        "follow": False,
    }
    return {"name": task_name(n, item, f"put {f.path} back"), "ansible.builtin.copy": copy}


def sshd_tasks(n: int, item: Item, plan: ExportPlan) -> list[Task]:
    a = item.action
    assert isinstance(a, SshdFiles)
    later, earlier = _later(plan, item), _earlier(plan, item)
    checks: list[Task] = []
    writes: list[Task] = []
    for i, f in enumerate(a.files):
        reg = f"aw_{n}_{i}"
        done = [f.after_sha256, *later.get(f.path, [])]
        states = [f.before_sha256, *done] if f.before is not None else done
        was_absent = f"not {reg}.stat.exists" if f.before is None else "false"
        ahead = earlier.get(f.path, [])
        if ahead:
            absent = "true" if "" in ahead else "false"
            was_absent += (
                f" or (ansible_check_mode and ((not {reg}.stat.exists and {absent}) or "
                f"({reg}.stat.exists and {reg}.stat.checksum in {[x for x in ahead if x]!r})))"
            )
        checks += [
            stat_task(n, item, f.path, reg, checksum=True),
            assert_task(
                n,
                item,
                f"{was_absent} or ({reg}.stat.exists and {reg}.stat.isreg and not "
                f"{reg}.stat.islnk and {reg}.stat.checksum in {states!r})",
                f"refusing {f.path}: it changed since the plan was made",
            ),
        ]
        copy = {
            "dest": Unsafe(f.path),
            "content": text(f.after, f.path),
            "mode": f"0{f.mode:o}",
            "owner": str(f.uid),
            "group": str(f.gid),
            "follow": False,
            "validate": "{{ ami_wizard_sshd }} -t -f %s",
        }
        writes.append(
            {
                "name": task_name(n, item, f"write {f.path} (validated with sshd -t -f)"),
                "ansible.builtin.copy": copy,
                # already as a later step leaves it: a second run must not undo that step
                "when": f"not ({reg}.stat.exists and {reg}.stat.checksum in {later.get(f.path, [])!r})",
                "register": f"aw_{n}_w{i}",
                "notify": HANDLER,
            }
        )
    changed = " or ".join(f"aw_{n}_w{i} is changed" for i in range(len(a.files)))
    writes.append(
        {
            "name": task_name(n, item, "check the whole configuration with sshd -t"),
            "ansible.builtin.command": {"argv": ["{{ ami_wizard_sshd }}", "-t"]},
            "when": changed,
            "changed_when": False,
        }
    )
    rescue = [_put_back(n, item, f) for f in a.files]
    rescue.append(
        {
            "name": task_name(n, item, "stop: sshd rejected the new configuration (put back)"),
            "ansible.builtin.fail": {
                "msg": Unsafe(f"{a.describe()}: refused by sshd -t, put back")
            },
        }
    )
    block = {"name": task_name(n, item, a.describe()), "block": writes, "rescue": rescue}
    return [*checks, block]
