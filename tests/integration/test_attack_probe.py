"""Attacks on the probe by an unprivileged user of a real sshd instance (issue 10, items 1, 3).

mallory plants the hostile files herself; the audit must attribute every secret to exactly the
file that holds it, and never read, list or plan to delete a file that only looks like an
authorized_keys file because a setting or a symlink points at it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from checks import run_checks
from checks.authorized_keys import plan as plan_authorized_keys
from tests.integration.conftest import ClientKey
from tests.integration.instance import Instance
from tests.integration.test_audit import audit as run_cli_audit
from wizard import probe
from wizard.demo import EXAMPLE_KEY_ID
from wizard.engine import audit
from wizard.facts import Facts
from wizard.targets import Target

# Every byte that used to split a record somewhere (str.splitlines() breaks on all but the
# last two), a newline, and a name that is not UTF-8.
ODD = [b"\r", b"\v", b"\f", b"\x1c", b"\x1d", b"\x1e", "\u0085".encode(), "\u2028".encode()]
NAMES = [b"/tmp/x" + c + b"Y" for c in ODD] + [b"/tmp/x\nY", b"/tmp/latin1-\xe9"]
PLANT = (
    'for d do mkdir -p -- "$d/.aws" && printf "[default]\\naws_access_key_id = %s\\n" "$K"'
    ' > "$d/.aws/credentials"; done'
)


def as_mallory(instance: Instance, script: str, *args: str) -> None:
    instance.exec(
        [
            "setpriv",
            "--reuid=mallory",
            "--regid=mallory",
            "--init-groups",
            "env",
            f"K={EXAMPLE_KEY_ID}",
            "HOME=/home/mallory",
            "sh",
            "-c",
            script,
            "sh",
            *args,
        ]
    )


def creds(facts: Facts) -> dict[str, tuple[tuple[int, str, str], ...]]:
    return {
        c.file.path: tuple((h.line, h.kind, h.prefix) for h in c.hits) for c in facts.credentials
    }


def test_odd_bytes_in_tmp_names_never_move_a_secret(instance: Instance, ssh_target: Target) -> None:
    instance.useradd("mallory")
    baseline = creds(audit(ssh_target).facts)
    names = [os.fsdecode(n) for n in NAMES]
    as_mallory(instance, PLANT, *names)
    facts = audit(ssh_target).facts
    after = creds(facts)
    planted = {n + "/.aws/credentials" for n in names}
    assert set(after) - set(baseline) == planted
    for path in planted:
        assert after[path] == ((2, "aws-access-key-id", "AKIA"),), path
        info = next(c.file for c in facts.credentials if c.file.path == path)
        assert info.owner == "mallory" and info.ino and info.dev
    # nothing under /etc or /root gained (or lost) a secret
    for path in set(after) | set(baseline):
        if path.startswith(("/etc/", "/root/")):
            assert after.get(path) == baseline.get(path), path
    assert facts.incomplete == ()


def test_authorized_keys_pointing_at_shadow_is_never_read(
    instance: Instance, ssh_target: Target
) -> None:
    instance.exec(["chpasswd"], input=b"root:a-root-password-to-hash\n")
    root_hash = instance.read("/etc/shadow").split(b"\n")[0].split(b":")[1]
    assert root_hash.startswith(b"$")
    config = instance.read("/etc/ssh/sshd_config").decode()
    # A dangerous setting made by root, and a symlink made by mallory in her own home.
    instance.write(
        "/etc/ssh/sshd_config",
        "AuthorizedKeysFile .ssh/authorized_keys /etc/shadow\n" + config,
    )
    instance.useradd("mallory")
    as_mallory(instance, 'mkdir -p "$HOME/.ssh" && ln -s /etc/shadow "$HOME/.ssh/authorized_keys"')
    shadow_before = instance.read("/etc/shadow")
    cfg = probe.ProbeConfig(imds_mode="never")
    raw = ssh_target.run_script(
        probe.script(), probe.probe_args(ssh_target.root, ssh_target.live, cfg), timeout=120
    ).stdout
    assert root_hash not in raw
    facts = probe.parse(raw, root=ssh_target.root, live=True)
    assert facts.sshd_t is not None and "/etc/shadow" in facts.sshd_t["authorizedkeysfile"][0]
    assert "/etc/shadow" not in {a.file.path for a in facts.authorized_keys}
    assert {a.file.path for a in facts.authorized_keys} >= {"/root/.ssh/authorized_keys"}
    refused = {(r.user, r.path, r.resolved) for r in facts.authorized_keys_refused}
    assert ("root", "/etc/shadow", "/etc/shadow") in refused
    assert ("mallory", "/home/mallory/.ssh/authorized_keys", "/etc/shadow") in refused
    finding = next(iter(run_checks(facts, ["authorized-keys"])))
    assert finding.status.value == "fail"  # root's key is there; the setting is evidence too
    assert "search incomplete: " in finding.summary
    assert "/etc/shadow" in {e.path for e in finding.evidence}
    deletions = {a.path for a in plan_authorized_keys(facts, "clear")}  # type: ignore[attr-defined]
    assert "/etc/shadow" not in deletions
    assert "/home/mallory/.ssh/authorized_keys" not in deletions
    assert instance.read("/etc/shadow") == shadow_before


def test_a_search_cut_by_max_files_warns_in_json_and_md(
    instance: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path
) -> None:
    instance.useradd("mallory")
    # Enough files to stop the walk: the one credential is found past the limit, or not.
    as_mallory(
        instance,
        'for i in 1 2 3 4 5 6 7 8 9; do mkdir -p "$HOME/d$i" && : > "$HOME/d$i/.profile"; done',
    )
    config = tmp_path / "config.yaml"
    config.write_text("probe:\n  max_files: 3\n  depth: 2\nimds:\n  mode: never\n")
    env = {"AMI_WIZARD_CONFIG": str(config), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = {}
    for fmt in ("json", "md"):
        proc = run_cli_audit(instance, client_key, known_hosts, "--format", fmt, env=env)
        assert proc.returncode in (0, 1), proc.stderr
        out[fmt] = proc.stdout
    doc = json.loads(out["json"])
    checks = {c["id"]: c for c in doc["checks"]}
    for cid in ("shell-history", "bundle-credentials", "bundle-excludes"):
        assert checks[cid]["status"] not in ("pass", "info"), checks[cid]
        assert "search incomplete: " in checks[cid]["summary"], checks[cid]
    notes = [n for n in doc["probe_notes"] if n["kind"] == "limit"]
    assert {n["search"] for n in notes} >= {"history", "credential", "secrets"}
    assert all("probe.max_files" in n["text"] for n in notes)
    assert "## Probe notes" in out["md"] and "probe.max_files" in out["md"]
