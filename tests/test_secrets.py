"""secrets.scrub, the one masking function: every secret shape the issue names is masked to
its first four characters, and ordinary report text (fingerprints, hashes, prose) is left alone."""

from __future__ import annotations

import pytest

from wizard.secrets import MASK, clean_lines, clean_text, mask, scrub, scrub_tree

# Made-up values of each shape; none is a real credential.
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"SetEnv GITHUB_TOKEN={GITHUB}", GITHUB),
        (f"token in a file name /home/a/.{GITHUB}_history", GITHUB),
        ("gho_" + "Z" * 36, "gho_" + "Z" * 36),
        ("ghu_" + "a1" * 18, "ghu_" + "a1" * 18),
        ("ghs_" + "b2" * 18, "ghs_" + "b2" * 18),
        ("ghr_" + "c3" * 18, "ghr_" + "c3" * 18),
        ("x github_pat_11ABCDE2F0" + "q" * 60, "github_pat_11ABCDE2F0" + "q" * 60),
        ("glpat-Zq9xW8vU7tS6rR5pQ4oN", "glpat-Zq9xW8vU7tS6rR5pQ4oN"),
        ("xoxb-1234567890-0987654321-AbCdEf", "xoxb-1234567890-0987654321-AbCdEf"),
        ("xoxp-1234567890-abc", "xoxp-1234567890-abc"),
        ("id AKIAQ3EXAMPLE7ZZX2W9.", "AKIAQ3EXAMPLE7ZZX2W9"),
        ("id ASIAQ3EXAMPLE7ZZX2W9", "ASIAQ3EXAMPLE7ZZX2W9"),
        (
            "bare q8Lm2Xv9Rt4Yb7Np1Kd6Wf3Hs0Jc5Ge8Ua2Zi7Ox here",
            "q8Lm2Xv9Rt4Yb7Np1Kd6Wf3Hs0Jc5Ge8Ua2Zi7Ox",
        ),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI/K7MDENG"),
        ("# break-glass password=Ex4mple-2024 (rotate)", "Ex4mple-2024"),
        ("SetEnv API_KEY = 'abcdefgh1234'", "abcdefgh1234"),
        ('{"secret": "abcdefghijkl"}', "abcdefghijkl"),
        ("root password: Hunter2Hunter2", "Hunter2Hunter2"),
        ("ForceCommand /usr/bin/sync --password S3cretSyncPassw0rd", "S3cretSyncPassw0rd"),
        ("sync -token abcdef123", "abcdef123"),
    ],
)
def test_secret_shapes_are_masked_to_four_characters(text: str, secret: str) -> None:
    out = scrub(text)
    assert secret not in out
    assert secret[:4] + MASK in out


@pytest.mark.parametrize(
    "text",
    [
        "PasswordAuthentication no",
        "PermitRootLogin prohibit-password",
        "root has a usable password: everyone launching the image would share it",
        "1 account(s) have a usable password: deploybot",
        "X-aws-ec2-metadata-token: $TOKEN",
        "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "SHA256:ctssG+Ll3zVT98KL6NmJEGvWI71nOHXQ2cUMb5dh9Yw",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIrd5L6P+JZzzvbVUgX5/XcoCR5+rEieAaRJE/F4YOe5",
        "Options: **set** (recommended)",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert scrub(text) == text


def test_masking_is_idempotent_and_hides_the_length() -> None:
    once = scrub(f"a {GITHUB} b")
    assert scrub(once) == once
    assert mask("x" * 10) == mask("x" * 50)[:4] + MASK[: len(mask("x" * 50)) - 4]
    assert len(mask("abcdefgh")) == len(mask("abcdefghijklmnop"))


def test_scrub_tree_masks_every_string_keys_included() -> None:
    doc = {"notes": [f"token={GITHUB}"], GITHUB: ("AKIAQ3EXAMPLE7ZZX2W9", 3), "n": None}
    out = scrub_tree(doc)
    assert GITHUB not in repr(out) and "AKIAQ3EXAMPLE7ZZX2W9" not in repr(out)
    assert out["n"] is None and out["ghp_" + MASK][1] == 3
    assert isinstance(out["ghp_" + MASK], tuple)


def test_clean_text_masks_and_escapes_bytes_from_the_target() -> None:
    name = f"/home/a/.bad\udcff\x1b[31m_{GITHUB}"
    out = clean_text(name)
    assert "\\xff" in out and "\\x1b" in out and GITHUB not in out


def test_clean_lines_keeps_the_layout_of_a_diff() -> None:
    diff = f"--- a/etc/ssh/sshd_config\n+SetEnv T={GITHUB}\n \tx\r\n"
    assert clean_lines(diff) == "--- a/etc/ssh/sshd_config\n+SetEnv T=ghp_****\n \tx\\x0d\n"
