"""Targets against a real sshd: login, sudo, host keys, ssh_config, ProxyJump, quoting, channels.

Each test gets a fresh disposable instance (tests/integration/instance.py); the client side
(known_hosts, ssh config, keyring) lives in temp dirs and the in-memory test keyring.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import MemoryKeyring
from tests.integration.conftest import ClientKey, require_sudo
from tests.integration.instance import Instance, free_port
from wizard import keyring_store
from wizard.errors import HostKeyError, TargetError, UsageError
from wizard.targets import (
    ChangedHostKeyError,
    ConnectOptions,
    ImageTarget,
    LocalTarget,
    Target,
    UnknownHostKeyError,
    open_target,
)
from wizard.targets.ssh import fingerprint

pytestmark = pytest.mark.sshd

HOSTILE = [
    "$(touch /tmp/PWNED)",
    "`touch /tmp/PWNED2`",
    "a'b\"c",
    "line1\nline2; touch /tmp/PWNED3",
    "; touch /tmp/PWNED4 #",
    "-n",
    "",
    "*",
    "  spaced  ",
]


def _user_target(
    instance: Instance,
    options: ConnectOptions,
    sudo_password_prompt: Callable[[str], str | None] | None = None,
) -> Target:
    """Connect as alice (no port typed: the ssh config supplies it)."""
    opts = replace(options, sudo_password_prompt=sudo_password_prompt)
    return open_target("alice@127.0.0.1", _with_port(opts, instance))


def _with_port(options: ConnectOptions, instance: Instance) -> ConnectOptions:
    """Options whose ssh_config maps 127.0.0.1 to the instance's port."""
    assert options.known_hosts is not None
    config = Path(options.known_hosts).with_name("ssh_config_port")
    config.write_text(f"Host 127.0.0.1\n  Port {instance.port}\n")
    return replace(options, ssh_config=str(config))


def _add_sudo_user(
    instance: Instance, client_key: ClientKey, nopasswd: bool, password: str | None = None
) -> None:
    require_sudo()
    instance.useradd("alice", password=password, sudo=True, nopasswd=nopasswd)
    instance.authorize("alice", client_key.public_line)


# -- logging in ------------------------------------------------------------------------


def test_root_login_with_key_runs_commands_as_root(ssh_target: Target, instance: Instance) -> None:
    assert ssh_target.kind == "ssh" and ssh_target.live and ssh_target.root == "/"
    assert ssh_target.uri == f"ssh://root@127.0.0.1:{instance.port}"
    result = ssh_target.run(["id", "-u"])
    assert result.exit_status == 0
    assert result.stdout == b"0\n"
    assert ssh_target.is_root


def test_exit_status_and_stderr_come_back(ssh_target: Target) -> None:
    result = ssh_target.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.exit_status, result.stdout, result.stderr) == (3, b"out\n", b"err\n")


def test_large_stdin_and_stdout_do_not_stall(ssh_target: Target) -> None:
    data = os.urandom(3 * 1024 * 1024)
    result = ssh_target.run(["cat"], stdin=data, timeout=60)
    assert result.exit_status == 0
    assert result.stdout == data


def test_command_timeout_is_a_target_error(ssh_target: Target) -> None:
    with pytest.raises(TargetError, match="timed out"):
        ssh_target.run(["sleep", "5"], timeout=0.5)


def test_non_root_user_escalates_with_sudo_nopasswd(
    instance: Instance, client_key: ClientKey, ssh_options: ConnectOptions
) -> None:
    _add_sudo_user(instance, client_key, nopasswd=True)
    with _user_target(instance, ssh_options) as target:
        assert target.is_root
        assert target.run(["id", "-u"]).stdout == b"0\n"
        script = target.run_script(
            b'id -u; printf "%s|" "$@"; cat /etc/shadow >/dev/null\n', ["a b"]
        )
        assert script.exit_status == 0
        assert script.stdout == b"0\na b|"


def test_sudo_password_from_prompt(
    instance: Instance, client_key: ClientKey, ssh_options: ConnectOptions
) -> None:
    _add_sudo_user(instance, client_key, nopasswd=False, password="s3cret pass")
    asked: list[str] = []

    def prompt(message: str) -> str:
        asked.append(message)
        return "s3cret pass"

    with _user_target(instance, ssh_options, sudo_password_prompt=prompt) as target:
        first = target.run_script(b"id -u; cat\n", timeout=30)
        assert first.exit_status == 0
        assert first.stdout == b"0\n"  # the password line never reaches the script
        assert asked == ["sudo password for alice@127.0.0.1"]
        # Known now: the next command is one channel and no second question.
        before = target.channels_opened
        assert target.run(["id", "-u"]).stdout == b"0\n"
        assert target.channels_opened == before + 1
        assert len(asked) == 1
        assert "sudo:alice@127.0.0.1" in target.prompted_secrets  # type: ignore[attr-defined]


def test_sudo_password_from_keyring_costs_one_channel(
    instance: Instance,
    client_key: ClientKey,
    ssh_options: ConnectOptions,
    memory_keyring: MemoryKeyring,
) -> None:
    _add_sudo_user(instance, client_key, nopasswd=False, password="from-keyring")
    keyring_store.set_secret("sudo", "alice@127.0.0.1", "from-keyring")

    def no_prompt(message: str) -> str:
        raise AssertionError("must not prompt when the keyring has the password")

    offset = instance.log_offset()
    with _user_target(instance, ssh_options, sudo_password_prompt=no_prompt) as target:
        result = target.run_script(b"id -u\n")
        assert result.stdout == b"0\n"
        assert target.channels_opened == 1
    assert instance.count_session_channels(offset) == 1


def test_wrong_sudo_password_is_a_one_line_error(
    instance: Instance, client_key: ClientKey, ssh_options: ConnectOptions
) -> None:
    _add_sudo_user(instance, client_key, nopasswd=False, password="right")
    with (
        _user_target(instance, ssh_options, lambda _m: "wrong") as target,
        pytest.raises(TargetError) as err,
    ):
        target.run_script(b"touch /root/should-not-exist\n")
    assert "\n" not in str(err.value)
    assert "rejected" in str(err.value)
    assert not instance.exists("/root/should-not-exist")


def test_sudo_password_needed_without_prompt_is_a_target_error(
    instance: Instance, client_key: ClientKey, ssh_options: ConnectOptions
) -> None:
    _add_sudo_user(instance, client_key, nopasswd=False, password="right")
    with _user_target(instance, ssh_options) as target, pytest.raises(TargetError) as err:
        target.run(["id"])
    assert "password is required" in str(err.value)


def test_wrong_key_fails_authentication_in_one_line(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path
) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    options = replace(ssh_options, identity=str(other))
    with pytest.raises(TargetError) as err:
        open_target(f"ssh://root@127.0.0.1:{instance.port}", options)
    message = str(err.value)
    assert message.startswith(f"authentication failed for root@127.0.0.1:{instance.port}")
    assert "\n" not in message


def test_encrypted_key_passphrase_from_keyring_then_prompt(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path
) -> None:
    key = tmp_path / "locked_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "open sesame", "-f", str(key)], check=True
    )
    instance.authorize("root", key.with_suffix(".pub").read_text())
    spec = f"ssh://root@127.0.0.1:{instance.port}"
    asked: list[str] = []

    def prompt(message: str) -> str:
        asked.append(message)
        return "open sesame"

    options = replace(ssh_options, identity=str(key), passphrase_prompt=prompt)
    with open_target(spec, options) as target:
        assert target.run(["true"]).exit_status == 0
        assert target.remember_secrets() == [f"passphrase:{key}"]  # type: ignore[attr-defined]
    assert len(asked) == 1
    assert keyring_store.get_secret("passphrase", str(key)) == "open sesame"
    # Second time the keyring answers and the prompt is not used.
    with open_target(spec, options) as target:
        assert target.run(["true"]).exit_status == 0
    assert len(asked) == 1


# -- host keys -------------------------------------------------------------------------


def test_unknown_host_key_is_refused_with_fingerprint_and_not_recorded(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path
) -> None:
    known = tmp_path / "fresh" / "known_hosts"
    options = replace(ssh_options, known_hosts=str(known))
    with pytest.raises(UnknownHostKeyError) as err:
        open_target(f"ssh://root@127.0.0.1:{instance.port}", options)
    expected = _instance_fingerprint(instance)
    message = str(err.value)
    assert expected in message
    assert "ED25519" in message
    assert "--accept-new-host-key" in message
    assert "\n" not in message
    assert err.value.fingerprint == expected
    assert not known.exists()
    assert not known.parent.exists()


def test_accept_new_host_key_records_it_then_connects_without_flag(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path
) -> None:
    known = tmp_path / "newdir" / "known_hosts"
    spec = f"ssh://root@127.0.0.1:{instance.port}"
    accept = replace(ssh_options, known_hosts=str(known), accept_new_host_key=True)
    with open_target(spec, accept) as target:
        assert target.run(["true"]).exit_status == 0
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    assert stat.S_IMODE(known.parent.stat().st_mode) == 0o700
    recorded = known.read_text()
    assert recorded.startswith(f"[127.0.0.1]:{instance.port} ssh-ed25519 ")
    # OpenSSH itself must accept what we wrote.
    found = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{instance.port}", "-f", str(known)],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0
    plain = replace(ssh_options, known_hosts=str(known))
    with open_target(spec, plain) as target:
        assert target.run(["true"]).exit_status == 0
    assert known.read_text() == recorded


def test_hashed_known_hosts_entry_is_honoured(
    instance: Instance, ssh_options: ConnectOptions
) -> None:
    assert ssh_options.known_hosts is not None
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", ssh_options.known_hosts], check=True)
    assert Path(ssh_options.known_hosts).read_text().startswith("|1|")
    with open_target(f"ssh://root@127.0.0.1:{instance.port}", ssh_options) as target:
        assert target.run(["true"]).exit_status == 0


def test_changed_host_key_is_refused_even_with_accept_new(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path
) -> None:
    impostor = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True)
    pub = impostor.with_suffix(".pub").read_text().split()
    known = tmp_path / "changed_known_hosts"
    known.write_text(f"[127.0.0.1]:{instance.port} {pub[0]} {pub[1]}\n")
    before = known.read_text()
    options = replace(ssh_options, known_hosts=str(known), accept_new_host_key=True)
    with pytest.raises(ChangedHostKeyError) as err:
        open_target(f"ssh://root@127.0.0.1:{instance.port}", options)
    message = str(err.value)
    assert "CHANGED" in message
    assert _instance_fingerprint(instance) in message
    assert "\n" not in message
    assert isinstance(err.value, HostKeyError)
    assert known.read_text() == before


def test_known_key_of_other_type_counts_as_changed(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path
) -> None:
    # known_hosts lists an RSA key the server does not have (it offers only ed25519 here):
    # a host with a known key must never fall back to "unknown, accept".
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-N", "", "-f", str(tmp_path / "r")], check=True
    )
    pub = (tmp_path / "r.pub").read_text().split()
    known = tmp_path / "kh"
    known.write_text(f"[127.0.0.1]:{instance.port} {pub[0]} {pub[1]}\n")
    instance.exec(["sh", "-c", "rm -f /etc/ssh/ssh_host_rsa_key* /etc/ssh/ssh_host_ecdsa_key*"])
    instance.exec(["sh", "-c", "kill -HUP $(cat /run/sshd.pid)"])
    options = replace(ssh_options, known_hosts=str(known), accept_new_host_key=True)
    _wait_for_reload(instance)
    with pytest.raises(ChangedHostKeyError):
        open_target(f"ssh://root@127.0.0.1:{instance.port}", options)


def _keygen(path: Path) -> str:
    """A fresh ed25519 key pair; returns `type base64` of its public key."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def _serve_host_certificate(
    instance: Instance, ca: Path, tmp_path: Path, principal: str = "127.0.0.1", *extra: str
) -> None:
    """Sign the instance's ed25519 host key with `ca` and make sshd present the certificate."""
    pub = tmp_path / "host_ed25519.pub"
    pub.write_bytes(instance.read("/etc/ssh/ssh_host_ed25519_key.pub"))
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-s",
            str(ca),
            "-h",
            "-I",
            "test-host",
            "-n",
            principal,
            *extra,
            str(pub),
        ],
        check=True,
    )
    cert = tmp_path / "host_ed25519-cert.pub"
    instance.write("/etc/ssh/ssh_host_ed25519_key-cert.pub", cert.read_bytes())
    config = instance.read("/etc/ssh/sshd_config").decode()
    instance.write(
        "/etc/ssh/sshd_config",
        "HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\n" + config,
    )
    instance.exec(["sh", "-c", "kill -HUP $(cat /run/sshd.pid)"])
    _wait_for_reload(instance)


def test_revoked_host_key_is_refused_even_when_also_known(
    instance: Instance, ssh_options: ConnectOptions
) -> None:
    assert ssh_options.known_hosts is not None
    known = Path(ssh_options.known_hosts)
    key = " ".join(instance.host_key_line().split()[1:])
    known.write_text(f"@revoked * {key}\n" + known.read_text())
    with pytest.raises(ChangedHostKeyError) as err:
        open_target(f"ssh://root@127.0.0.1:{instance.port}", ssh_options)
    message = str(err.value)
    assert "@revoked" in message and _instance_fingerprint(instance) in message
    assert "\n" not in message


def test_revoked_line_for_another_key_and_hashed_entries_keep_working(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path
) -> None:
    assert ssh_options.known_hosts is not None
    known = Path(ssh_options.known_hosts)
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known)], check=True)
    other = _keygen(tmp_path / "other")
    known.write_text(
        f"@revoked * {other}\n@cert-authority *.example.com {other}\n"
        "@future-marker * ssh-ed25519 AAAA\nnot a key line\n" + known.read_text()
    )
    with open_target(f"ssh://root@127.0.0.1:{instance.port}", ssh_options) as target:
        assert target.run(["true"]).exit_status == 0


def test_cert_authority_key_is_not_taken_for_the_host_key(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path
) -> None:
    # A CA line for the host and no plain entry: the plain key sshd shows is unknown, and
    # the CA key must not make it look changed or known.
    known = tmp_path / "ca_only"
    ca = _keygen(tmp_path / "ca")
    known.write_text(f"@cert-authority [127.0.0.1]:{instance.port} {ca}\n")
    with pytest.raises(UnknownHostKeyError):
        open_target(
            f"ssh://root@127.0.0.1:{instance.port}", replace(ssh_options, known_hosts=str(known))
        )


def test_host_certificate_signed_by_listed_authority_is_accepted(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path
) -> None:
    ca = _keygen(tmp_path / "ca")
    _serve_host_certificate(instance, tmp_path / "ca", tmp_path)
    known = tmp_path / "ca_known"
    known.write_text(f"@cert-authority [127.0.0.1]:* {ca}\n")
    options = replace(ssh_options, known_hosts=str(known))
    with open_target(f"ssh://root@127.0.0.1:{instance.port}", options) as target:
        assert target.run(["true"]).exit_status == 0
    assert known.read_text() == f"@cert-authority [127.0.0.1]:* {ca}\n"  # nothing recorded


@pytest.mark.parametrize("case", ["other-ca", "revoked-ca", "wrong-principal", "expired"])
def test_host_certificate_is_refused_unless_openssh_would_accept_it(
    instance: Instance, ssh_options: ConnectOptions, tmp_path: Path, case: str
) -> None:
    ca = _keygen(tmp_path / "ca")
    other = _keygen(tmp_path / "other")
    signer = tmp_path / ("other" if case == "other-ca" else "ca")
    principal = "db.example.com" if case == "wrong-principal" else "127.0.0.1"
    extra = ["-V", "20200101:20200102"] if case == "expired" else []
    _serve_host_certificate(instance, signer, tmp_path, principal, *extra)
    lines = f"@cert-authority [127.0.0.1]:{instance.port} {ca}\n"
    if case == "other-ca":
        lines += f"@cert-authority *.example.com {other}\n"
    if case == "revoked-ca":
        lines += f"@revoked * {ca}\n"
    known = tmp_path / "ca_known"
    known.write_text(lines)
    with pytest.raises(ChangedHostKeyError) as err:
        open_target(
            f"ssh://root@127.0.0.1:{instance.port}", replace(ssh_options, known_hosts=str(known))
        )
    assert "host certificate of" in str(err.value) and "\n" not in str(err.value)


# -- ssh_config and ProxyJump ----------------------------------------------------------


def test_ssh_config_alias_supplies_hostname_user_port_identity(
    instance: Instance, ssh_options: ConnectOptions, client_key: ClientKey, tmp_path: Path
) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host practice\n"
        "  HostName 127.0.0.1\n"
        "  User root\n"
        f"  Port {instance.port}\n"
        f"  IdentityFile {client_key.path}\n"
        "  IdentitiesOnly yes\n"
    )
    options = ConnectOptions(
        known_hosts=ssh_options.known_hosts, ssh_config=str(config), use_agent=False
    )
    with open_target("practice", options) as target:
        assert target.uri == f"ssh://root@practice:{instance.port}"
        assert target.run(["id", "-un"]).stdout == b"root\n"


def test_proxy_jump_through_the_instance_itself(
    instance: Instance, ssh_options: ConnectOptions, client_key: ClientKey, tmp_path: Path
) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host inner\n"
        "  HostName 127.0.0.1\n"
        "  User root\n"
        f"  Port {instance.port}\n"
        f"  ProxyJump root@127.0.0.1:{instance.port}\n"
    )
    options = ConnectOptions(
        identity=str(client_key.path),
        known_hosts=ssh_options.known_hosts,
        ssh_config=str(config),
        use_agent=False,
    )
    offset = instance.log_offset()
    with open_target("inner", options) as target:
        assert target.run(["echo", "through"]).stdout == b"through\n"
    log = instance.log()[offset:]
    assert "ctype direct-tcpip" in log
    assert log.count("Accepted publickey for root") == 2


def test_proxy_jump_verifies_the_jump_host_key(
    instance: Instance, client_key: ClientKey, tmp_path: Path
) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host inner\n  HostName 127.0.0.1\n  ProxyJump root@127.0.0.1:{instance.port}\n"
    )
    options = ConnectOptions(
        identity=str(client_key.path),
        known_hosts=str(tmp_path / "empty_known_hosts"),
        ssh_config=str(config),
        use_agent=False,
    )
    with pytest.raises(UnknownHostKeyError) as err:
        open_target("root@inner", options)
    assert err.value.host == f"[127.0.0.1]:{instance.port}"


# -- errors ----------------------------------------------------------------------------


def test_connection_refused_is_one_line(ssh_options: ConnectOptions) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(TargetError) as err:
        open_target(f"ssh://root@127.0.0.1:{port}", ssh_options)
    assert str(err.value) == f"cannot connect to 127.0.0.1:{port} — connection refused"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "case",
    [
        "auth",
        "changed-key",
        "unknown-key",
        "revoked",
        "refused",
        "closed",
        "garbage-banner",
        "identity-dev-zero",
        "identity-garbage",
        "identity-dir",
        "known-hosts-dev-zero",
    ],
)
def test_connection_failures_are_one_line_exit_2_on_the_cli(
    instance: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path, case: str
) -> None:
    port = instance.port
    identity = str(client_key.path)
    known = str(known_hosts)
    other = _keygen(tmp_path / "other")
    if case == "auth":
        identity = str(tmp_path / "other")
    if case == "changed-key":
        known_hosts.write_text(f"[127.0.0.1]:{port} {other}\n")
    if case == "unknown-key":
        known = str(tmp_path / "missing")
    if case == "revoked":
        known_hosts.write_text(f"@revoked * {' '.join(instance.host_key_line().split()[1:])}\n")
    if case == "refused":
        port = free_port()
    if case.startswith("identity-"):
        garbage = tmp_path / "garbage"
        garbage.write_bytes(os.urandom(2048))
        identity = {"dev-zero": "/dev/zero", "garbage": str(garbage), "dir": str(tmp_path)}[
            case.removeprefix("identity-")
        ]
    if case == "known-hosts-dev-zero":
        known = "/dev/zero"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        if case in ("closed", "garbage-banner"):
            port = listener.getsockname()[1]
            reply = b"" if case == "closed" else os.urandom(300) + b"\r\n"

            def answer() -> None:
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(reply)

            threading.Thread(target=answer, daemon=True).start()
        proc = _cli("audit", f"ssh://root@127.0.0.1:{port}", "-i", identity, "--known-hosts", known)
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("ami-wizard: ")
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "ftp://host",
        "ssh://",
        "ssh://host:99999",
        "ssh://host/path",
        "user@host:22",
        "-oProxyCommand=x",
        "image:",
    ],
)
def test_bad_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError) as err:
        open_target(spec, ConnectOptions(use_agent=False))
    assert "\n" not in str(err.value)


# -- what runs, and how often ----------------------------------------------------------


def test_run_script_uses_exactly_one_exec_channel(ssh_target: Target, instance: Instance) -> None:
    offset = instance.log_offset()
    before = ssh_target.channels_opened
    script = b"".join(b"echo line %d\n" % i for i in range(200))
    result = ssh_target.run_script(script, ["/"])
    assert result.exit_status == 0
    assert result.stdout.count(b"\n") == 200
    assert ssh_target.channels_opened == before + 1
    assert instance.count_session_channels(offset) == 1


def test_hostile_arguments_arrive_verbatim_and_run_nothing(
    ssh_target: Target, instance: Instance
) -> None:
    result = ssh_target.run(["printf", "%s\\0", *HOSTILE])
    assert result.exit_status == 0
    assert result.stdout.split(b"\0")[:-1] == [a.encode() for a in HOSTILE]
    script = ssh_target.run_script(b'for a in "$@"; do printf "%s\\0" "$a"; done\n', HOSTILE)
    assert script.stdout.split(b"\0")[:-1] == [a.encode() for a in HOSTILE]
    for name in ("PWNED", "PWNED2", "PWNED3", "PWNED4"):
        assert not instance.exists(f"/tmp/{name}")
        assert not instance.exists(f"/root/{name}")


# -- the instance itself ---------------------------------------------------------------


def test_instance_writes_stay_in_the_upper_dir(ssh_target: Target, instance: Instance) -> None:
    marker = f"/etc/ami-wizard-instance-marker-{instance.port}"
    assert (
        ssh_target.run(["sh", "-c", f"echo hi > {marker}; rm -f /etc/issue.net"]).exit_status == 0
    )
    assert instance.read(marker) == b"hi\n"
    assert not os.path.exists(marker)  # the host never sees it
    changes = {(c.path, c.kind) for c in instance.upper_changes()}
    assert (marker, "written") in changes
    if os.path.exists("/etc/issue.net"):
        assert ("/etc/issue.net", "deleted") in changes
    assert (instance.upper / marker.lstrip("/")).read_text() == "hi\n"


# -- local and image -------------------------------------------------------------------


def test_local_target_runs_argv_without_a_shell(tmp_path: Path) -> None:
    with open_target("local") as target:
        assert isinstance(target, LocalTarget)
        assert (target.kind, target.root, target.live, target.uri) == ("local", "/", True, "local")
        result = target.run(["printf", "%s\\0", *HOSTILE])
        assert result.stdout.split(b"\0")[:-1] == [a.encode() for a in HOSTILE]
        out = target.run_script(b'echo "$#:$1"\n', ["x y", "z"])
        assert out.stdout == b"2:x y\n"
        assert target.channels_opened == 2
    assert not Path("/tmp/PWNED").exists()


def test_image_target_reads_under_its_root_and_runs_on_the_operator_side(tmp_path: Path) -> None:
    root = tmp_path / "vol"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("imaged\n")
    # A hostile "sh" inside the image must never be what runs.
    (root / "bin").mkdir()
    (root / "bin" / "sh").write_text("#!/bin/sh\ntouch /tmp/IMAGE-EXECUTED\n")
    (root / "bin" / "sh").chmod(0o755)
    with open_target(f"image:{root}") as target:
        assert isinstance(target, ImageTarget)
        assert (target.kind, target.root, target.live) == ("image", str(root), False)
        result = target.run_script(b'cat "$1/etc/hostname"\n', [target.root])
        assert result.stdout == b"imaged\n"
    assert not Path("/tmp/IMAGE-EXECUTED").exists()


def test_image_target_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        open_target(f"image:{tmp_path / 'nope'}")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        open_target(f"image:{tmp_path / 'file'}")


# -- helpers ---------------------------------------------------------------------------


def _instance_fingerprint(instance: Instance) -> str:
    import paramiko

    pub = instance.read("/etc/ssh/ssh_host_ed25519_key.pub").decode().split()
    key = paramiko.PKey.from_type_string(pub[0], __import__("base64").b64decode(pub[1]))
    return fingerprint(key)


def _wait_for_reload(instance: Instance) -> None:
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if instance.log().count("Server listening on 127.0.0.1") >= 2:
            return
        time.sleep(0.01)
    raise AssertionError("sshd did not reload")


def test_handshake_timeout_is_one_line(ssh_options: ConnectOptions) -> None:
    # A listener that never answers: the TCP connect succeeds, the SSH banner never comes.
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(TargetError) as err:
            open_target(f"ssh://root@127.0.0.1:{port}", replace(ssh_options, timeout=0.5))
    message = str(err.value)
    assert message.startswith(f"SSH handshake with 127.0.0.1:{port} failed")
    assert "\n" not in message


def test_instance_starts_fast(tmp_path: Path) -> None:
    import time

    from tests.integration.conftest import require
    from tests.integration.instance import missing_requirements

    require(missing_requirements())
    began = time.monotonic()
    with Instance(tmp_path) as inst:
        elapsed = time.monotonic() - began
        assert inst.exec(["cat", "/run/sshd.pid"]).stdout == b"1\n"
    assert elapsed < 1.0
    assert not any(tmp_path.iterdir())  # stop() removed the overlay dirs


@pytest.mark.parametrize(("ci", "outcome"), [("true", "fail"), ("", "skip")])
def test_missing_requirement_skips_locally_but_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    from tests.integration.conftest import require

    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="sshd is missing"):
        require("sshd is missing")
    require(None)  # nothing missing: neither
