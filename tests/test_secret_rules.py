"""The probe's content scan against Yelp's detect-secrets, whose plugins its rules follow.

Every sample line is planted in an image root and the real probe.sh (under dash) scans it;
detect-secrets scans the same line. For each plugin we mirror, a line it flags must be
flagged by us with the matching kind (so a drift of either side fails here), and the lines
we must not flag are checked too. Only the first four characters of a value may come back.
"""

from __future__ import annotations

import re
from pathlib import Path

from detect_secrets.core.scan import scan_line
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.settings import default_settings

from tests.test_probe import mini_root, probe_bytes
from wizard import probe

# detect-secrets' type -> our hit kind, for the plugins we mirror on the target.
MIRRORED = {
    "AWS Access Key": "aws-access-key-id",
    "GitHub Token": "github-token",
    "GitLab Token": "gitlab-token",
    "Slack Token": "slack-token",
    "Private Key": "private-key",
    "NPM tokens": "npm-token",
    "Basic Auth Credentials": "url-password",
    "Secret Keyword": "secret-value",
}
# (file name, line, detect-secrets type): none of these is a real credential.
SAMPLES = [
    ("env.conf", "AWS_ACCESS_KEY_ID=AKIAQ3EXAMPLE7ZZX2W9", "AWS Access Key"),
    ("sts.conf", "key = ASIAQ3EXAMPLE7ZZX2W9", "AWS Access Key"),
    ("gh1.yml", "token: ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "GitHub Token"),
    ("gh2.yml", "oauth gho_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2", "GitHub Token"),
    ("gh3.yml", "app ghs_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2", "GitHub Token"),
    ("gl1.ini", "GITLAB=glpat-" + "Zq9xW8vU7tS6rR5pQ4oN", "GitLab Token"),
    ("gl2.ini", "runner GR1348941" + "Zq9xW8vU7tS6rR5pQ4oN", "GitLab Token"),
    ("sl1.txt", "hook xoxb-" + "1234567890-0987654321-AbCdEfGhIjKl", "Slack Token"),
    ("sl2.txt", "user xoxp-" + "1234567890-0987654321-AbCdEfGhIjKl", "Slack Token"),
    ("k1", "-----BEGIN RSA PRIVATE KEY-----", "Private Key"),
    ("k2", "-----BEGIN OPENSSH PRIVATE KEY-----", "Private Key"),
    ("k3", "-----BEGIN EC PRIVATE KEY-----", "Private Key"),
    ("k4", "-----BEGIN PRIVATE KEY-----", "Private Key"),
    ("k5", "-----BEGIN DSA PRIVATE KEY-----", "Private Key"),
    ("k6", "-----BEGIN PGP PRIVATE KEY BLOCK-----", "Private Key"),
    ("k7", "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----", "Private Key"),
    ("k8", "PuTTY-User-Key-File-2: ssh-rsa", "Private Key"),
    (".npmrc", "//registry.npmjs.org/:_authToken=npm_" + "a" * 36, "NPM tokens"),
    (
        "pip.conf",
        "index-url = https://deploy:S3cr3tPw9@pypi.example.com/simple",
        "Basic Auth Credentials",
    ),
    ("db.yaml", 'password: "Hunter2Hunter2"', "Secret Keyword"),
    ("app.ini", 'db_password = "Hunter2Hunter2"', "Secret Keyword"),
]
# Lines detect-secrets' mirrored plugins leave alone, and so must we.
CLEAN = [
    ("short.txt", "ghp_tooShort and AKIA123 and xoxb-"),
    ("prose.md", "Set your password in the settings page."),
    ("cert.pem", "-----BEGIN CERTIFICATE-----"),
    ("pub.txt", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== user@host"),
]


def _ds_types(line: str) -> set[str]:
    with default_settings():
        return {s.type for s in scan_line(line)}


def _scan(tmp_path: Path, files: list[tuple[str, str]]) -> probe.Facts:
    root = mini_root(tmp_path)
    for i, (name, line) in enumerate(files):
        d = root / "srv" / f"s{i}"
        d.mkdir(parents=True)
        (d / name).write_text(line + "\n")
    return probe_bytes(root)[1]


def _kinds(facts: probe.Facts) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for cred in facts.credentials:
        m = re.match(r"/srv/s(\d+)/", cred.file.path)
        if m:
            out.setdefault(int(m.group(1)), set()).update(h.kind for h in cred.hits)
    return out


def test_every_sample_is_found_by_both(tmp_path: Path) -> None:
    facts = _scan(tmp_path, [(n, line) for n, line, _ in SAMPLES])
    ours = _kinds(facts)
    for i, (name, line, ds_type) in enumerate(SAMPLES):
        assert ds_type in _ds_types(line), f"detect-secrets no longer flags {name}: {line}"
        assert MIRRORED[ds_type] in ours.get(i, set()), f"the probe misses {name}: {line}"
    for cred in facts.credentials:
        for hit in cred.hits:
            assert len(hit.prefix) <= 4


def test_clean_lines_are_clean_for_both(tmp_path: Path) -> None:
    facts = _scan(tmp_path, CLEAN)
    mirrored_ds = {t for _, line in CLEAN for t in _ds_types(line)} & set(MIRRORED)
    assert mirrored_ds == set()
    assert facts.credentials == ()


def test_rule_lists_match_detect_secrets() -> None:
    """The lists we copied: every private-key header and GitHub prefix detect-secrets knows
    appears in probe.sh (a new one upstream fails here until we add it)."""
    script = probe.script().decode()
    headers = [p.pattern for p in PrivateKeyDetector.denylist]
    for header in headers:
        line = f"-----{header}-----" if header.startswith("BEGIN") else f"{header}: x"
        assert re.search(r"BEGIN [A-Z0-9 ]*PRIVATE KEY|^PuTTY-User-Key-File-", line), header
    prefixes = re.search(r"\(([a-z|]+)\)_", GitHubTokenDetector.denylist[0].pattern)
    assert prefixes
    assert f"({prefixes.group(1)})_" in script


OWN_KINDS = [
    (
        ".kube/config",
        "users:\n- user:\n    client-key-data: LS0tS2t1YmVLZXlEYXRhMDAwMA==\n",
        "kube-client-key",
    ),
    (".my.cnf", "[client]\nuser=shop\npassword=MyCnfPassw0rd77\n", "secret-value"),
    (".pypirc", "[pypi]\nusername = __token__\npassword = PypiPassw0rd77\n", "secret-value"),
    (".git-credentials", "https://deploy:GitCredPassw0rd@git.example.com\n", "url-password"),
    (".netrc", "machine h login u password NetrcPassw0rd\n", "netrc-password"),
    (".pgpass", "h:5432:db:u:PgPassw0rd77\n", "pgpass-password"),
    (".docker/config.json", '{"auths": {"r": {"auth": "dTpEb2NrZXJQdzc3"}}}\n', "docker-auth"),
    ("app.yaml", "slack: xoxb-1234567890-0987654321-AbCdEf\n", "slack-token"),
]


def test_the_formats_detect_secrets_has_no_plugin_for(tmp_path: Path) -> None:
    root = mini_root(tmp_path)
    for i, (name, text, _) in enumerate(OWN_KINDS):
        path = root / "home" / "u" / f"p{i}" / name
        path.parent.mkdir(parents=True)
        path.write_text(text)
    unit = root / "etc" / "systemd" / "system" / "a.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(
        "[Service]\nEnvironmentFile=/etc/a/secrets.env\nEnvironment=API_TOKEN=UnitT0ken77\n"
    )
    facts = probe_bytes(root)[1]
    kinds: dict[str, set[str]] = {}
    for cred in facts.credentials:
        kinds.setdefault(cred.file.path, set()).update(h.kind for h in cred.hits)
    for i, (name, _, kind) in enumerate(OWN_KINDS):
        assert kind in kinds.get(f"/home/u/p{i}/{name}", set()), name
    assert kinds["/etc/systemd/system/a.service"] == {"environment-file", "unit-environment"}


def test_same_facts_where_grep_has_no_null_output(tmp_path: Path) -> None:
    """Where grep lacks -Z (busybox), every file under the size cap goes to awk: same facts."""
    import subprocess

    from wizard.demo import seed_practice_image

    root = seed_practice_image(tmp_path / "img")
    (root / "opt" / "app").mkdir(parents=True)
    (root / "opt" / "app" / "k").write_text("-----BEGIN EC PRIVATE KEY-----\n")
    reference = probe_bytes(root)[1]
    script = probe.script().replace(b"grep -I -l -Z -i -E -e A", b"grep --no-such-option")
    assert script != probe.script()
    cfg = probe.ProbeConfig(imds_mode="never")
    proc = subprocess.run(
        ["dash", "-s", "--", *probe.probe_args(str(root), False, cfg)],
        input=script,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert probe.parse(proc.stdout, root=str(root), live=False, target_kind="image") == reference
    assert "/opt/app/k" in {c.file.path for c in reference.credentials}
