"""`export --to ansible`: one playbook of `ansible.builtin` modules, idempotent (a second run
reports `changed=0`), with `--check --diff` support.

Safety, as close to the wizard's own steps as Ansible modules allow: a first task refuses when a
directory on the way to any path the playbook touches is a symlink (run again before the final
phase); every destructive task is preceded by a `stat` (never following links) and an `assert`
that the file is the expected type and owner (and, with `--same-machine`, device, inode, size);
sshd files must be as the plan found them or as a later step leaves them, are written with
`validate: sshd -t -f %s`, then the whole configuration is checked with `sshd -t` and put back
(block/rescue) when that fails; a handler reloads sshd, flushed before the final phase. The final
phase (host keys, authorized_keys, credentials) and the history shred come last, tagged `final`
and `last`; every task is also tagged with its check id. File names and contents are data:
they are `!unsafe` (never templated). Nothing is backed up on the machine (it would ship in
the image). Only RunCommand tasks (e.g. `cloud-init clean`) run again on every run.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

import yaml

from wizard.actions import (
    ACCOUNT_BACKUPS,
    DeleteFile,
    DisablePassword,
    ExportExcludeList,
    LockPassword,
    RunCommand,
    ShredHistories,
    Symlink,
    WriteFile,
)
from wizard.export import (
    ExportPlan,
    Item,
    SshdFiles,
    portable,
    printable,
    render_items,
)
from wizard.export_ansible_sshd import (
    HANDLER,
    Dumper,
    Task,
    Unsafe,
    assert_task,
    sshd_tasks,
    stat_task,
    task_name,
    text,
)
from wizard.shell_steps import history_script


def _write(n: int, item: Item, plan: ExportPlan) -> list[Task]:
    a = item.action
    assert isinstance(a, WriteFile)
    reg = f"aw_{n}"
    copy = {
        "dest": Unsafe(a.path),
        "content": text(a.content, a.path),
        "mode": f"0{a.mode:o}",
        "owner": str(a.uid),
        "group": str(a.gid),
        "follow": False,
    }
    return [
        stat_task(n, item, a.path, reg),
        assert_task(
            n,
            item,
            f"not {reg}.stat.exists or ({reg}.stat.isreg and not {reg}.stat.islnk)",
            f"refusing {a.path}: not a regular file (a symlink or a directory)",
        ),
        *(
            _empty(n, item, a, reg)
            if not a.content
            else [{"name": task_name(n, item, a.describe()), "ansible.builtin.copy": copy}]
        ),
    ]


def _empty(n: int, item: Item, a: WriteFile, reg: str) -> list[Task]:
    """An empty file (`copy` takes no empty content): truncated when it is not, made when absent."""
    path = Unsafe(a.path)
    return [
        {
            "name": task_name(n, item, f"empty {a.path}"),
            "ansible.builtin.command": {"argv": ["truncate", "-s", "0", "--", path]},
            "when": f"{reg}.stat.exists and {reg}.stat.size > 0",
        },
        {
            "name": task_name(n, item, a.describe()),
            "ansible.builtin.file": {
                "path": path,
                "state": "touch",
                "mode": f"0{a.mode:o}",
                "owner": str(a.uid),
                "group": str(a.gid),
                "modification_time": "preserve",
                "access_time": "preserve",
            },
        },
    ]


def _expected(a: DeleteFile, plan: ExportPlan, link: str | None) -> dict[str, Any]:
    """One file to delete as loop data: what the stat must find (None: not checked)."""
    dev, ino, size, uid = portable(a.expect, plan.same_machine)
    return {
        "path": Unsafe(a.path),
        "shred": a.shred,
        "recursive": a.recursive,
        "link": None if link is None else Unsafe(link),
        **{k: None if v == "-" else int(v) for k, v in (("dev", dev), ("inode", ino))},
        **{k: None if v == "-" else int(v) for k, v in (("size", size), ("uid", uid))},
    }


# The stat must find nothing, or a file (a directory when recursive) of the expected owner and
# (same machine) device, inode and size; a link only when nothing was known of the file.
_IDENTITY = (
    "not item.stat.exists or ("
    "(item.stat.isreg or (item.item.recursive and item.stat.isdir) or "
    "(item.item.uid is none and item.stat.islnk)) and "
    "(item.item.uid is none or (not item.stat.islnk and item.stat.uid == item.item.uid)) and "
    "(item.item.dev is none or item.stat.dev == item.item.dev) and "
    "(item.item.inode is none or item.stat.inode == item.item.inode) and "
    "(item.item.size is none or item.stat.size == item.item.size))"
)


def _deletes(n: int, items: list[Item], plan: ExportPlan) -> list[Task]:
    """A run of one check's deletions as four looped tasks: stat, assert, shred, remove."""
    files = []
    for item in items:
        a = item.action
        assert isinstance(a, DeleteFile)
        # Deleted to make way for a link (a later step): already that link is nothing to do.
        link = next(
            (
                i.action.target
                for i in plan.items[plan.items.index(item) + 1 :]
                if isinstance(i.action, Symlink) and i.action.path == a.path
            ),
            None,
        )
        files.append(_expected(a, plan, link))
    reg = f"aw_{n}"
    first = items[0]
    what = f"delete {len(files)} file(s)" if len(files) > 1 else items[0].action.describe()
    results = {
        "loop": f"{{{{ {reg}.results }}}}",
        "loop_control": {"label": "{{ item.item.path }}"},
    }
    return [
        {
            "name": task_name(n, first, "look at the files to delete"),
            "ansible.builtin.stat": {
                "path": "{{ item.path }}",
                "follow": False,
                "get_checksum": False,
                "get_mime": False,
                "get_attributes": False,
            },
            "loop": files,
            "loop_control": {"label": "{{ item.path }}"},
            "register": reg,
        },
        {
            "name": task_name(n, first, "refuse a file that is not the one the plan was made for"),
            "ansible.builtin.assert": {
                "that": [_IDENTITY],
                "fail_msg": "refusing {{ item.item.path }}: not the file the plan was made for",
                "quiet": True,
            },
            **results,
        },
        {
            "name": task_name(n, first, "shred the private ones"),
            "ansible.builtin.command": {"argv": ["shred", "-z", "--", "{{ item.item.path }}"]},
            # a second hard link keeps the content (and may be someone else's file)
            "when": "item.item.shred and item.stat.exists and item.stat.isreg and "
            "item.stat.nlink == 1",
            **results,
        },
        {
            "name": task_name(n, first, what),
            "ansible.builtin.file": {"path": "{{ item.item.path }}", "state": "absent"},
            "when": "item.stat.exists and not (item.item.link is not none and item.stat.islnk "
            "and item.stat.lnk_target == item.item.link)",
            **results,
        },
    ]


def _link(n: int, item: Item, plan: ExportPlan) -> list[Task]:
    a = item.action
    assert isinstance(a, Symlink)
    reg = f"aw_{n}"
    args = {"src": Unsafe(a.target), "dest": Unsafe(a.path), "state": "link", "force": True}
    return [
        stat_task(n, item, a.path, reg),
        assert_task(
            n, item, f"not {reg}.stat.exists or not {reg}.stat.isdir", f"{a.path} is a directory"
        ),
        {"name": task_name(n, item, a.describe()), "ansible.builtin.file": args},
    ]


def _run(n: int, item: Item, plan: ExportPlan) -> list[Task]:
    a = item.action
    assert isinstance(a, RunCommand)
    argv = [Unsafe(x) for x in a.argv]
    return [{"name": task_name(n, item, a.describe()), "ansible.builtin.command": {"argv": argv}}]


def _backups(n: int, item: Item) -> list[Task]:
    """The account files' backup copies (usermod writes them): shredded when regular files,
    a link only removed."""
    reg = f"aw_{n}_backups"
    paths = [Unsafe(p) for p in ACCOUNT_BACKUPS]
    return [
        {
            "name": task_name(n, item, "look at the account files' backup copies"),
            "ansible.builtin.stat": {"path": "{{ item }}", "follow": False, "get_checksum": False},
            "loop": paths,
            "register": reg,
        },
        {
            "name": task_name(n, item, "shred the backup copies"),
            "ansible.builtin.command": {"argv": ["shred", "-z", "--", "{{ item.item }}"]},
            "loop": f"{{{{ {reg}.results }}}}",
            "when": "item.stat.exists and item.stat.isreg and item.stat.nlink == 1",
        },
        {
            "name": task_name(n, item, "remove the backup copies"),
            "ansible.builtin.file": {"path": "{{ item }}", "state": "absent"},
            "loop": paths,
        },
    ]


def _lock(n: int, item: Item, plan: ExportPlan) -> list[Task]:
    a = item.action
    assert isinstance(a, LockPassword)
    user = {"name": Unsafe(a.user), "password_lock": True}
    return [
        {"name": task_name(n, item, a.describe()), "ansible.builtin.user": user},
        *_backups(n, item),
    ]


def _disable(n: int, item: Item, plan: ExportPlan) -> list[Task]:
    a = item.action
    assert isinstance(a, DisablePassword)
    user = {"name": Unsafe(a.user), "password": Unsafe("!*")}
    return [
        {"name": task_name(n, item, a.describe()), "ansible.builtin.user": user},
        *_backups(n, item),
    ]


# Lists the history files the shred would find (read only): the shred runs only when one is.
_HISTORIES_LEFT = r"""
names=$1; shift
for f in "$@"; do if [ -e "$f" ] || [ -L "$f" ]; then echo listed; fi; done
{ awk -F: '$6 != "" && $6 != "/" { print $6 }' /etc/passwd; echo /root; } | sort -u |
while IFS= read -r h; do
  for n in $names; do if [ -e "$h/$n" ] || [ -L "$h/$n" ]; then echo found; fi; done
done
"""


def _histories(n: int, item: Item, plan: ExportPlan) -> list[Task]:
    a = item.action
    assert isinstance(a, ShredHistories)
    script, args = history_script(a)
    if not plan.same_machine:
        cut = args.index("--")
        for i in range(0, cut, 5):
            args[i + 1 : i + 4] = ["-", "-", "-"]
    reg = f"aw_{n}"
    names = " ".join(shlex.quote(x) for x in a.names)
    return [
        {
            "name": task_name(n, item, "find history files"),
            "ansible.builtin.command": {
                "argv": ["sh", "-c", _HISTORIES_LEFT, "sh", Unsafe(names), *map(Unsafe, a.files)]
            },
            "register": reg,
            "changed_when": False,
            "check_mode": False,
        },
        {
            "name": task_name(n, item, a.describe()),
            "ansible.builtin.command": {
                "argv": ["sh", "-c", Unsafe(script), "sh", *map(Unsafe, args)]
            },
            "when": f"{reg}.stdout != ''",
        },
    ]


def _exclude(n: int, item: Item, plan: ExportPlan) -> list[Task]:
    a = item.action
    assert isinstance(a, ExportExcludeList)
    msg = "exclude list for ec2-bundle-vol --exclude: " + ",".join(a.entries)
    return [
        {"name": task_name(n, item, a.describe()), "ansible.builtin.debug": {"msg": Unsafe(msg)}}
    ]


Renderer = Callable[[int, Item, ExportPlan], list[Task]]
Grouped = Callable[[int, list[Item], ExportPlan], list[Task]]
# Renderers of a whole run of one check's actions of that type (one looped task each step).
GROUPED: dict[type, Grouped] = {DeleteFile: _deletes}
# The one place an action type becomes Ansible tasks: an action missing here (MoveFile, for
# now) makes the export refuse, naming it.
RENDERERS: dict[type, Renderer] = {
    WriteFile: _write,
    DeleteFile: lambda n, item, plan: _deletes(n, [item], plan),
    Symlink: _link,
    RunCommand: _run,
    LockPassword: _lock,
    DisablePassword: _disable,
    SshdFiles: sshd_tasks,
    ShredHistories: _histories,
    ExportExcludeList: _exclude,
}

_PHASES = ("normal", "final", "last")

# Refuses when the directory of a path (or its deepest existing ancestor) is reached through a
# symlink. Read only: runs in --check too.
_NO_LINKED_DIRS = r"""
for p in "$@"; do
  d=${p%/*}; d=${d:-/}
  while [ ! -e "$d" ]; do d=${d%/*}; d=${d:-/}; done
  r=$(cd -P -- "$d" && pwd -P) || exit 1
  if [ "$r" != "$d" ]; then echo "refusing $p: $d is reached through a symlink ($r)" >&2; exit 1; fi
done
"""


def _preflight(paths: list[str], phase: str) -> Task:
    return {
        "name": f"refuse paths below a symlinked directory ({phase} phase)",
        "ansible.builtin.command": {
            "argv": ["sh", "-c", _NO_LINKED_DIRS, "sh", *map(Unsafe, paths)]
        },
        "changed_when": False,
        "check_mode": False,
        "tags": ["always"],
    }


def render(plan: ExportPlan) -> str:
    """The playbook: header comments, one play, handlers, tasks in phase order."""
    pairs = render_items(plan, RENDERERS, "ansible")
    tasks: list[Task] = []
    phase = -1
    done = 0
    for n, (item, renderer) in enumerate(pairs, 1):
        if n <= done:
            continue  # rendered with its group
        if int(item.phase) != phase:
            phase = int(item.phase)
            if phase > 0:
                tasks.append(
                    {
                        "name": "reload sshd now, before the final phase",
                        "ansible.builtin.meta": "flush_handlers",
                    }
                )
            paths = [p for i, _ in pairs if int(i.phase) == phase for p in i.action.paths]
            if paths:
                tasks.append(_preflight(list(dict.fromkeys(paths)), _PHASES[phase]))
        group = [item]
        kind = type(item.action)
        if kind in GROUPED:
            for other, _ in pairs[n:]:
                if type(other.action) is not kind or other.check_id != item.check_id:
                    break
                if other.phase != item.phase:
                    break
                group.append(other)
            rendered = GROUPED[kind](n, group, plan)
        else:
            rendered = renderer(n, item, plan)
        done = n + len(group) - 1
        for task in rendered:
            task["tags"] = [item.check_id, _PHASES[phase]]
            tasks.append(task)
    play = {
        "name": "ami-wizard: prepare this machine to be shared as an AMI",
        "hosts": "all",
        "become": "{{ ami_wizard_become | default(true) }}",
        "gather_facts": True,
        "gather_subset": ["!all", "min"],
        "vars": {
            "ami_wizard_sshd": "/usr/sbin/sshd",
            "ami_wizard_sshd_service": "{{ 'ssh' if ansible_facts.os_family == 'Debian' else 'sshd' }}",
        },
        "handlers": [
            {
                "name": HANDLER,
                "ansible.builtin.service": {
                    "name": "{{ ami_wizard_sshd_service }}",
                    "state": "reloaded",
                },
            }
        ],
        "tasks": tasks,
    }
    head = "".join(f"# {printable(line)}\n" for line in plan.header_lines("ansible"))
    head += (
        "# Run: ansible-playbook -i INVENTORY fixes.yml [--check --diff] [--tags normal]\n"
        "# Tags: each check id, and the phases normal, final, last (run in that order).\n"
    )
    body = yaml.dump([play], Dumper=Dumper, sort_keys=False, width=100, allow_unicode=False)
    return head + "---\n" + body
