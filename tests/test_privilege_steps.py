"""The privilege steps: chmod (accounts-privilege's `chmod o-w`) under dash, bash and busybox and in the
image backend: it changes only the file probed, never through a symlink, and its undo gives
the bit back even when the file's size changed since; and the sudoers write, which lands
only when visudo accepts the new file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.test_apply_steps import SHELLS, info, run
from wizard.backend_image import ImageBackend
from wizard.errors import ApplyError
from wizard.shell_steps import Step


def _mode(path: Path) -> int:
    return path.lstat().st_mode & 0o7777


@pytest.mark.parametrize("shell", SHELLS)
def test_chmod_removes_only_others_write_on_the_probed_file(
    shell: list[str], tmp_path: Path
) -> None:
    f = tmp_path / "etc" / "app conf"
    d = tmp_path / "etc" / "drop"
    d.mkdir(parents=True)
    f.write_text("x\n")
    os.chmod(f, 0o666)
    os.chmod(d, 0o777)
    proc = run(
        shell,
        [
            Step("chmod", str(f), other="o-w", expect=info(f)),
            Step("chmod", str(d), other="o-w", expect=info(d)),
        ],
    )
    assert proc.returncode == 0, proc.stderr
    assert (_mode(f), _mode(d)) == (0o664, 0o775)
    # undo: the size changed since (a log grows): device, inode and owner still decide
    before = info(f)
    f.write_text("grown\n")
    proc = run(shell, [Step("chmod", str(f), other="o+w", expect=before, flag=True)])
    assert proc.returncode == 0, proc.stderr
    assert _mode(f) == 0o666


@pytest.mark.parametrize("shell", SHELLS)
def test_chmod_refuses_another_file_and_symlinks(shell: list[str], tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x\n")
    os.chmod(f, 0o666)
    probed = info(f)
    f.unlink()
    f.write_text("another file\n")
    os.chmod(f, 0o666)
    proc = run(shell, [Step("chmod", str(f), other="o-w", expect=probed)])
    assert proc.returncode != 0 and b"not the file probed" in proc.stderr
    assert _mode(f) == 0o666
    target = tmp_path / "target"
    target.write_text("t\n")
    os.chmod(target, 0o666)
    link = tmp_path / "link"
    link.symlink_to(target)
    proc = run(shell, [Step("chmod", str(link), other="o-w", expect=info(link))])
    assert proc.returncode != 0
    assert _mode(target) == 0o666


def test_image_backend_chmod(tmp_path: Path) -> None:
    root = tmp_path / "img"
    (root / "etc").mkdir(parents=True)
    f = root / "etc" / "app.conf"
    f.write_text("x\n")
    os.chmod(f, 0o646)
    backend = ImageBackend(str(root))
    expect = info(f)
    step = Step("chmod", "/etc/app.conf", other="o-w", expect=expect)
    backend.perform([step])
    assert _mode(f) == 0o644
    backend.perform([Step("chmod", "/etc/app.conf", other="o+w", expect=expect, flag=True)])
    assert _mode(f) == 0o646
    (root / "etc" / "ln").symlink_to("app.conf")
    with pytest.raises(ApplyError):
        backend.perform([Step("chmod", "/etc/ln", other="o-w", expect=info(root / "etc" / "ln"))])
    other = root / "etc" / "other"
    other.write_text("y\n")
    with pytest.raises(ApplyError, match="not the file probed"):
        backend.perform([Step("chmod", "/etc/other", other="o-w", expect=expect)])


def _visudo() -> None:
    if shutil.which("visudo") is None and not Path("/usr/sbin/visudo").exists():
        pytest.fail("visudo is needed for this test (Debian: sudo)")


@pytest.mark.parametrize("shell", SHELLS)
def test_sudoers_step_writes_only_what_visudo_accepts(shell: list[str], tmp_path: Path) -> None:
    _visudo()
    good = tmp_path / "sudoers.d" / "zz-ami-wizard"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    ok = Step("sudoers", str(good), b"nobody ALL=(ALL) PASSWD: ALL\n", 0o440, 0, 0)
    proc = run(shell, [ok], env=env)
    assert proc.returncode == 0, proc.stderr
    assert good.read_bytes() == b"nobody ALL=(ALL) PASSWD: ALL\n"
    assert _mode(good) == 0o440
    bad = Step("sudoers", str(good), b"nobody ALL=(ALL PASSWD ALL\n", 0o440, 0, 0)
    proc = run(shell, [bad], env=env)
    assert proc.returncode != 0 and b"visudo refused" in proc.stderr
    assert good.read_bytes() == b"nobody ALL=(ALL) PASSWD: ALL\n"  # the old one stays
    assert [p.name for p in good.parent.iterdir()] == ["zz-ami-wizard"]  # no temp file left
