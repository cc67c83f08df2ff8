"""The rendered step scripts (wizard/shell_steps.py) under dash, bash and busybox sh, and the
image backend, on temp trees: every op runs, a symlinked component or a file that is not the
one probed is refused, a killed step leaves no temp file, and image paths resolve inside the
image like chroot would.

These run as any user (nothing here needs root); the real-instance attacks are in
tests/integration/test_attack_apply.py.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from wizard.actions import ACCOUNT_BACKUPS, DeleteFile, ShredHistories
from wizard.backend import StepsFailed
from wizard.backend_image import ImageBackend
from wizard.facts import FileInfo
from wizard.shell_steps import FUNCTIONS, READ, RELOAD, Step, history_script, step_script

SHELLS = [
    pytest.param(["dash"], id="dash"),
    pytest.param(["bash", "--posix"], id="bash"),
    pytest.param(["busybox", "sh"], id="busybox"),
]


def run(
    shell: list[str], steps: list[Step], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is not installed (Debian: dash, bash, busybox)")
    script = (FUNCTIONS + step_script(steps)).encode()
    return subprocess.run([*shell, "-s"], input=script, capture_output=True, env=env, timeout=60)


def info(path: Path) -> FileInfo:
    """The file as a probe would report it (device and inode included)."""
    st = path.lstat()
    return FileInfo(
        str(path),
        size=st.st_size,
        mode=st.st_mode & 0o7777,
        uid=st.st_uid,
        mtime=1,
        dev=st.st_dev,
        ino=st.st_ino,
    )


@pytest.mark.parametrize("shell", SHELLS)
def test_delete_through_a_swapped_directory_is_refused(shell: list[str], tmp_path: Path) -> None:
    probed = tmp_path / "home" / "keys"
    probed.mkdir(parents=True)
    (probed / "server.key").write_text("mallory's\n")
    expect = info(probed / "server.key")
    precious = tmp_path / "private"
    precious.mkdir()
    (precious / "server.key").write_text("root's\n")
    probed.rename(tmp_path / "home" / "keys.old")
    (tmp_path / "home" / "keys").symlink_to(precious)
    step = Step("delete", str(probed / "server.key"), shred=True, expect=expect)
    proc = run(shell, [step])
    assert proc.returncode == 3 and b"is a symlink" in proc.stderr
    assert (precious / "server.key").read_text() == "root's\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_delete_refuses_another_file_and_shreds_the_probed_one(
    shell: list[str], tmp_path: Path
) -> None:
    target = tmp_path / "credentials"
    target.write_text("secret\n")
    expect = info(target)
    target.unlink()
    target.write_text("secret, but another file\n")
    proc = run(shell, [Step("delete", str(target), shred=True, expect=expect)])
    assert proc.returncode == 3 and b"not the file probed" in proc.stderr
    assert target.exists()
    # the probed file itself: shredded through a checked descriptor, then removed
    expect = info(target)
    other = tmp_path / "other-name"
    os.link(target, other)  # a second hard link keeps the content: only this name goes
    proc = run(shell, [Step("delete", str(target), shred=True, expect=expect)])
    assert proc.returncode == 0, proc.stderr
    assert not target.exists() and other.read_text() == "secret, but another file\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_world_writable_directory_needs_a_known_owner(shell: list[str], tmp_path: Path) -> None:
    drop = tmp_path / "tmp"
    drop.mkdir()
    drop.chmod(0o1777)
    (drop / "creds").write_text("x\n")
    unknown = Step("delete", str(drop / "creds"))
    proc = run(shell, [unknown])
    assert proc.returncode == 3 and b"world-writable" in proc.stderr
    named = DeleteFile(check_id="t", path=str(drop / "creds"), expect=info(drop / "creds"))
    assert f"(owner uid {os.getuid()})" in named.describe()
    assert run(shell, [Step("delete", named.path, expect=named.expect)]).returncode == 0
    assert not (drop / "creds").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_a_killed_write_leaves_no_temp_file(shell: list[str], tmp_path: Path) -> None:
    # A chown that hangs stands in for a step killed half-way (a timeout, a lost channel).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "chown").write_text("#!/bin/sh\nsleep 30\n")
    (bin_dir / "chown").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    out = tmp_path / "etc"
    out.mkdir()
    step = Step("write", str(out / "unit.service"), b"[Unit]\n", 0o644, os.getuid(), os.getgid())
    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is not installed")
    proc = subprocess.Popen(
        [*shell, "-s"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    assert proc.stdin is not None
    proc.stdin.write((FUNCTIONS + step_script([step])).encode())
    proc.stdin.close()
    for _ in range(100):
        if list(out.glob(".ami-wizard.*")):
            break
        time.sleep(0.05)
    assert list(out.glob(".ami-wizard.*")), "the step never made its temp file"
    os.killpg(proc.pid, signal.SIGTERM)  # the whole step, as a timeout or a lost session does
    proc.wait(timeout=40)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("shell", SHELLS)
def test_stale_temp_files_are_swept_where_we_write(shell: list[str], tmp_path: Path) -> None:
    old = time.time() - 3600
    names = {".ami-wizard.Ab12Cd": False, ".ami-wizard.toolong7": True, ".ami-wizard.Q1": True}
    for name in names:
        (tmp_path / name).write_text("half\n")
        os.utime(tmp_path / name, (old, old))
    (tmp_path / ".ami-wizard.Fresh1").write_text("another run, now\n")
    step = Step("write", str(tmp_path / "f"), b"x", 0o644, os.getuid(), os.getgid())
    assert run(shell, [step]).returncode == 0
    for name, kept in names.items():
        assert (tmp_path / name).exists() is kept, name
    assert (tmp_path / ".ami-wizard.Fresh1").exists()


def test_the_shell_library_loads_as_three_sections() -> None:
    """shell_steps.sh is read as package data: its sections, with no loader marker or
    placeholder left in the text sent to a target."""
    assert FUNCTIONS.startswith("\nset -u\n") and "aw_disable()" in FUNCTIONS
    assert " ".join(ACCOUNT_BACKUPS) in FUNCTIONS and "ACCOUNT_BACKUPS" not in FUNCTIONS
    assert RELOAD.lstrip().startswith("aw_reload()") and "SSHD=" in RELOAD
    assert READ.lstrip().startswith("while [ $# -ge 2 ]")
    assert not any("#@" in text for text in (FUNCTIONS, RELOAD, READ))


# Every op a Step can have (see Step.op); each is rendered and run under every shell below.
OPS = ("write", "link", "delete", "move", "unmove", "lock", "unlock", "disable", "run")


def stub_bin(tmp_path: Path, *names: str) -> Path:
    """Commands that only log their argv (one line each) to tmp_path/calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        (bin_dir / name).write_text(f'#!/bin/sh\necho "{name} $*" >> "{tmp_path}/calls"\n')
        (bin_dir / name).chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("shell", SHELLS)
def test_every_op_renders_and_runs(shell: list[str], tmp_path: Path) -> None:
    """One batch with each op but move/unmove (below): every step prints its "ok N", argv and
    names with spaces and quotes arrive as data. usermod/passwd are stubs, and `aw_backups`
    (which deletes this machine's /etc/shadow- & co.) is replaced for the run."""
    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is not installed")
    bin_dir = stub_bin(tmp_path, "usermod", "passwd")
    etc = tmp_path / "it's etc"
    (etc / "dir").mkdir(parents=True)
    (etc / "old").write_text("old\n")
    (etc / "link").symlink_to(etc / "dir")  # replaced: never moved into the directory
    odd = "a b'c\"$(x)"
    steps = [
        Step("write", str(etc / "new file"), b"one\ntwo\n", 0o640, os.getuid(), os.getgid()),
        Step("link", str(etc / "link"), other="/nowhere/ x"),
        Step("delete", str(etc / "old"), shred=True, expect=info(etc / "old")),
        Step("lock", odd),
        Step("unlock", "bob", flag=True),
        Step("unlock", "eve"),
        Step("disable", "root"),
        Step("run", argv=("sh", "-c", 'printf %s "$1" > "$2"', "sh", odd, str(etc / "ran"))),
    ]
    backups = f"aw_backups() {{ echo backups >> '{tmp_path}/calls'; }}\n"
    script = FUNCTIONS + backups + step_script(steps)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    proc = subprocess.run([*shell, "-s"], input=script.encode(), capture_output=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split("\n") == [f"ok {n}" for n in range(1, 9)] + [""]
    assert (etc / "new file").read_bytes() == b"one\ntwo\n"
    assert (etc / "new file").stat().st_mode & 0o7777 == 0o640
    assert os.readlink(etc / "link") == "/nowhere/ x" and list((etc / "dir").iterdir()) == []
    assert not (etc / "old").exists()
    assert (etc / "ran").read_text() == odd
    assert (tmp_path / "calls").read_text().split("\n") == [
        f"usermod -L {odd}",
        "backups",
        "passwd -d bob",
        "backups",
        "usermod -U eve",
        "backups",
        "usermod -p !* root",
        "backups",
        "",
    ]
    assert {s.op for s in steps} | {"move", "unmove"} == set(OPS)
    assert list(etc.glob(".ami-wizard.*")) == []


@pytest.mark.parametrize("shell", SHELLS)
def test_a_failed_step_stops_the_batch(shell: list[str], tmp_path: Path) -> None:
    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is not installed")
    first = Step("write", str(tmp_path / "a"), b"a", 0o644, os.getuid(), os.getgid())
    steps = [first, Step("run", argv=("false",)), Step("link", str(tmp_path / "b"), other="x")]
    proc = subprocess.run(
        [*shell, "-s"], input=(FUNCTIONS + step_script(steps)).encode(), capture_output=True
    )
    assert proc.returncode == 3 and proc.stdout == b"ok 1\n"
    assert b"ami-wizard: step 2 failed" in proc.stderr
    assert not (tmp_path / "b").is_symlink()


def other_file_system(tmp_path: Path) -> Path:
    """A fresh directory on another file system than the one mounted at / (aw_move's rule)."""
    root = os.stat("/").st_dev
    for base in (str(tmp_path), "/dev/shm", "/run"):
        if os.path.isdir(base) and os.access(base, os.W_OK) and os.stat(base).st_dev != root:
            return Path(tempfile.mkdtemp(prefix="ami-wizard-test.", dir=base))
    pytest.skip("no writable file system other than / to move onto")


@pytest.mark.parametrize("shell", SHELLS)
def test_move_and_unmove(shell: list[str], tmp_path: Path) -> None:
    """A file moved off the root file system and put back; a move onto / and a move of a file
    that is not the one probed are refused."""
    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is not installed")
    source = tmp_path / "src" / "big dump.sql"
    source.parent.mkdir()
    source.write_text("rows\n")
    away = other_file_system(tmp_path)
    try:
        moved = f"{away}/moved{source}"
        if tmp_path.stat().st_dev == os.stat("/").st_dev:
            onto_root = Step("move", str(source), other=f"{tmp_path}/moved{source}")
            proc = run(shell, [onto_root])
            assert proc.returncode == 3 and b"becomes the image" in proc.stderr
        stale = dataclasses.replace(info(source), size=99)
        proc = run(shell, [Step("move", str(source), other=moved, expect=stale)])
        assert proc.returncode == 3 and b"not the file probed" in proc.stderr
        assert source.exists()
        proc = run(shell, [Step("move", str(source), other=moved, expect=info(source))])
        assert proc.returncode == 0, proc.stderr
        assert not source.exists() and Path(moved).read_text() == "rows\n"
        proc = run(shell, [Step("unmove", str(source), other=moved)])
        assert proc.returncode == 0, proc.stderr
        assert source.read_text() == "rows\n"
        assert list(away.iterdir()) == []  # the directories the move made are gone
    finally:
        shutil.rmtree(away, ignore_errors=True)


def image_with_links(tmp_path: Path) -> tuple[Path, Path]:
    """An image whose /var/run is `/run` and /etc/alt is `/etc/real` (absolute, as on a real
    system), and a host directory with the same names that must never be touched."""
    root = tmp_path / "img"
    for d in ("run", "etc/real", "var", "home/bob"):
        (root / d).mkdir(parents=True)
    (root / "var" / "run").symlink_to("/run")
    (root / "etc" / "alt").symlink_to("/etc/real")
    (root / "home" / "bob" / "up").symlink_to("../../../../../../../etc")  # `..` stops at /
    (root / "etc" / "secret").write_text("image's\n")
    return root, tmp_path


def test_image_paths_resolve_inside_the_image_like_chroot(tmp_path: Path) -> None:
    root, _ = image_with_links(tmp_path)
    image = ImageBackend(str(root))
    assert image.local("/var/run/x.pid") == str(root / "run" / "x.pid")
    assert image.local("/etc/alt/sshd_config") == str(root / "etc" / "real" / "sshd_config")
    assert image.local("/home/bob/up/secret") == str(root / "etc" / "secret")
    assert image.local("/var/run") == str(root / "var" / "run")  # the last one is not followed
    image.perform([Step("write", "/var/run/ami-test.conf", b"in the image\n", 0o644, 0, 0)])
    assert (root / "run" / "ami-test.conf").read_text() == "in the image\n"
    assert not Path("/run/ami-test.conf").exists()


def test_image_delete_refuses_any_symlink_on_the_way(tmp_path: Path) -> None:
    root, _ = image_with_links(tmp_path)
    image = ImageBackend(str(root))
    with pytest.raises(StepsFailed, match="is a symlink"):
        image.perform([Step("delete", "/home/bob/up/secret", shred=True)])
    assert (root / "etc" / "secret").read_text() == "image's\n"
    expect = info(root / "etc" / "secret")
    (root / "etc" / "secret").unlink()
    (root / "etc" / "secret").write_text("another file\n")
    with pytest.raises(StepsFailed, match="not the file probed"):
        image.perform([Step("delete", "/etc/secret", expect=expect)])
    image.perform([Step("delete", "/etc/secret", shred=True, expect=info(root / "etc" / "secret"))])
    assert not (root / "etc" / "secret").exists()


def test_image_move_is_refused(tmp_path: Path) -> None:
    root, _ = image_with_links(tmp_path)
    with pytest.raises(StepsFailed, match="every place in it is part of the image"):
        ImageBackend(str(root)).perform([Step("move", "/etc/secret", other="/mnt/x/etc/secret")])


def test_image_history_shred_follows_no_link_and_keeps_other_owners_files(tmp_path: Path) -> None:
    root = tmp_path / "img"
    home = root / "home" / "bob"
    home.mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc" / "shadow").write_text("root:$6$hash:1::::::\n")
    (root / "etc" / "precious" / "share" / "fish").mkdir(parents=True)
    (root / "etc" / "precious" / "share" / "fish" / "fish_history").write_text("not bob's\n")
    uid = os.getuid()
    (root / "etc" / "passwd").write_text(
        f"root:x:0:0::/root:/bin/sh\nbob:x:{uid}:{uid}::/home/bob:/bin/sh\n"
    )
    (home / ".bash_history").symlink_to("/etc/shadow")
    (home / ".local").symlink_to("/etc/precious")
    (home / ".python_history").write_text("import os\n")
    listed = home / ".lesshst"
    listed.write_text("less\n")
    expect = dataclasses.replace(info(listed), path="/home/bob/.lesshst")
    action = ShredHistories(check_id="t", files=("/home/bob/.lesshst",), expect=(expect,))
    if uid == 0:  # a file found now in bob's home but owned by someone else stays
        (home / ".viminfo").write_text("someone else's\n")
        os.chown(home / ".viminfo", 4242, 4242)
    left = ImageBackend(str(root)).shred_histories(action)
    assert left == []
    assert not (home / ".python_history").exists() and not listed.exists()
    assert (root / "etc" / "shadow").read_text() == "root:$6$hash:1::::::\n"
    assert (root / "etc" / "precious" / "share" / "fish" / "fish_history").exists()
    assert (home / ".bash_history").is_symlink()  # the link itself is left alone too
    if uid == 0:
        assert (home / ".viminfo").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_history_script_follows_no_link_and_keeps_other_owners_files(
    shell: list[str], tmp_path: Path
) -> None:
    """The live history shred, run on a temp tree: homes from a temp accounts file."""
    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is not installed")
    uid = os.getuid()
    home, root_home, precious = tmp_path / "bob", tmp_path / "root", tmp_path / "etc"
    for d in (home, root_home, precious / "share" / "fish"):
        d.mkdir(parents=True)
    (precious / "shadow").write_text("root:$6$hash:1::::::\n")
    (precious / "share" / "fish" / "fish_history").write_text("not a history\n")
    accounts = tmp_path / "passwd"
    accounts.write_text(f"bob:x:{uid}:{uid}::{home}:/bin/sh\nnobody:x:4242:4242::{home}:/bin/sh\n")
    (home / ".bash_history").symlink_to(precious / "shadow")
    (home / ".local").symlink_to(precious)
    (home / ".python_history").write_text("import os\n")
    (root_home / ".lesshst").write_text("root's, found now\n")
    listed = home / ".viminfo"
    listed.write_text("probed\n")
    changed = home / ".zsh_history"
    changed.write_text("probed, then replaced\n")
    expect = (info(listed), info(changed))
    changed.unlink()
    changed.write_text("another file\n")
    if uid == 0:
        os.chown(changed, 4343, 4343)  # neither the probed file nor the home owner's
    action = ShredHistories(check_id="t", files=(str(listed), str(changed)), expect=expect)
    script, args = history_script(action, accounts=str(accounts), root_home=str(root_home))
    proc = subprocess.run([*shell, "-s", *args], input=script.encode(), capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert not listed.exists() and not (home / ".python_history").exists()
    assert (precious / "shadow").read_text() == "root:$6$hash:1::::::\n"
    assert (precious / "share" / "fish" / "fish_history").exists()
    assert (home / ".bash_history").is_symlink()
    if uid == 0:
        assert changed.exists() and b"left " in proc.stdout
        assert not (root_home / ".lesshst").exists()  # owned by root: root's history
