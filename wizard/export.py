"""`ami-wizard export`: a plan's fixes, resolved on a reference target, for other engines.

A plan holds choices only (`{check_id: option_id}`); what they change depends on the machine.
So the export probes a reference target (a builder made from the same source image, an image
volume, `local`), asks each check for its actions exactly as `apply --plan` would (refusals and
the lock-out rules included), resolves sshd settings into the files they produce (chained
check after check, like the Applier), and hands the result, an `ExportPlan`, to one renderer
module per engine (`export_shell`, `export_ansible`, `export_imagebuilder`).

Each renderer module maps action classes to renderers in ONE table (`RENDERERS`).
`require_renderers` refuses the whole export — exit code 2, naming the action and its check —
when an action has no entry: a fix is never dropped silently.

What the exported files re-check on the machine they run on (see each renderer): sshd files
must still be the ones the plan was resolved from (or already the result), else they refuse;
destructive steps refuse a symlink, a path with a symlinked directory, another owner; with
`same_machine` also another device, inode or size (those only hold on the machine probed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from checks import registry
from wizard import __version__
from wizard.actions import (
    Action,
    Phase,
    SetSshd,
    WriteFile,
)
from wizard.apply import backend_for, never_journaled, resolve_sshd
from wizard.backend import Backend, FileState
from wizard.config import Config
from wizard.errors import UsageError
from wizard.facts import Facts, FileInfo
from wizard.session import Session
from wizard.targets.base import Target

R = TypeVar("R")


class ExportRefused(UsageError):
    """The plan cannot be exported as asked (exit code 2); the message says why."""


@dataclass(frozen=True)
class SshdFile:
    """One sshd file as the plan was resolved against it and as the fix leaves it."""

    path: str
    before: bytes | None  # None: the file did not exist
    after: bytes
    mode: int
    uid: int
    gid: int

    @property
    def before_sha256(self) -> str:
        return "" if self.before is None else hashlib.sha256(self.before).hexdigest()

    @property
    def after_sha256(self) -> str:
        return hashlib.sha256(self.after).hexdigest()


@dataclass(frozen=True, kw_only=True)
class SshdFiles(Action):
    """The SetSshd actions of one check, resolved into whole files (exports cannot run the
    sshd model on the machine): written, `sshd -t`, reloaded; put back when either fails."""

    files: tuple[SshdFile, ...]
    words: str  # "PermitRootLogin prohibit-password, ..."

    def describe(self) -> str:
        return f"set {self.words} in sshd's configuration ({', '.join(f.path for f in self.files)})"

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)


@dataclass(frozen=True)
class Item:
    """One action of one check, in the order it runs."""

    check_id: str
    option_id: str
    action: Action

    @property
    def phase(self) -> Phase:
        return self.action.phase


@dataclass(frozen=True)
class ExportPlan:
    """Everything a renderer needs; nothing here reads the target any more."""

    choices: Mapping[str, str]
    items: tuple[Item, ...]
    unchanged: tuple[tuple[str, str], ...]  # (check id, why nothing is planned)
    reference: str  # the target the plan was resolved on
    generated: str
    same_machine: bool
    version: str = __version__

    def header_lines(self, engine: str) -> list[str]:
        """The plan's choices and the tool version, as comment lines (no comment marker)."""
        lines = [
            f"ami-wizard {self.version}: export of a plan to {engine}, generated {self.generated}",
            f"resolved on: {self.reference}"
            + (
                " (this very machine only: device, inode and size are checked)"
                if self.same_machine
                else " (for machines built from the same source image)"
            ),
            "choices (schema ami-wizard/plan/v1):",
        ]
        lines += [f"  {c}: {o}" for c, o in self.choices.items()]
        for check_id, why in self.unchanged:
            lines.append(f"  {check_id}: {why}")
        lines.append(
            "phases: normal fixes, then the final phase (host keys, authorized_keys,"
            " credentials), then the history shred last"
        )
        return lines


def printable(text: str) -> str:
    """Text for a comment line or a description: nothing that could end it (names are data)."""
    return re.sub(r"[^\x20-\x7e]", "?", text)


def require_renderers(plan: ExportPlan, table: Mapping[type, object], engine: str) -> None:
    """Refuse (exit 2) when an action of the plan has no renderer for this engine."""
    for item in plan.items:
        if type(item.action) not in table:
            raise ExportRefused(
                f"cannot export to {engine}: {item.check_id} plans {type(item.action).__name__} "
                f"({item.action.describe()}), which has no {engine} rendering; nothing was "
                "written (choose another option for it, or apply it with `ami-wizard apply`)"
            )


def render_items(plan: ExportPlan, table: Mapping[type, R], engine: str) -> list[tuple[Item, R]]:
    """Each item with its renderer, in run order; refuses first if any is missing."""
    require_renderers(plan, table, engine)
    return [(item, table[type(item.action)]) for item in plan.items]


def portable(info: FileInfo | None, same_machine: bool) -> tuple[str, str, str, str]:
    """Device, inode, size and owner a destructive step must find ("-": not checked).
    Device, inode and size are the probed machine's: carried only with `same_machine`."""
    if info is None or not (info.mode or info.mtime or info.ino):
        return ("-", "-", "-", "-")
    if not same_machine:
        return ("-", "-", "-", str(info.uid))
    dev = str(info.dev) if info.dev else "-"
    ino = str(info.ino) if info.ino else "-"
    return (dev, ino, str(info.size), str(info.uid))


def resolve(
    target: Target,
    choices: Mapping[str, str],
    *,
    config: Config | None = None,
    confirm_irreversible: bool = False,
    same_machine: bool = False,
) -> ExportPlan:
    """Probe `target` and resolve the plan's choices into ordered actions, refusing (exit 2)
    what `apply --plan` would refuse."""
    session = Session(target, config)
    before = session.audit()
    facts = before.facts
    planned: list[tuple[str, str, tuple[Action, ...]]] = []
    unchanged: list[tuple[str, str]] = []
    for check_id in registry.ids():
        if check_id not in choices:
            continue
        option_id = choices[check_id]
        pv = session.preview(check_id, option_id)
        if pv.refusal is not None:
            raise ExportRefused(f"cannot export: {check_id} ({option_id}) — {pv.refusal}")
        if pv.irreversible and not confirm_irreversible:
            raise ExportRefused(
                f"cannot export: {check_id} ({option_id}) cannot be undone — pass --yes to "
                "include it (as `apply --yes` would)"
            )
        if not pv.actions:
            unchanged.append((check_id, f"({pv.unchanged})"))
        planned.append((check_id, option_id, pv.actions))
    backend = backend_for(target)
    sshd_paths = list(dict.fromkeys([facts.sshd_main, *facts.sshd_files]))
    states = backend.read(sshd_paths, sshd_paths)
    texts = {
        p: s.content.decode("utf-8", "surrogateescape")
        for p, s in states.items()
        if s.kind == "file"
    }
    writes = [a.path for _, _, acts in planned for a in acts if isinstance(a, WriteFile)]
    current = backend.read(writes, [p for p in writes if not never_journaled(p)])
    items: list[Item] = []
    for check_id, option_id, actions in planned:
        sshd = [a for a in actions if isinstance(a, SetSshd)]
        if sshd:
            files, texts = _sshd_files(backend, states, texts, facts, sshd)
            if files:
                words = ", ".join(f"{a.keyword} {' '.join(a.args)}" for a in sshd)
                action = SshdFiles(check_id=check_id, files=files, words=words)
                items.append(Item(check_id, option_id, action))
        for a in actions:
            if isinstance(a, SetSshd):
                continue
            items.append(Item(check_id, option_id, _checked(a, current)))
    ordered = sorted(items, key=lambda i: i.phase)  # stable: check order kept inside a phase
    return ExportPlan(
        choices=dict(choices),
        items=tuple(ordered),
        unchanged=tuple(unchanged),
        reference=target.uri,
        generated=datetime.now(UTC).replace(microsecond=0).isoformat(),
        same_machine=same_machine,
    )


def _sshd_files(
    backend: Backend,
    states: dict[str, FileState],
    texts: dict[str, str],
    facts: Facts,
    actions: Sequence[SetSshd],
) -> tuple[tuple[SshdFile, ...], dict[str, str]]:
    """One check's sshd settings resolved on the files as the previous checks left them."""
    new_texts = resolve_sshd(texts, facts.sshd_main, facts.sshd_version or None, actions)
    changed = [p for p in new_texts if new_texts[p] != texts.get(p)]
    fresh = [p for p in changed if p not in states]
    if fresh:
        states.update(backend.read(fresh, fresh))
    files: list[SshdFile] = []
    for path in changed:
        st = states[path]
        if st.kind not in ("file", "absent"):
            raise ExportRefused(
                f"cannot export: {path} is a {st.kind}, not a file (edit it by hand)"
            )
        if st.kind == "file" and path not in texts:
            raise ExportRefused(
                f"cannot export: {path} exists but the probe did not list it among sshd's files"
            )
        old = texts.get(path)
        mode, uid, gid = (st.mode, st.uid, st.gid) if st.kind == "file" else (0o644, 0, 0)
        files.append(
            SshdFile(
                path=path,
                before=None if old is None else old.encode("utf-8", "surrogateescape"),
                after=new_texts[path].encode("utf-8", "surrogateescape"),
                mode=mode,
                uid=uid,
                gid=gid,
            )
        )
    return tuple(files), new_texts


def _checked(action: Action, current: Mapping[str, FileState]) -> Action:
    """The action as the export carries it: a write keeps the existing file's mode and owner
    (as the Applier does) and is refused on a symlink or a directory."""
    if isinstance(action, WriteFile):
        st = current.get(action.path)
        if st is not None and st.kind not in ("file", "absent"):
            raise ExportRefused(
                f"cannot export: {action.path} is a {st.kind} on the reference target (write it "
                "by hand)"
            )
        if st is not None and st.kind == "file":
            return dataclasses.replace(action, mode=st.mode, uid=st.uid, gid=st.gid)
        return action
    return action
