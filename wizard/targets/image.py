"""The `image:/path` target: a mounted root volume of another machine.

Every file of the target is under `root`; commands (the read-only probe) run on the
operator's machine with the root as an argument. Nothing inside the image is executed
and there is no chroot: binaries in an image are data, not tools we trust.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from wizard.errors import UsageError
from wizard.targets.base import CommandResult, Target
from wizard.targets.local import run_local


class ImageTarget(Target):
    """A directory holding another system's root file system; not live.

    The demo practice instance reuses this class with kind="demo" and its own uri.
    """

    def __init__(self, path: str, *, kind: str = "image", uri: str | None = None) -> None:
        root = os.path.abspath(os.path.expanduser(path))
        if not os.path.exists(root):
            raise UsageError(f"image root {root} does not exist")
        if not os.path.isdir(root):
            raise UsageError(f"image root {root} is not a directory")
        self.root = root
        self.kind = kind
        self.uri = uri or f"image:{root}"
        self.live = False
        self.channels_opened = 0
        # No sudo for images: a demo lives in the operator's own temp dir, and a mounted
        # volume the operator cannot read is better reported than silently escalated.
        self.is_root = os.geteuid() == 0

    def run(self, argv: Sequence[str], stdin: bytes = b"", timeout: float = 60.0) -> CommandResult:
        """Run argv on the operator's machine (never inside the image)."""
        self.channels_opened += 1
        return run_local(argv, stdin, timeout)
