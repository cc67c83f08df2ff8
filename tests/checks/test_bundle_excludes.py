from checks.bundle_excludes import check, exclude_list
from tests.checks import account, file, pubkey
from wizard.facts import AuthorizedKeysFile, CloudInit, CredentialFile, Facts, HostKey
from wizard.model import Status

ACCOUNTS = (
    account("root", 0),
    account("daemon", 1, shell="/usr/sbin/nologin", home="/usr/sbin"),
    account("admin", 1000),
)


def test_defaults_only_is_info() -> None:
    finding = check(Facts(accounts=ACCOUNTS, machine_id=""))
    assert finding.status is Status.INFO
    assert exclude_list(Facts(accounts=ACCOUNTS)) == ["/home/admin/.ssh", "/root/.ssh"]
    assert finding.recommended == "write"


def test_no_accounts_still_excludes_roots_ssh() -> None:
    assert exclude_list(Facts()) == ["/root/.ssh"]


def test_found_items_warn_and_are_listed_once() -> None:
    facts = Facts(
        accounts=ACCOUNTS,
        host_keys=(
            HostKey(
                file("/etc/ssh/ssh_host_ed25519_key"), file("/etc/ssh/ssh_host_ed25519_key.pub")
            ),
        ),
        authorized_keys=(
            AuthorizedKeysFile(
                file("/home/admin/.ssh/authorized_keys"),
                "admin",
                (pubkey("/home/admin/.ssh/authorized_keys"),),
            ),
            AuthorizedKeysFile(
                file("/etc/ssh/keys/admin"), "admin", (pubkey("/etc/ssh/keys/admin"),)
            ),
        ),
        histories=(file("/root/.bash_history"), file("/srv/app/.mysql_history")),
        credentials=(CredentialFile(file("/opt/build/pk-X.pem"), "x509-private-key"),),
        machine_id="0123456789abcdef0123456789abcdef\n",
        cloud_init=CloudInit(
            installed=True,
            state_entries=(
                "/var/lib/cloud/instances/i-1",
                "/var/lib/cloud/instance",
                "/var/log/cloud-init.log",
            ),
        ),
    )
    paths = exclude_list(facts)
    assert paths == [
        "/etc/machine-id",
        "/etc/ssh/keys/admin",
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssh/ssh_host_ed25519_key.pub",
        "/home/admin/.ssh",  # covers its authorized_keys
        "/opt/build/pk-X.pem",
        "/root/.bash_history",
        "/root/.ssh",
        "/srv/app/.mysql_history",
        "/var/lib/cloud",
        "/var/log/cloud-init.log",
    ]
    finding = check(facts)
    assert finding.status is Status.WARN
    assert [e.path for e in finding.evidence] == paths


def test_comma_in_a_name_falls_back_to_its_parent() -> None:
    facts = Facts(histories=(file("/srv/c/x,y_history"), file("/srv/a,b/.bash_history")))
    assert exclude_list(facts) == ["/root/.ssh", "/srv"]  # /srv/c is inside /srv
    finding = check(facts)
    assert "comma" in finding.evidence[1].detail
