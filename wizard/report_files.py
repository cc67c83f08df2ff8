"""Writing the checklist report: STEM.json (the canonical, signed bytes), STEM.md and
STEM.html, written atomically, each signed into FILE.sig with a key file or ssh-agent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from wizard.errors import UsageError
from wizard.report_doc import ReportDoc
from wizard.report_html import to_html
from wizard.report_md import to_markdown
from wizard.ssh_keys import PassphraseCallback
from wizard.sshsig import canonical_json

log = logging.getLogger(__name__)

FORMATS = ("json", "md", "html")
# --- JSON -------------------------------------------------------------------------------


def to_json_bytes(report: ReportDoc) -> bytes:
    """The canonical bytes (sorted keys, compact, UTF-8): exactly what is signed."""
    return canonical_json(report)


# --- writing and signing ----------------------------------------------------------------

_RENDER: dict[str, Callable[[ReportDoc], bytes]] = {
    "json": to_json_bytes,
    "md": lambda r: to_markdown(r).encode("utf-8"),
    "html": lambda r: to_html(r).encode("utf-8"),
}


def _stem(path_stem: str | os.PathLike[str]) -> Path:
    """`report`, `report.json` and `report.html` all name the same set of files."""
    path = Path(os.path.expanduser(os.fspath(path_stem)))
    if path.suffix in (".json", ".md", ".html"):
        path = path.with_suffix("")
    return path


def _remembering(cb: PassphraseCallback | None) -> PassphraseCallback | None:
    """Ask for the key's passphrase once, not once per signed file."""
    if cb is None:
        return None
    answers: dict[str, str | None] = {}

    def ask(label: str) -> str | None:
        if label not in answers:
            answers[label] = cb(label)
        return answers[label]

    return ask


def write_report(
    report: ReportDoc,
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = FORMATS,
    sign_key: str | None = None,
    sign_agent: bool = False,
    passphrase_cb: PassphraseCallback | None = None,
) -> list[str]:
    """Write STEM.json / STEM.md / STEM.html atomically; with a key, sign each into FILE.sig.

    Returns the paths written, signatures after their file. The JSON is the canonical bytes,
    so its signature covers exactly what `ami-wizard report verify` and ssh-keygen read.
    """
    from wizard.fsutil import write_atomic
    from wizard.signing import sign_file

    unknown = [f for f in formats if f not in _RENDER]
    if unknown:
        raise UsageError(f"unknown report format {unknown[0]!r} (known: {', '.join(FORMATS)})")
    if sign_key and sign_agent:
        raise UsageError("sign with either a key file or ssh-agent, not both")
    stem = _stem(path_stem)
    if not stem.parent.is_dir():
        raise UsageError(f"cannot write the report: {stem.parent} is not a directory")
    ask = _remembering(passphrase_cb)
    written: list[str] = []
    for fmt in dict.fromkeys(formats):
        path = stem.with_name(f"{stem.name}.{fmt}")
        try:
            write_atomic(path, _RENDER[fmt](report))
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        written.append(str(path))
        if sign_key:
            written.append(
                sign_file(str(path), key_file=os.path.expanduser(sign_key), passphrase_cb=ask)
            )
        elif sign_agent:
            written.append(sign_file(str(path)))
    log.info("report written: %s", ", ".join(written))
    return written
