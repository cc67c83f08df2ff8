"""Tests of the sshd_config model: syntax, Include/Match semantics, defaults, edits.

The `real` tests run the installed OpenSSH (`sshd -T`) on the same files and compare: they
are the proof that the model follows sshd, not just our reading of servconf.c.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.errors import UsageError
from wizard.model import Status
from wizard.sshd_config import (
    Directive,
    Disagreement,
    Placement,
    Setting,
    SshdConfig,
    _parse_line,
    criteria_always_match,
    criteria_may_match,
    defaults,
    expand_tokens,
    glob_paths,
    load_tree,
    match_pattern_list,
    parse_sshd_t,
    parse_version,
)

MAIN = "/etc/ssh/sshd_config"
DROPIN_DIR = "/etc/ssh/sshd_config.d"
DATA = Path(__file__).parent / "data" / "sshd"
SSHD = "/usr/sbin/sshd"


def parse(
    text: str, extra: Mapping[str, str] | None = None, version: str | None = None
) -> SshdConfig:
    return SshdConfig.parse({MAIN: text, **(extra or {})}, MAIN, version)


# --- syntax ------------------------------------------------------------------------------


def test_keyword_spellings_equals_quotes_and_comments() -> None:
    cfg = parse(
        "# a comment\n"
        "\n"
        "  permitrootlogin=NO\n"
        "PasswordAuthentication = No   # trailing comment\n"
        '"UseDNS" yes\n'
        "AuthorizedKeysFile \".ssh/my keys\" 'other file' %h/x\n"
        "MaxAuthTries\t03\r\n"
    )
    assert cfg.problems == ()
    assert cfg.effective("PermitRootLogin").value == ("no",)
    assert cfg.effective("passwordauthentication").value == ("no",)
    assert cfg.effective("usedns").value == ("yes",)
    assert cfg.authorized_keys_files() == (".ssh/my keys", "other file", "%h/x")
    assert cfg.effective("maxauthtries").value == ("3",)
    first = cfg.directives[0]
    assert first == Directive("permitrootlogin", ("NO",), MAIN, 3, None)


def test_first_value_wins_and_setting_reports_its_source() -> None:
    cfg = parse("PermitRootLogin no\nPermitRootLogin yes\n")
    setting = cfg.effective("permitrootlogin")
    assert setting == Setting(
        "permitrootlogin", ("no",), Directive("permitrootlogin", ("no",), MAIN, 1), ()
    )
    assert setting.text() == "no"
    assert setting.where() == f"{MAIN}:1"
    assert cfg.effective("usedns").where() == "default"


def test_deprecated_spellings_are_resolved() -> None:
    cfg = parse(
        "PermitRootLogin without-password\n"
        "ChallengeResponseAuthentication no\n"
        "KbdInteractiveAuthentication yes\n"
    )
    assert cfg.effective("permitrootlogin").value == ("prohibit-password",)
    # They are one option since 8.7, so the first line (the old name) wins.
    kbd = cfg.effective("kbdinteractiveauthentication")
    assert kbd.value == ("no",)
    assert kbd.source is not None and kbd.source.line == 2
    assert cfg.directives[1].keyword == "kbdinteractiveauthentication"


def test_before_8_7_challenge_response_is_its_own_option() -> None:
    cfg = parse("ChallengeResponseAuthentication no\n", version="OpenSSH_8.4p1 Debian-5")
    assert cfg.effective("challengeresponseauthentication").value == ("no",)
    assert cfg.effective("kbdinteractiveauthentication").value == ("no",)  # 8.4 default
    assert parse("", version="8.4p1").effective("challengeresponseauthentication").value == ("yes",)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('PermitRootLogin "no\n', "invalid quotes"),
        ("PermitRootLogin\n", "no argument"),
        ("PermitRootLogin # no\n", "missing argument"),
        ("PermitRootLogin maybe\n", "bad permitrootlogin value"),
        ("PermitRootLogin yes no\n", "extra arguments"),
        ("FooBar 1\n", "unknown keyword"),
        ("Match User bob\nUseDNS yes\n", "not allowed in a Match block"),
        ("Match User\n", "bad Match condition"),
        ("LoginGraceTime 2x\n", "bad time value"),
        ("PermitTunnel YES\n", "bad PermitTunnel argument"),
    ],
)
def test_bad_lines_become_problems_and_do_not_count(text: str, needle: str) -> None:
    cfg = parse(text)
    assert any(needle in p for p in cfg.problems), cfg.problems
    assert all(p.startswith(f"{MAIN} line ") for p in cfg.problems)
    # A refused line never becomes the effective value.
    for kw in ("permitrootlogin", "usedns", "logingracetime", "permittunnel"):
        assert cfg.effective(kw).source is None


def test_nul_byte_glues_the_next_line_like_sshd() -> None:
    cfg = parse("PermitRootLogin no\0junk\nUseDNS yes\n")
    assert any("NUL" in p for p in cfg.problems)
    # sshd reads 'PermitRootLogin noUseDNS yes' and refuses it; UseDNS is not set either.
    assert cfg.effective("permitrootlogin").source is None
    assert cfg.effective("usedns").source is None


def test_unterminated_quoted_keyword_line_is_skipped_silently() -> None:
    cfg = parse('"PermitRootLogin no\nUseDNS yes\n')
    assert cfg.problems == ()
    assert cfg.effective("permitrootlogin").source is None
    assert cfg.effective("usedns").value == ("yes",)


def test_time_and_numbers_are_canonical() -> None:
    cfg = parse("LoginGraceTime 1m30s\nClientAliveInterval 1h\nMaxStartups 5\n")
    assert cfg.effective("logingracetime").value == ("90",)
    assert cfg.effective("clientaliveinterval").value == ("3600",)
    assert cfg.effective("maxstartups").value == ("5:30:5",)


# --- Include -----------------------------------------------------------------------------


def test_include_is_expanded_in_lexical_order_at_its_position() -> None:
    extra = {
        f"{DROPIN_DIR}/20-b.conf": "PermitRootLogin yes\n",
        f"{DROPIN_DIR}/10-a.conf": "PermitRootLogin no\nUseDNS yes\n",
        f"{DROPIN_DIR}/.hidden.conf": "PasswordAuthentication no\n",
        f"{DROPIN_DIR}/sub/30-c.conf": "PubkeyAuthentication no\n",
        f"{DROPIN_DIR}/notes.txt": "X11Forwarding yes\n",
    }
    cfg = parse("Include sshd_config.d/*.conf\nPermitRootLogin forced-commands-only\n", extra)
    assert [(d.path.rsplit("/", 1)[-1], d.line) for d in cfg.directives] == [
        ("sshd_config", 1),
        ("10-a.conf", 1),
        ("10-a.conf", 2),
        ("20-b.conf", 1),
        ("sshd_config", 2),
    ]
    assert cfg.effective("permitrootlogin").value == ("no",)
    assert cfg.effective("passwordauthentication").source is None  # .hidden not matched
    assert cfg.effective("pubkeyauthentication").source is None  # * does not cross /
    assert cfg.problems == ()


def test_include_arguments_are_read_in_the_order_written() -> None:
    extra = {"/etc/ssh/b.conf": "PermitRootLogin yes\n", "/etc/ssh/a.conf": "PermitRootLogin no\n"}
    cfg = parse("Include /etc/ssh/b.conf a.conf\n", extra)
    assert cfg.effective("permitrootlogin").value == ("yes",)


def test_missing_literal_include_is_a_problem_but_an_empty_glob_is_not() -> None:
    cfg = parse("Include /etc/ssh/none.conf\nInclude /etc/ssh/sshd_config.d/*.conf\n")
    assert len(cfg.problems) == 1
    assert "none.conf not found" in cfg.problems[0]


def test_include_loops_are_cut_and_reported() -> None:
    extra = {
        "/etc/ssh/a.conf": "Include /etc/ssh/b.conf\nUseDNS yes\n",
        "/etc/ssh/b.conf": "Include /etc/ssh/a.conf\n",
    }
    cfg = parse("Include /etc/ssh/a.conf\nInclude /etc/ssh/sshd_config\n", extra)
    assert sum("Include loop" in p for p in cfg.problems) == 2
    assert cfg.effective("usedns").value == ("yes",)


def test_include_depth_is_bounded() -> None:
    extra = {f"/etc/ssh/{i}.conf": f"Include /etc/ssh/{i + 1}.conf\n" for i in range(30)}
    cfg = parse("Include /etc/ssh/0.conf\n", extra)
    assert any("too many recursive" in p for p in cfg.problems)


def chain(depth: int, root: str = "/etc/ssh") -> dict[str, str]:
    """A main file and `depth` nested Includes (the last one sets PermitRootLogin yes), with
    quoted paths holding spaces on the way."""
    files = {f"{root}/sshd_config": f'Include "{root}/lvl 1.conf"\n'}
    for i in range(1, depth + 1):
        last = i == depth
        files[f"{root}/lvl {i}.conf"] = (
            "PermitRootLogin yes\n" if last else f'Include "{root}/lvl {i + 1}.conf"\n'
        )
    return files


def test_include_depth_follows_sshd_sixteen_levels() -> None:
    # The main file is depth 0; sshd reads down to depth 16 and refuses depth 17.
    ok = SshdConfig.parse(chain(16), MAIN)
    assert ok.problems == ()
    assert ok.effective("permitrootlogin").value == ("yes",)
    too_deep = SshdConfig.parse(chain(17), MAIN)
    assert any("too many recursive" in p for p in too_deep.problems)


def test_quoted_include_with_spaces_and_escapes() -> None:
    extra = {
        "/etc/ssh/my conf.d/10-a.conf": "PermitRootLogin no\n",
        "/etc/ssh/b c.conf": "UseDNS yes\n",
    }
    cfg = parse('Include "/etc/ssh/my conf.d/*.conf" b\\ c.conf\nPermitRootLogin yes\n', extra)
    assert cfg.effective("permitrootlogin").where() == "/etc/ssh/my conf.d/10-a.conf:1"
    assert cfg.effective("usedns").value == ("yes",)


def test_match_criteria_are_kept_as_pairs_and_nest() -> None:
    extra = {"/etc/ssh/m.conf": "Match Address 10.0.0.0/8\nBanner x\n"}
    cfg = parse("Match User root,bob LocalPort=22\nInclude m.conf\n", extra)
    banner = next(d for d in cfg.directives if d.keyword == "banner")
    assert banner.criteria == (
        ("user", "root,bob"),
        ("localport", "22"),
        ("address", "10.0.0.0/8"),
    )


@pytest.mark.parametrize(
    ("value", "patterns", "expected"),
    [
        ("root", "root", 1),
        ("root", "r*", 1),
        ("root", "r??t", 1),
        ("root", "!root", -1),
        ("bob", "!root", 0),  # only negations never match
        ("bob", "*,!root", 1),
        ("root", "*,!root", -1),
        ("Root", "root", 0),
        ("a[b]", "a[b]", 1),  # no brackets in sshd's patterns
    ],
)
def test_match_pattern_list_like_sshd(value: str, patterns: str, expected: int) -> None:
    assert match_pattern_list(value, patterns) == expected


def test_criteria_reach() -> None:
    root = ["root"]
    assert criteria_may_match([("address", "*")], root)
    assert criteria_may_match([("user", "root"), ("localport", "22")], root)
    assert not criteria_may_match([("user", "bob")], root)
    assert criteria_may_match([("user", "bob")], None)
    assert not criteria_may_match([("user", "!bob")], None)
    assert not criteria_may_match([("address", "*,!*")], None)
    assert criteria_may_match([("frobnicate", "x")], root)  # unknown: assume it matches
    assert criteria_always_match([("address", "*")], root)
    assert criteria_always_match([("user", "root")], root)
    assert not criteria_always_match([("user", "root"), ("address", "10.0.0.0/8")], root)
    assert not criteria_always_match([("address", "*,!10.0.0.1")], root)


def test_match_in_an_included_file_ends_with_that_file() -> None:
    extra = {f"{DROPIN_DIR}/m.conf": "Match User bob\nPasswordAuthentication no\n"}
    cfg = parse(
        "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\nPermitRootLogin no\n",
        extra,
    )
    pw = cfg.effective("passwordauthentication")
    assert pw.value == ("yes",)
    assert pw.source is not None and pw.source.path == MAIN
    assert [d.match for d in pw.overrides] == ["User bob"]
    assert cfg.effective("permitrootlogin").source is not None


def test_include_inside_match_belongs_to_that_block() -> None:
    extra = {
        "/etc/ssh/p.conf": "PasswordAuthentication no\n",
        "/etc/ssh/m.conf": "Match all\nPermitRootLogin no\nMatch Address 10.0.0.0/8\nBanner x\n",
    }
    cfg = parse("Match User bob\nInclude p.conf\nInclude m.conf\nPermitEmptyPasswords yes\n", extra)
    by_kw = {d.keyword: d for d in cfg.directives}
    assert by_kw["passwordauthentication"].match == "User bob"
    # A Match inside the included file only narrows the enclosing block.
    assert by_kw["permitrootlogin"].match == "User bob"
    assert by_kw["banner"].match == "User bob && Address 10.0.0.0/8"
    # Back in the main file, the enclosing Match is in force again.
    assert by_kw["permitemptypasswords"].match == "User bob"
    assert cfg.effective("passwordauthentication").source is None
    assert cfg.effective("permitrootlogin").source is None


def test_match_all_lines_override_earlier_global_ones() -> None:
    cfg = parse("PermitRootLogin no\nMatch all\nPermitRootLogin yes\nPort 2222\n")
    assert cfg.effective("permitrootlogin").value == ("yes",)
    assert cfg.effective("permitrootlogin").source == Directive(
        "permitrootlogin", ("yes",), MAIN, 3, "all"
    )
    assert cfg.effective("port").value == ("2222",)  # not Match-able: a plain global line


# --- multi-valued keywords -----------------------------------------------------------------


def test_accumulating_keywords_collect_every_global_line() -> None:
    cfg = parse(
        "HostKey /k/1\nPort 22\nHostKey /k/2\nPort 2222\nAcceptEnv LANG LC_*\nAcceptEnv TZ\n"
        "Subsystem sftp /usr/lib/openssh/sftp-server\nMatch User bob\nAcceptEnv EDITOR\n"
    )
    assert cfg.host_keys() == ("/k/1", "/k/2")
    assert cfg.effective("port").value == ("22", "2222")
    assert cfg.effective("acceptenv").value == ("LANG", "LC_*", "TZ")
    assert [d.line for d in cfg.values("hostkey")] == [1, 3]
    assert cfg.values("acceptenv")[-1].line == 6  # the Match line is not global


def test_authorized_keys_file_is_first_line_wins_with_many_arguments() -> None:
    cfg = parse("AuthorizedKeysFile a %h/b\nAuthorizedKeysFile c\n")
    assert cfg.authorized_keys_files() == ("a", "%h/b")
    assert len(cfg.values("authorizedkeysfile")) == 2


def test_default_host_keys_and_authorized_keys() -> None:
    cfg = parse("")
    assert cfg.host_keys() == (
        "/etc/ssh/ssh_host_rsa_key",
        "/etc/ssh/ssh_host_ecdsa_key",
        "/etc/ssh/ssh_host_ed25519_key",
    )
    assert cfg.authorized_keys_files() == (".ssh/authorized_keys", ".ssh/authorized_keys2")


# --- version-dependent defaults ------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "root", "dns", "pid"),
    [
        ("OpenSSH_6.7p1 Debian-5", "yes", "yes", "/run/sshd.pid"),
        ("6.9p1", "yes", "no", "/var/run/sshd.pid"),
        ("OpenSSH_7.0p1", "prohibit-password", "no", "/var/run/sshd.pid"),
        ("OpenSSH_9.2p1 Debian-2+deb12u3", "prohibit-password", "no", "/run/sshd.pid"),
        ("OpenSSH_8.9p1 Ubuntu-3ubuntu0.10", "prohibit-password", "no", "/run/sshd.pid"),
        (None, "prohibit-password", "no", "/var/run/sshd.pid"),
    ],
)
def test_defaults_follow_the_version(version: str | None, root: str, dns: str, pid: str) -> None:
    cfg = parse("", version=version)
    assert cfg.effective("permitrootlogin").value == (root,)
    assert cfg.effective("usedns").value == (dns,)
    assert cfg.effective("pidfile").value == (pid,)
    assert cfg.effective("passwordauthentication").value == ("yes",)
    assert cfg.effective("pubkeyauthentication").value == ("yes",)
    assert cfg.effective("permitemptypasswords").value == ("no",)


def test_parse_version() -> None:
    v = parse_version("OpenSSH_9.2p1 Debian-2+deb12u3")
    assert (v.major, v.minor, v.distro) == (9, 2, "debian")
    assert parse_version("9.2p1").distro is None
    assert parse_version(None).at_least(9, 9)
    assert parse_version("garbage").at_least(9, 9)


# --- glob --------------------------------------------------------------------------------


def test_glob_follows_glob3_rules() -> None:
    paths = ["/d/a.conf", "/d/B.conf", "/d/.h.conf", "/d/x/y.conf", "/d/[a].conf", "/e/a.conf"]
    assert glob_paths("/d/*.conf", paths) == ["/d/B.conf", "/d/[a].conf", "/d/a.conf"]
    assert glob_paths("/d/.*", paths) == ["/d/.h.conf"]
    assert glob_paths("/*/a.conf", paths) == ["/d/a.conf", "/e/a.conf"]
    assert glob_paths("/d/[!a]*.conf", paths) == ["/d/B.conf", "/d/[a].conf"]
    assert glob_paths("/d/\\[a].conf", paths) == ["/d/[a].conf"]
    assert glob_paths("/d//a.conf", paths) == ["/d/a.conf"]
    assert glob_paths("/d/?.conf", paths) == ["/d/B.conf", "/d/a.conf"]


# --- cross-check -------------------------------------------------------------------------


def test_cross_check_compares_canonically_and_reports_differences() -> None:
    cfg = parse("PermitRootLogin prohibit-password\nPasswordAuthentication no\nPort 22\n")
    agree = {
        "permitrootlogin": ["without-password"],
        "passwordauthentication": ["no"],
        "port": ["22"],
        "listenaddress": ["0.0.0.0:22"],
        "somethingnew": ["x"],
    }
    assert cfg.cross_check(agree) == ()
    differ = {**agree, "passwordauthentication": ["yes"], "port": ["22", "2222"]}
    assert cfg.cross_check(differ) == (
        Disagreement("passwordauthentication", ("no",), ("yes",)),
        Disagreement("port", ("22",), ("22", "2222")),
    )


def test_cross_check_accepts_missing_default_host_keys() -> None:
    cfg = parse("")
    assert cfg.cross_check({"hostkey": ["/etc/ssh/ssh_host_ed25519_key"]}) == ()
    assert cfg.cross_check({"hostkey": ["/other"]}) == (
        Disagreement("hostkey", cfg.host_keys(), ("/other",)),
    )
    assert parse("HostKey /a\n").cross_check({"hostkey": []}) == (
        Disagreement("hostkey", ("/a",), ()),
    )


def test_parse_sshd_t() -> None:
    out = "port 22\nport 2222\npermitrootlogin without-password\nauthorizedkeysfile a b\n"
    assert parse_sshd_t(out) == {
        "port": ["22", "2222"],
        "permitrootlogin": ["without-password"],
        "authorizedkeysfile": ["a b"],
    }


# --- tokens ------------------------------------------------------------------------------


def test_expand_tokens() -> None:
    assert expand_tokens("%h/.ssh/k_%u_%U_%%", "bob", "/home/bob", 1000) == (
        "/home/bob/.ssh/k_bob_1000_%"
    )
    assert expand_tokens(".ssh/authorized_keys", "b", "/home/b/", 1) == (
        "/home/b/.ssh/authorized_keys"
    )
    assert expand_tokens("/etc/keys/%u", "ann", "/home/ann", 5) == "/etc/keys/ann"
    assert expand_tokens("%x", "u", "/h", 1) == "/h/%x"


# --- placement and edits -------------------------------------------------------------------


def ubuntu_files() -> dict[str, str]:
    return load_tree(DATA / "ubuntu")


def test_load_tree_reads_only_what_includes_reach(tmp_path: Path) -> None:
    files = ubuntu_files()
    assert sorted(files) == [
        MAIN,
        f"{DROPIN_DIR}/50-cloud-init.conf",
        f"{DROPIN_DIR}/60-vendor.conf",
    ]
    (tmp_path / "etc/ssh").mkdir(parents=True)
    (tmp_path / "etc/ssh/sshd_config").write_text("Include extra/*.conf\n")
    (tmp_path / "etc/ssh/extra").mkdir()
    (tmp_path / "etc/ssh/extra/a.conf").write_text("Include /opt/x.conf\n")
    (tmp_path / "etc/ssh/unrelated.conf").write_text("UseDNS yes\n")
    (tmp_path / "opt").mkdir()
    (tmp_path / "opt/x.conf").write_bytes(b"Banner \xff\n")
    got = load_tree(tmp_path)
    assert sorted(got) == ["/etc/ssh/extra/a.conf", MAIN, "/opt/x.conf"]
    assert got["/opt/x.conf"].encode("utf-8", "surrogateescape") == b"Banner \xff\n"


def test_ubuntu_like_tree_effective_values() -> None:
    cfg = SshdConfig.parse(ubuntu_files(), version="OpenSSH_8.9p1 Ubuntu-3ubuntu0.10")
    assert cfg.problems == ()
    pw = cfg.effective("passwordauthentication")
    assert pw.value == ("yes",)
    assert pw.where() == f"{DROPIN_DIR}/50-cloud-init.conf:1"
    assert [d.match for d in pw.overrides] == ["User deploy"]
    assert cfg.effective("permitrootlogin").value == ("prohibit-password",)
    assert cfg.effective("usedns").value == ("yes",)
    assert cfg.effective("kbdinteractiveauthentication").value == ("no",)


def test_placement_prefers_a_first_sorting_drop_in() -> None:
    cfg = SshdConfig.parse(ubuntu_files())
    assert cfg.placement("PasswordAuthentication") == Placement(
        f"{DROPIN_DIR}/00-ami-wizard.conf", 0, True
    )


def test_placement_falls_back_to_main_file_before_first_match() -> None:
    text = "PermitRootLogin yes\nInclude /etc/ssh/sshd_config.d/*.conf\nMatch User x\nBanner b\n"
    cfg = parse(text)
    # The main file sets it before its Include: a drop-in would come too late.
    assert cfg.placement("permitrootlogin") == Placement(MAIN, 2)
    assert cfg.placement("usedns") == Placement(f"{DROPIN_DIR}/00-ami-wizard.conf", 0, True)
    assert parse("UseDNS no\n").placement("usedns") == Placement(MAIN, 1)
    assert parse("UseDNS no").placement("usedns") == Placement(MAIN, 1)


def test_placement_keeps_the_include_suffix() -> None:
    cfg = parse("Include /etc/ssh/conf.d/*.cfg\n")
    assert cfg.placement("usedns").path == "/etc/ssh/conf.d/00-ami-wizard.cfg"


def changed_keywords(before: SshdConfig, after: SshdConfig) -> set[str]:
    keywords = set(defaults(None)) | {d.keyword for d in before.directives}
    return {
        kw
        for kw in keywords - {"include", "match"}
        if before.effective(kw).value != after.effective(kw).value
        or [d.args for d in before.effective(kw).overrides]
        != [d.args for d in after.effective(kw).overrides]
    }


def apply(cfg: SshdConfig, keyword: str, args: tuple[str, ...]) -> SshdConfig:
    new = cfg.with_setting(keyword, args)
    merged = {**cfg.files, **new}
    return SshdConfig.parse(merged, cfg.main, cfg.version)


def test_with_setting_adds_a_drop_in_and_changes_nothing_else() -> None:
    cfg = SshdConfig.parse(ubuntu_files())
    new = cfg.with_setting("PasswordAuthentication", ("no",))
    assert list(new) == [f"{DROPIN_DIR}/00-ami-wizard.conf"]
    assert "PasswordAuthentication no\n" in new[f"{DROPIN_DIR}/00-ami-wizard.conf"]
    after = apply(cfg, "PasswordAuthentication", ("no",))
    assert after.effective("passwordauthentication").value == ("no",)
    assert changed_keywords(cfg, after) == {"passwordauthentication"}
    assert after.problems == ()


def test_with_setting_comments_out_earlier_lines_and_match_all() -> None:
    text = (
        "PermitRootLogin yes\r\n"
        "  PermitRootLogin no\r\n"
        "Include /etc/ssh/sshd_config.d/*.conf\r\n"
        "Match User bob\r\n"
        "  PermitRootLogin no\r\n"
        "Match all\r\n"
        "PermitRootLogin yes\r\n"
    )
    cfg = parse(text)
    new = cfg.with_setting("permitrootlogin", ("prohibit-password",))
    assert list(new) == [MAIN]
    lines = new[MAIN].split("\n")
    assert lines[0] == "# ami-wizard: PermitRootLogin yes\r"
    assert lines[1] == "  # ami-wizard: PermitRootLogin no\r"  # also read before ours
    assert lines[3] == "PermitRootLogin prohibit-password\r"  # before the first Match
    assert lines[5] == "  PermitRootLogin no\r"  # bob's override is kept
    assert lines[7] == "# ami-wizard: PermitRootLogin yes\r"
    after = apply(cfg, "permitrootlogin", ("prohibit-password",))
    assert after.effective("permitrootlogin").value == ("prohibit-password",)
    assert changed_keywords(cfg, after) == {"permitrootlogin"}


def test_with_setting_replaces_every_host_key() -> None:
    extra = {f"{DROPIN_DIR}/10-keys.conf": "HostKey /old/2\n"}
    cfg = parse("Include sshd_config.d/*.conf\nHostKey /old/1\n", extra)
    after = apply(cfg, "HostKey", ("/new/a", "/new b"))
    assert after.host_keys() == ("/new/a", "/new b")
    assert changed_keywords(cfg, after) == {"hostkey"}


def test_with_setting_refuses_bad_values() -> None:
    cfg = parse("")
    with pytest.raises(UsageError):
        cfg.with_setting("PermitRootLogin", ("maybe",))
    with pytest.raises(UsageError):
        cfg.with_setting("NoSuchThing", ("1",))
    with pytest.raises(UsageError):
        cfg.with_setting("UseDNS", ())


def test_with_setting_into_an_empty_or_missing_main_file() -> None:
    cfg = SshdConfig.parse({}, MAIN)
    assert any("not provided" in p for p in cfg.problems)
    after = apply(cfg, "UseDNS", ("yes",))
    assert after.effective("usedns").value == ("yes",)


# --- property tests ----------------------------------------------------------------------

weird_text = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from(list("\0\r\n\t \"'#=\\*?[]/\f")),
        st.sampled_from(["Include ", "Match ", "all", "PermitRootLogin", "User ", "*.conf"]),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    main=weird_text,
    others=st.dictionaries(
        st.sampled_from(["/etc/ssh/a.conf", f"{DROPIN_DIR}/x.conf", "/etc/ssh/sshd_config.d/y"]),
        weird_text,
        max_size=3,
    ),
)
def test_parse_never_raises_and_renders_exactly(main: str, others: dict[str, str]) -> None:
    files = {MAIN: main, **others}
    cfg = SshdConfig.parse(files, MAIN)
    for path, text in files.items():
        assert cfg.render(path) == text
    for kw in ("permitrootlogin", "hostkey", "port", "authorizedkeysfile", "match"):
        cfg.effective(kw)
    assert isinstance(cfg.problems, tuple)


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["Include /etc/ssh/a.conf", "Include *", "Include b"]), max_size=4))
def test_include_webs_terminate(lines: list[str]) -> None:
    text = "\n".join(lines)
    files = {MAIN: text, "/etc/ssh/a.conf": text, "/etc/ssh/b": "Include /etc/ssh/*"}
    SshdConfig.parse(files, MAIN)


# A generated config: lines inside blocks; the reference model below is deliberately naive.
FIRST_WINS: dict[str, list[str]] = {
    "permitrootlogin": ["yes", "no", "prohibit-password", "without-password"],
    "passwordauthentication": ["yes", "no"],
    "pubkeyauthentication": ["yes", "no"],
    "usedns": ["yes", "no"],
    "x11forwarding": ["yes", "no"],
}
SPELLING = {
    "permitrootlogin": "PermitRootLogin",
    "passwordauthentication": "PasswordAuthentication",
    "pubkeyauthentication": "PubkeyAuthentication",
    "usedns": "UseDNS",
    "x11forwarding": "X11Forwarding",
}
NOT_MATCHABLE = {"usedns"}

line_st = st.tuples(
    st.sampled_from(sorted(FIRST_WINS)),
    st.integers(0, 3),
    st.sampled_from([" ", "=", " = ", "\t", "  "]),
    st.booleans(),  # upper-case keyword
    st.booleans(),  # quoted value
    st.booleans(),  # trailing comment
)
block_st = st.tuples(st.sampled_from([None, "all", "User bob"]), st.lists(line_st, max_size=5))


def render_generated(blocks: list[tuple[str | None, list[tuple[str, int, str, bool, bool, bool]]]]):
    out: list[str] = []
    for crit, lines in blocks:
        if crit is not None:
            out.append(f"Match {crit}")
        elif out:
            continue  # a global block can only come first
        for kw, vi, sep, upper, quoted, comment in lines:
            if crit == "User bob" and kw in NOT_MATCHABLE:
                continue
            value = FIRST_WINS[kw][vi % len(FIRST_WINS[kw])]
            name = SPELLING[kw].upper() if upper else SPELLING[kw]
            value = f'"{value}"' if quoted else value
            out.append(f"  {name}{sep}{value}{' # c' if comment else ''}")
        out.append("# end of block")
    return "\n".join(out) + "\n"


def reference_effective(blocks, keyword: str, version: str | None) -> str:
    """First Match-all value for Match-able keywords, else the first global one."""
    canon = {"without-password": "prohibit-password"}
    in_all: list[str] = []
    in_global: list[str] = []
    for i, (crit, lines) in enumerate(blocks):
        if crit is None and i > 0:
            continue  # render_generated drops it too
        for kw, vi, *_ in lines:
            if kw != keyword or crit == "User bob":
                continue
            value = FIRST_WINS[kw][vi % len(FIRST_WINS[kw])]
            value = canon.get(value, value)
            if crit == "all" and kw not in NOT_MATCHABLE:
                in_all.append(value)
            else:
                in_global.append(value)
    for found in (in_all, in_global):
        if found:
            return found[0]
    return defaults(version)[keyword][0]


blocks_st = st.lists(block_st, max_size=5)


@settings(max_examples=300)
@given(blocks=blocks_st)
def test_effective_matches_a_reference_model(blocks) -> None:
    text = render_generated(blocks)
    cfg = parse(text)
    assert cfg.problems == ()
    for kw in FIRST_WINS:
        assert cfg.effective(kw).value == (reference_effective(blocks, kw, None),), text


@settings(max_examples=150, deadline=None)
@given(blocks=blocks_st, keyword=st.sampled_from(sorted(FIRST_WINS)), vi=st.integers(0, 3))
def test_with_setting_always_takes_effect(blocks, keyword: str, vi: int) -> None:
    text = render_generated(blocks)
    value = FIRST_WINS[keyword][vi % len(FIRST_WINS[keyword])]
    cfg = parse(text)
    after = apply(cfg, keyword, (value,))
    assert after.effective(keyword).text() == {"without-password": "prohibit-password"}.get(
        value, value
    )
    assert changed_keywords(cfg, after) <= {keyword}


# --- the real sshd -----------------------------------------------------------------------

real = pytest.mark.skipif(
    not Path(SSHD).exists() and os.environ.get("CI") != "true",
    reason="needs OpenSSH's sshd (in CI its absence is a failure)",
)


def sshd_t(config: Path, extra: Sequence[str] = ()) -> str:
    """Run `sshd -T`; as root without /run/sshd, in a private mount namespace with one."""
    cmd = [SSHD, "-T", "-f", str(config), *extra]
    if os.geteuid() == 0 and not Path("/run/sshd").is_dir():
        script = 'mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && exec "$@"'
        cmd = ["unshare", "--mount", "sh", "-c", script, "sh", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"sshd -T failed: {proc.stderr.strip()}")
    return proc.stdout


@pytest.fixture(scope="session")
def host_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    key = tmp_path_factory.mktemp("hostkey") / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return str(key)


@pytest.fixture(scope="session")
def openssh_version() -> str | None:
    for cmd in (["ssh", "-V"], [SSHD, "-V"]):
        if shutil.which(cmd[0]) or Path(cmd[0]).exists():
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            text = (out.stderr or out.stdout).strip()
            if text.startswith("OpenSSH_"):
                return text.split(",")[0]
    return None


def write_tree(root: Path, files: Mapping[str, str]) -> dict[str, str]:
    """Write `files` (names relative to root, `{root}` in texts expanded); return the mapping
    the model gets (absolute paths)."""
    out: dict[str, str] = {}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        body = text.replace("{root}", str(root))
        path.write_bytes(body.encode("utf-8"))
        out[str(path)] = body
    return out


def real_check(
    tmp_path: Path,
    host_key: str,
    version: str | None,
    files: Mapping[str, str],
    extra: Sequence[str] = (),
) -> tuple[SshdConfig, dict[str, list[str]]]:
    """Model and sshd -T on the same tree; asserts they agree on every known keyword."""
    files = dict(files)
    files["sshd_config"] = f"HostKey {host_key}\n" + files.get("sshd_config", "")
    mapping = write_tree(tmp_path, files)
    main = str(tmp_path / "sshd_config")
    cfg = SshdConfig.parse(mapping, main, version)
    dump = parse_sshd_t(sshd_t(Path(main), extra))
    assert cfg.cross_check(dump) == ()
    # Not vacuous: the keywords we care about were in the dump and compared.
    for kw in ("permitrootlogin", "passwordauthentication", "usedns", "hostkey", "pidfile"):
        assert kw in dump
    return cfg, dump


REAL_CASES: dict[str, dict[str, str]] = {
    "defaults": {},
    "first-wins": {"sshd_config": "PermitRootLogin no\nPermitRootLogin yes\nUseDNS yes\n"},
    "aliases": {
        "sshd_config": "PermitRootLogin without-password\nChallengeResponseAuthentication no\n"
        "KbdInteractiveAuthentication yes\nDSAAuthentication no\n"
    },
    "syntax": {
        "sshd_config": '  permitrootlogin=NO\n"UseDNS" yes # c\nPasswordAuthentication = No\r\n'
        "AuthorizedKeysFile \".ssh/my keys\" 'b' %h/x\nLoginGraceTime 1m30s\n"
        "ClientAliveInterval 1h\nMaxStartups 5\nCompression delayed\n"
        "AllowTcpForwarding all\nLogLevel verbose\nGatewayPorts ClientSpecified\n"
    },
    "include-order": {
        "sshd_config": "Include {root}/d/*.conf\nPermitRootLogin forced-commands-only\n"
        "PasswordAuthentication no\n",
        "d/20-b.conf": "PermitRootLogin yes\nPubkeyAuthentication no\n",
        "d/10-a.conf": "PermitRootLogin no\nUseDNS yes\n",
        "d/.hidden.conf": "PasswordAuthentication yes\n",
        "d/sub/x.conf": "X11Forwarding yes\n",
    },
    "include-after-own-line": {
        "sshd_config": "PermitRootLogin forced-commands-only\nInclude {root}/d/*.conf\n",
        "d/10-a.conf": "PermitRootLogin no\nUseDNS yes\n",
    },
    "include-args-in-order": {
        "sshd_config": "Include {root}/b.conf {root}/a.conf {root}/none*.conf\n",
        "a.conf": "PermitRootLogin no\n",
        "b.conf": "PermitRootLogin yes\nInclude {root}/c.conf\n",
        "c.conf": "UseDNS yes\nPermitRootLogin no\n",
    },
    "match-in-include-ends-there": {
        "sshd_config": "Include {root}/m.conf\nPasswordAuthentication no\nPermitRootLogin no\n",
        "m.conf": "Match User bob\nPasswordAuthentication yes\n",
    },
    "include-inside-match": {
        "sshd_config": "Match User bob\nInclude {root}/p.conf\nInclude {root}/ma.conf\n",
        "p.conf": "PasswordAuthentication no\n",
        "ma.conf": "Match all\nPermitRootLogin no\n",
    },
    "match-all-overrides": {
        "sshd_config": "PermitRootLogin no\nAllowUsers a\nAuthorizedKeysFile a\nPort 22\n"
        "Match User x\nPermitRootLogin forced-commands-only\n"
        "Match all\nPermitRootLogin yes\nAllowUsers b c\nAuthorizedKeysFile b c\nPort 2222\n"
        "Match all\nPermitRootLogin no\n",
    },
    "match-all-in-include": {
        "sshd_config": "Include {root}/ma.conf\nPasswordAuthentication yes\n",
        "ma.conf": "Match all\nPasswordAuthentication no\n",
    },
    "accumulating": {
        "sshd_config": "HostKey {root}/../hk2\nPort 22\nPort 2222\nAcceptEnv LANG LC_*\n"
        'AcceptEnv TZ\nSubsystem sftp /usr/lib/openssh/sftp-server -l "INFO"\n'
        "Subsystem x /bin/true\nDenyGroups wheel\nMatch User bob\nAcceptEnv EDITOR\n",
    },
    "relative-include": {
        # Relative to /etc/ssh, where no such file exists: ignored by both.
        "sshd_config": "Include ami-wizard-test-nonexistent-*.conf\nUseDNS yes\n",
    },
}


@real
@pytest.mark.parametrize("case", sorted(REAL_CASES))
def test_real_sshd_agrees(
    case: str, tmp_path: Path, host_key: str, openssh_version: str | None
) -> None:
    files = dict(REAL_CASES[case])
    if case == "accumulating":
        shutil.copy(host_key, tmp_path.parent / "hk2")
        os.chmod(tmp_path.parent / "hk2", 0o600)
    cfg, dump = real_check(tmp_path, host_key, openssh_version, files)
    assert cfg.problems == ()  # sshd started, so the model must not see problems either
    # A few values spelled out, so a shared blind spot of model and comparison shows up.
    expected = {
        "defaults": {"permitrootlogin": ["without-password"], "usedns": ["no"]},
        "first-wins": {"permitrootlogin": ["no"], "usedns": ["yes"]},
        "aliases": {"kbdinteractiveauthentication": ["no"], "pubkeyauthentication": ["no"]},
        "syntax": {"authorizedkeysfile": [".ssh/my keys b %h/x"], "logingracetime": ["90"]},
        "include-order": {"permitrootlogin": ["no"], "passwordauthentication": ["no"]},
        "include-after-own-line": {"permitrootlogin": ["forced-commands-only"]},
        "include-args-in-order": {"permitrootlogin": ["yes"], "usedns": ["yes"]},
        "match-in-include-ends-there": {"passwordauthentication": ["no"]},
        "include-inside-match": {"passwordauthentication": ["yes"]},
        "match-all-overrides": {"permitrootlogin": ["yes"], "port": ["22", "2222"]},
        "match-all-in-include": {"passwordauthentication": ["no"]},
        "accumulating": {"acceptenv": ["LANG", "LC_*", "TZ"], "port": ["22", "2222"]},
        "relative-include": {"usedns": ["yes"]},
    }[case]
    for kw, lines in expected.items():
        assert dump[kw] == lines


@real
def test_real_sshd_applies_include_inside_match_to_that_block(
    tmp_path: Path, host_key: str, openssh_version: str | None
) -> None:
    files = REAL_CASES["include-inside-match"]
    cfg, _ = real_check(tmp_path, host_key, openssh_version, files)
    bob = parse_sshd_t(sshd_t(tmp_path / "sshd_config", ["-C", "user=bob,host=h,addr=127.0.0.1"]))
    assert bob["passwordauthentication"] == ["no"]
    assert bob["permitrootlogin"] == ["no"]
    # The model records those lines as bob's overrides, not as global values.
    assert [d.match for d in cfg.effective("passwordauthentication").overrides] == ["User bob"]
    assert [d.match for d in cfg.effective("permitrootlogin").overrides] == ["User bob"]


@real
def test_real_sshd_prints_without_password_and_model_reads_both(
    tmp_path: Path, host_key: str, openssh_version: str | None
) -> None:
    files = {"sshd_config": "PermitRootLogin prohibit-password\n"}
    cfg, dump = real_check(tmp_path, host_key, openssh_version, files)
    assert cfg.effective("permitrootlogin").value == ("prohibit-password",)
    # 9.2 prints the old spelling; newer releases print the new one. Both compare equal.
    assert dump["permitrootlogin"][0] in {"without-password", "prohibit-password"}


@real
def test_real_sshd_detects_a_wrong_model(
    tmp_path: Path, host_key: str, openssh_version: str | None
) -> None:
    """The comparison is able to fail: a model parsed from a different text disagrees."""
    files = {"sshd_config": "PermitRootLogin no\n"}
    _, dump = real_check(tmp_path, host_key, openssh_version, files)
    text = f"HostKey {host_key}\nPermitRootLogin yes\n"
    wrong = SshdConfig.parse({"/x": text}, "/x", openssh_version)
    assert wrong.cross_check(dump) == (Disagreement("permitrootlogin", ("yes",), ("no",)),)


@real
def test_real_sshd_on_the_stock_debian_config(
    tmp_path: Path, host_key: str, openssh_version: str | None
) -> None:
    text = (DATA / "debian12/etc/ssh/sshd_config").read_text()
    text = text.replace("/etc/ssh/sshd_config.d/", f"{tmp_path}/d/")
    cfg, dump = real_check(
        tmp_path,
        host_key,
        openssh_version,
        {"sshd_config": text, "d/50-cloud-init.conf": "PasswordAuthentication no\n"},
    )
    assert dump["kbdinteractiveauthentication"] == ["no"]
    assert dump["usepam"] == ["yes"]
    assert cfg.effective("passwordauthentication").where().endswith("50-cloud-init.conf:1")


@real
@pytest.mark.parametrize(
    ("keyword", "args"),
    [
        ("PasswordAuthentication", ("no",)),
        ("PermitRootLogin", ("no",)),
        ("UseDNS", ("no",)),
        ("KbdInteractiveAuthentication", ("no",)),
        ("HostKey", ("{key}",)),
    ],
)
def test_real_sshd_accepts_with_setting_results(
    keyword: str,
    args: tuple[str, ...],
    tmp_path: Path,
    host_key: str,
    openssh_version: str | None,
) -> None:
    """Ubuntu-like tree with conflicting lines everywhere; the edit must win in real sshd."""
    files = {
        "sshd_config": "PermitRootLogin yes\nInclude {root}/d/*.conf\nUseDNS yes\n"
        "KbdInteractiveAuthentication yes\nMatch User bob\nPasswordAuthentication yes\n"
        "Match all\nPermitRootLogin yes\n",
        "d/50-cloud-init.conf": "PasswordAuthentication yes\n",
        "d/00-aaa.conf": "UseDNS yes\nHostKey {root}/../hk3\n",
    }
    shutil.copy(host_key, tmp_path.parent / "hk3")
    os.chmod(tmp_path.parent / "hk3", 0o600)
    cfg, _ = real_check(tmp_path, host_key, openssh_version, files)
    args = tuple(a.replace("{key}", host_key) for a in args)
    new = cfg.with_setting(keyword, args)
    for path, text in new.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    after = SshdConfig.parse({**cfg.files, **new}, cfg.main, cfg.version)
    dump = parse_sshd_t(sshd_t(Path(cfg.main)))
    assert after.cross_check(dump) == ()
    assert after.effective(keyword).value == args
    assert changed_keywords(cfg, after) == {keyword.lower()}


# Random configs through the real sshd: the broadest proof, bounded to stay quick.
real_line_st = st.tuples(
    st.sampled_from([*sorted(FIRST_WINS), "port", "acceptenv", "authorizedkeysfile"]),
    st.integers(0, 3),
)


def render_real(blocks: list[tuple[str | None, list[tuple[str, int]]]]) -> str:
    values = {
        **FIRST_WINS,
        "port": ["22", "2222", "2200", "22"],
        "acceptenv": ["LANG", "TZ LC_*", "X", "Y"],
        "authorizedkeysfile": ["a", "b c", "%h/d", "none"],
    }
    out: list[str] = []
    for i, (crit, lines) in enumerate(blocks):
        if crit is None and i > 0:
            continue  # after a Match line there is no way back to global lines
        if crit is not None:
            out.append(f"Match {crit}")
        for kw, vi in lines:
            if crit == "User bob" and kw in {"usedns", "port"}:
                continue
            out.append(f"{kw} {values[kw][vi % len(values[kw])]}")
    return "\n".join(out) + "\n"


@real
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    blocks=st.lists(
        st.tuples(st.sampled_from([None, "all", "User bob"]), st.lists(real_line_st, max_size=4)),
        max_size=4,
    )
)
def test_real_sshd_agrees_on_random_configs(
    blocks, tmp_path: Path, host_key: str, openssh_version: str | None
) -> None:
    text = render_real(blocks)
    sub = tmp_path / f"r{abs(hash(text))}"
    sub.mkdir(exist_ok=True)
    real_check(sub, host_key, openssh_version, {"sshd_config": text})


def test_real_marker_skips_only_outside_ci() -> None:
    # Guard against a skip condition that would hide a missing sshd in CI.
    if os.environ.get("CI") == "true":
        assert not real.args[0]
    assert re.search("CI", real.kwargs["reason"])


# --- Include chains, quoted paths and Match blocks: model, probe and real sshd agree ---------


def write_abs(files: Mapping[str, str]) -> None:
    for name, text in files.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text)


@real
@pytest.mark.parametrize("depth", [6, 16, 17])
def test_real_sshd_include_depth_and_quoted_paths(
    depth: int, tmp_path: Path, host_key: str, openssh_version: str | None
) -> None:
    root = str(tmp_path / "my ssh")
    files = chain(depth, root)
    main = f"{root}/sshd_config"
    files[main] = f"HostKey {host_key}\n" + files[main]
    write_abs(files)
    cfg = SshdConfig.parse(files, main, openssh_version)
    refused = any("too many recursive" in p for p in cfg.problems)
    cmd = [SSHD, "-T", "-f", main]
    if depth > 16:
        with pytest.raises(AssertionError, match="recursive"):
            sshd_t(Path(main))
        assert refused
        return
    dump = parse_sshd_t(sshd_t(Path(main)))
    assert not refused, cmd
    assert dump["permitrootlogin"] == ["yes"]
    assert cfg.effective("permitrootlogin").where() == f"{root}/lvl {depth}.conf:1"
    assert cfg.cross_check(dump) == ()


SPECS = [
    f"user={u},host={a},addr={a},laddr={la},lport={p}"
    for u in ("root", "bob")
    for a, la in (("127.0.0.1", "127.0.0.1"), ("203.0.113.9", "192.0.2.10"))
    for p in (22, 2222)
]
# Match criteria and whether some connection of root can get PermitRootLogin yes from them.
ROOT_BLOCKS = {
    "Address *": True,
    "User root": True,
    "LocalPort 2222": True,
    "Host 203.0.113.*": True,
    "User *,!bob Address 127.0.0.0/8": True,
    "User bob": False,
    "User !root": False,
    "User *,!root": False,
    "Address !*": False,
}


@real
@pytest.mark.parametrize("criteria", sorted(ROOT_BLOCKS))
def test_real_sshd_c_agrees_with_the_per_block_judgement(
    criteria: str, tmp_path: Path, host_key: str, openssh_version: str | None
) -> None:
    from checks import root_ssh_login
    from wizard.facts import Account, Facts

    files = {
        "sshd_config": f"HostKey {host_key}\nPermitRootLogin no\nMatch {criteria}\n"
        '  Include "{root}/m c/*.conf"\n',
        "m c/10.conf": "PermitRootLogin yes\n",
    }
    mapping = write_tree(tmp_path, files)
    main = tmp_path / "sshd_config"
    answers = {
        spec: parse_sshd_t(sshd_t(main, ["-C", spec]))["permitrootlogin"][0] for spec in SPECS
    }
    root_yes = {s for s, v in answers.items() if v == "yes" and s.startswith("user=root,")}
    assert bool(root_yes) is ROOT_BLOCKS[criteria]
    accounts = (
        Account("root", 0, 0, "/root", "/bin/sh"),
        Account("bob", 1000, 1000, "/home/bob", "/bin/sh"),
    )
    facts = Facts(
        live=False,
        sshd_files=mapping,
        sshd_main=str(main),
        sshd_version=openssh_version or "",
        accounts=accounts,
    )
    finding = root_ssh_login.check(facts)
    assert (finding.status is Status.FAIL) is ROOT_BLOCKS[criteria]
    # And with sshd's own answers as facts, a live target says the same.
    live = dataclasses.replace(
        facts,
        live=True,
        sshd_t_conn={s: parse_sshd_t_map(sshd_t(main, ["-C", s])) for s in SPECS},
    )
    assert (root_ssh_login.check(live).status is Status.FAIL) is ROOT_BLOCKS[criteria]


def parse_sshd_t_map(text: str) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in parse_sshd_t(text).items()}


@pytest.mark.parametrize("shell", [["dash"], ["bash", "--posix"], ["busybox", "sh"]])
def test_probe_follows_includes_like_the_model(shell: list[str], tmp_path: Path) -> None:
    """The probe's Include loop reads what sshd reads: quoted paths with spaces, escapes,
    16 levels, Includes inside Match blocks (an image tree, so nothing is executed)."""
    from wizard import probe

    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is needed for this test (install it)")
    image = tmp_path / "image"
    files = chain(16)
    files[MAIN] = (
        files[MAIN] + "Include sub\\ dir/*.conf 'quoted one.conf' # x.conf\n"
        'Match Address *\n  Include "/etc/ssh/in match/*.conf"\n'
    )
    files["/etc/ssh/sub dir/a.conf"] = "UseDNS yes\n"
    files["/etc/ssh/quoted one.conf"] = "Port 22\n"
    files["/etc/ssh/x.conf"] = "Port 23\n"  # behind a comment: not read by sshd
    files["/etc/ssh/in match/z.conf"] = "PasswordAuthentication yes\n"
    for name, text in files.items():
        path = image / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    cfg = probe.ProbeConfig(imds_mode="never")
    proc = subprocess.run(
        [*shell, "-s", "--", *probe.probe_args(str(image), False, cfg)],
        input=probe.script(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    facts = probe.parse(proc.stdout, root=str(image), live=False, target_kind="image")
    model = SshdConfig.parse(files, MAIN)
    reached = {d.path for d in model.directives} | {MAIN}
    assert "/etc/ssh/x.conf" not in reached
    assert set(facts.sshd_files) == reached
    assert "/etc/ssh/lvl 16.conf" in facts.sshd_files
    from checks import root_ssh_login, ssh_password_auth

    assert root_ssh_login.check(facts).status is Status.FAIL
    finding = ssh_password_auth.check(facts)
    assert finding.status is Status.FAIL
    assert any(e.path == "/etc/ssh/in match/z.conf" for e in finding.evidence)


CRITERIA_POOL = [
    "all",
    "Address *",
    "Address 10.0.0.0/8",
    "Address 127.0.0.0/8,!127.0.0.1",
    "User root",
    "User bob",
    "User !root",
    "User *,!root",
    "User r*,!bob LocalPort 2222",
    "Host 203.0.113.*",
    "LocalAddress 192.0.2.10",
]


@real
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.sampled_from(["", "PermitRootLogin no\n", "PermitRootLogin yes\n"]),
    blocks=st.lists(
        st.tuples(st.sampled_from(CRITERIA_POOL), st.sampled_from(["yes", "no", "none"])),
        max_size=4,
    ),
)
def test_real_sshd_c_never_contradicts_a_pass(
    start: str, blocks: list[tuple[str, str]], tmp_path: Path, host_key: str
) -> None:
    """No false PASS: whenever sshd gives root `PermitRootLogin yes` for one of the fixed
    connections, the check fails; when it passes, sshd gives none of them `yes`."""
    from checks import root_ssh_login
    from wizard.facts import Account, Facts

    body = start + "".join(
        f"Match {c}\n" + (f"  PermitRootLogin {v}\n" if v != "none" else "  Banner none\n")
        for c, v in blocks
    )
    sub = tmp_path / f"h{abs(hash(body))}"
    sub.mkdir(exist_ok=True)
    mapping = write_tree(sub, {"sshd_config": f"HostKey {host_key}\n{body}"})
    main = sub / "sshd_config"
    answers = [parse_sshd_t(sshd_t(main, ["-C", s]))["permitrootlogin"][0] for s in SPECS]
    root_answers = [a for s, a in zip(SPECS, answers, strict=True) if s.startswith("user=root,")]
    facts = Facts(
        live=False,
        sshd_files=mapping,
        sshd_main=str(main),
        sshd_version="9.2p1",
        accounts=(
            Account("root", 0, 0, "/root", "/bin/sh"),
            Account("bob", 1000, 1000, "/home/bob", "/bin/sh"),
        ),
    )
    status = root_ssh_login.check(facts).status
    if "yes" in root_answers:
        assert status is Status.FAIL, body
    if status is Status.PASS:
        assert "yes" not in root_answers, body


def _include_awk() -> str:
    from wizard import probe

    found = re.search(r"^SSHD_INC_AWK='(.*?)'$", probe.script().decode(), re.S | re.M)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("awk", [["mawk"], ["busybox", "awk"]])
@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(["Include", "include", "INCLUDE=", " Include =", '"Include"']),
            st.text(alphabet=" \t\"'\\#=ab/*.", max_size=24),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_probe_include_arguments_split_like_the_model(
    awk: list[str], lines: list[tuple[str, str]]
) -> None:
    """The probe's awk splits Include arguments exactly as the model's argv_split does."""
    if shutil.which(awk[0]) is None:
        pytest.fail(f"{awk[0]} is needed for this test (install it)")
    text = "".join(f"{kw} {rest}\n" for kw, rest in lines)
    proc = subprocess.run(
        [*awk, "-v", "sq='", _include_awk()],
        input=text.encode(),
        capture_output=True,
        timeout=30,
        check=True,
    )
    expected: list[str] = []
    for kw, rest in lines:
        parsed = _parse_line(f"{kw} {rest}", {})
        if parsed.keyword == "include" and parsed.problem is None:
            expected.extend(parsed.args)
    got = proc.stdout.decode().split("\n")[:-1]
    assert got == expected, text
