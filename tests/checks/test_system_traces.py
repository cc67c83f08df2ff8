"""system-traces: facts in, findings and plans out; and the probe records' categories."""

from __future__ import annotations

from checks.base import catalog
from checks.system_traces import JOURNAL_FILE_MAX, check, plan
from wizard.actions import ClearTrace, Phase, ZeroFreeSpace
from wizard.facts import CredentialFile, Facts, FileInfo, SearchNote, Trace
from wizard.model import Status
from wizard.probe_traces import log_category, name_category, parse_traces, tree_category


def trace(category: str, path: str, size: int = 100, held_open: bool = False) -> Trace:
    info = FileInfo(path=path, size=size, mode=0o640, uid=0, owner="root", dev=1, ino=len(path))
    return Trace(category, info, held_open)


PLANTED = (
    trace("log", "/var/log/syslog", 2048),
    trace("log", "/var/log/empty.log", 0),
    trace("rotated-log", "/var/log/syslog.1.gz", 300),
    trace("tmp", "/var/tmp/build.tar", 10 * JOURNAL_FILE_MAX),
    trace("tmp", "/var/tmp/held", 5, held_open=True),
    trace("shadow-backup", "/etc/shadow-", 900),
    trace("account-backup", "/etc/passwd-", 900),
    trace("package-cache", "/var/cache/apt/archives/x.deb", 4096),
)


def test_nothing_found_passes() -> None:
    assert check(Facts()).status is Status.PASS


def test_each_category_is_reported_with_its_count_and_size() -> None:
    finding = check(Facts(traces=PLANTED))
    assert finding.status is Status.FAIL
    details = {e.path: e.detail for e in finding.evidence}
    assert details["/var/log/syslog"] == "log file: 1, 2.0 KiB"  # the empty log is no trace
    assert details["/var/tmp/build.tar"] == "file in /tmp or /var/tmp: 1, 640.0 KiB"
    assert details["/etc/shadow-"].startswith("shadow-/gshadow- backup (password hashes): 1")
    assert details["/var/tmp/held"] == "held open by a running process: left alone"
    assert "6 builder trace(s)" in finding.summary
    assert "1 file(s) held open" in finding.summary
    assert finding.options == ("truncate", "remove", "remove-and-zero-free-space", "keep")


def test_what_truncate_leaves_is_a_warning_and_open_files_pass() -> None:
    left = (trace("shadow-backup", "/etc/shadow-"), trace("tmp", "/var/tmp/held", 5, True))
    assert check(Facts(traces=left)).status is Status.WARN
    assert check(Facts(traces=left[1:])).status is Status.PASS
    refilling = (trace("log", "/var/log/auth.log", 80, held_open=True),)
    assert check(Facts(traces=refilling)).status is Status.WARN


def test_a_search_cut_short_never_passes() -> None:
    facts = Facts(incomplete=(SearchNote("traces", "(trees) stopped after 10 s"),))
    finding = check(facts)
    assert finding.status is Status.WARN and "search incomplete" in finding.summary


def test_skipped_trees_are_said() -> None:
    finding = check(Facts(traces_skipped=("/tmp: tmpfs, not part of the image",)))
    assert finding.status is Status.PASS
    assert finding.evidence[0].detail == "not searched: /tmp: tmpfs, not part of the image"


def test_truncate_plan() -> None:
    actions = plan(Facts(traces=PLANTED), "truncate")
    by_path = {a.path: a for a in actions if isinstance(a, ClearTrace)}
    assert set(by_path) == {
        "/var/log/syslog",
        "/var/log/syslog.1.gz",
        "/var/tmp/build.tar",
        "/etc/passwd-",
        "/var/cache/apt/archives/x.deb",
    }  # not the empty log, not the open file, not the shadow backup
    log = by_path["/var/log/syslog"]
    assert log.truncate and log.any_size and log.reversible and log.phase is Phase.FINAL
    assert not by_path["/var/log/syslog.1.gz"].truncate
    big = by_path["/var/tmp/build.tar"]
    assert not big.reversible and "larger than 64.0 KiB" in big.describe()
    assert not by_path["/var/cache/apt/archives/x.deb"].reversible
    assert by_path["/etc/passwd-"].reversible


def test_remove_plan_takes_the_shadow_backups_and_truncates_open_logs() -> None:
    facts = Facts(traces=(*PLANTED, trace("log", "/var/log/auth.log", 80, held_open=True)))
    actions = plan(facts, "remove")
    by_path = {a.path: a for a in actions if isinstance(a, ClearTrace)}
    shadow = by_path["/etc/shadow-"]
    assert not shadow.reversible and "password hashes" in shadow.describe()
    assert not by_path["/var/log/syslog"].truncate
    assert by_path["/var/log/auth.log"].truncate  # held open: emptied, never removed
    assert "/var/tmp/held" not in by_path
    assert not any(isinstance(a, ZeroFreeSpace) for a in actions)
    zero = plan(facts, "remove-and-zero-free-space")
    assert isinstance(zero[-1], ZeroFreeSpace) and not zero[-1].reversible
    assert plan(facts, "keep") == ()


def test_catalog_names_every_option() -> None:
    assert [o.id for o in catalog()["system-traces"].options] == [
        "truncate",
        "remove",
        "remove-and-zero-free-space",
        "keep",
    ]


def test_categories() -> None:
    assert log_category("/syslog") == "log"
    assert log_category("/syslog.1") == "rotated-log"
    assert log_category("/apt/history.log.2.gz") == "rotated-log"
    assert log_category("/messages-20240101") == "rotated-log"
    assert log_category("/journal/abc/system.journal") == "journal"
    assert log_category("/audit/audit.log") == "audit-log"
    assert log_category("/wtmp") == "login-record"
    assert log_category("/dump/vmcore") == "crash-dump"
    assert tree_category("/var/lib/rpm", "/__db.001") == "rpm-db-env"
    assert tree_category("/var/lib/rpm", "/rpmdb.sqlite") is None
    assert tree_category("/var/lib/sss/db", "/cache_x.ldb") == "service-state"
    assert name_category("/root/.ssh/known_hosts") == "ssh-known-hosts"
    assert name_category("/srv/known_hosts") is None
    assert name_category("/etc/.sshd_config.swp") == "editor-swap"
    assert name_category("/etc/shadow.bak") == "shadow-backup"
    assert name_category("/home/a/notes~") == "editor-backup"


def _info(meta: str, path: str) -> FileInfo:
    size, mode, uid, _gid, _mtime, dev, ino = meta.split(" ")
    return FileInfo(
        path.removeprefix("/img"), int(size), int(mode, 8), int(uid), dev=int(dev), ino=int(ino)
    )


def test_parse_traces() -> None:
    recs = [
        ["tracestart", "/var/log", "/img/var/log"],
        ["tracestart", "/var/lib/NetworkManager", "/img/var/lib/NetworkManager"],
        ["traceskip", "/tmp", "tmpfs, not part of the image"],
        [
            "traces",
            "trees",
            "t 5 644 0 0 1 7 1",
            "/img/var/log/syslog",
            "t 5 644 0 0 1 7 2",
            "/img/var/log/cloud-init.log",
            "t 5 644 0 0 1 7 3",
            "/img/var/lib/NetworkManager/internal-x.lease",
            "t 5 644 0 0 1 7 4",
            "/img/var/lib/NetworkManager/secret_key",
            "rc=0",
        ],
        [
            "traces",
            "names",
            "n 5 600 0 0 1 7 5",
            "/img/root/core",
            "n 5 644 0 0 1 7 6",
            "/img/root/lib/core",
            "rc=124",
        ],
        ["tracefiles", "9 600 0 0 1 7 8", "/img/etc/shadow-"],
        ["traceopen", "0", "7:1 7:9"],
    ]
    got = parse_traces(recs, _info, live=True, max_files=100, timeout="10")
    assert [(t.category, t.file.path, t.held_open) for t in got.traces] == [
        ("shadow-backup", "/etc/shadow-", False),
        ("core-dump", "/root/core", False),  # /root/lib/core is readable by all: no core dump
        ("dhcp-lease", "/var/lib/NetworkManager/internal-x.lease", False),
        ("log", "/var/log/syslog", True),  # cloud-init.log is cloud-init-state's
    ]
    assert got.skipped == ("/tmp: tmpfs, not part of the image",)
    assert got.notes == (SearchNote("traces", "(names) stopped after 10 s (probe.timeout)"),)
    capped = parse_traces(recs[:4], _info, live=True, max_files=1, timeout="10")
    assert capped.notes[0].reason == "(trees) stopped after 1 files (probe.max_files)"
    assert parse_traces(recs[:4], _info, live=True, max_files=100, timeout="10").notes[
        0
    ].reason == ("could not tell which files running processes hold open (not root)")


def test_what_other_guidelines_own_is_left_to_them() -> None:
    pk = trace("tmp", "/tmp/pk-ABC.pem")
    facts = Facts(
        traces=(pk, trace("tmp", "/root/.viminfo")),
        credentials=(CredentialFile(pk.file, "x509-private-key"),),
        histories=(FileInfo("/root/.viminfo"),),
    )
    assert check(facts).status is Status.PASS
    assert plan(facts, "remove") == ()


def test_service_data_warns_and_goes_only_with_remove() -> None:
    facts = Facts(traces=(trace("service-state", "/var/lib/sss/db/cache.ldb"),))
    assert check(facts).status is Status.WARN
    assert plan(facts, "truncate") == ()
    (action,) = plan(facts, "remove")
    assert isinstance(action, ClearTrace) and not action.reversible


def test_backups_of_keys_are_never_journaled() -> None:
    facts = Facts(
        traces=(
            trace("editor-backup", "/etc/ssh/ssh_host_rsa_key~"),
            trace("editor-backup", "/etc/ssl/private/site.pem.bak"),
            trace("editor-swap", "/root/.ssh/.id_ed25519.swp"),
            trace("editor-backup", "/etc/nginx/nginx.conf.bak"),
            trace("ssh-known-hosts", "/root/.ssh/known_hosts"),
        )
    )
    got = {a.path: a.reversible for a in plan(facts, "remove") if isinstance(a, ClearTrace)}
    assert got == {
        "/etc/ssh/ssh_host_rsa_key~": False,
        "/etc/ssl/private/site.pem.bak": False,
        "/root/.ssh/.id_ed25519.swp": False,
        "/etc/nginx/nginx.conf.bak": True,
        "/root/.ssh/known_hosts": True,
    }


def test_crontabs_profiles_and_enrolment_are_listed_and_go_only_with_remove() -> None:
    left = (
        trace("user-crontab", "/var/spool/cron/crontabs/bob"),
        trace("at-job", "/var/spool/cron/atjobs/a0001"),
        trace("network-profile", "/etc/NetworkManager/system-connections/w.nmconnection"),
        trace("ipa-enrolment", "/etc/ipa/default.conf"),
        trace("aliases-db", "/etc/aliases.db"),
    )
    finding = check(Facts(live=False, traces=left))
    assert finding.status is Status.WARN
    details = {e.path: e.detail for e in finding.evidence}
    assert "crontab of bob" in details["/var/spool/cron/crontabs/bob"]
    assert plan(Facts(live=False, traces=left), "truncate") == ()
    removed = {a.path for a in plan(Facts(live=False, traces=left), "remove")}
    assert removed == {t.file.path for t in left}
    # On a running instance the network profile stays, whatever the option, and says why.
    live = Facts(live=True, traces=left)
    assert left[2].file.path not in {a.path for a in plan(live, "remove")}
    live_detail = {e.path: e.detail for e in check(live).evidence}[left[2].file.path]
    assert "never removed here" in live_detail


def test_hostname_is_emptied_and_pinned_lines_are_edited_out() -> None:
    from wizard.actions import WriteFile

    text = "DEVICE=eth0\nHWADDR=02:00:00:aa:bb:cc\nONBOOT=yes\nUUID=5fb0\n"
    info = FileInfo(path="/etc/sysconfig/network-scripts/ifcfg-eth0", size=len(text), uid=0)
    pinned = Trace("pinned-network-id", info, text=text)
    facts = Facts(traces=(trace("hostname", "/etc/hostname", 10), pinned))
    finding = check(facts)
    assert finding.status is Status.FAIL
    assert "HWADDR=, UUID=" in {e.path: e.detail for e in finding.evidence}[info.path]
    for option in ("truncate", "remove"):
        actions = plan(facts, option)
        host = next(a for a in actions if isinstance(a, ClearTrace))
        assert host.path == "/etc/hostname" and host.truncate and host.reversible
        write = next(a for a in actions if isinstance(a, WriteFile))
        assert write.content == b"DEVICE=eth0\nONBOOT=yes\n" and write.reversible
    # A text that is not the whole file (cut at max_size) is never written back.
    cut = Trace("pinned-network-id", FileInfo(path=info.path, size=9999), text=text)
    assert plan(Facts(traces=(cut,)), "truncate") == ()
