"""Inventories: target lists, @file, our YAML, and Ansible INI and YAML (via ansible-inventory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.errors import UsageError
from wizard.inventory import (
    FleetTarget,
    ansible_inventory_command,
    expand_args,
    file_stem,
    from_ansible_listing,
    read_inventory,
    ssh_spec,
    unique_names,
)

needs_ansible = pytest.mark.skipif(
    ansible_inventory_command() is None, reason="ansible-core is not installed"
)


def test_target_list_file_skips_blanks_and_comments(tmp_path: Path) -> None:
    listed = tmp_path / "t.txt"
    listed.write_text("# builders\n\n  ssh://root@10.0.0.1:2222  \nlocal\n")
    assert expand_args(["demo", f"@{listed}"]) == [
        FleetTarget("demo", "demo"),
        FleetTarget("ssh://root@10.0.0.1:2222", "ssh://root@10.0.0.1:2222"),
        FleetTarget("local", "local"),
    ]


def test_empty_target_list_is_a_usage_error(tmp_path: Path) -> None:
    listed = tmp_path / "t.txt"
    listed.write_text("# nothing\n")
    with pytest.raises(UsageError, match="names no target"):
        expand_args([f"@{listed}"])
    with pytest.raises(UsageError, match="cannot read target list"):
        expand_args([f"@{tmp_path / 'missing'}"])


def test_our_inventory_with_defaults(tmp_path: Path) -> None:
    inv = tmp_path / "fleet.yaml"
    inv.write_text(
        "schema: ami-wizard/inventory/v1\n"
        "defaults: {user: admin, identity: keys/builder}\n"
        "targets:\n"
        "  - builder.example.com\n"
        "  - {name: b2, host: 10.0.0.2, port: 2222}\n"
        "  - {name: b3, host: '::1', user: root, identity: /k}\n"
        "  - {name: golden, target: 'image:/mnt/golden'}\n"
        "  - {name: b2, host: 10.0.0.9}\n"
    )
    key = str(tmp_path / "keys/builder")
    assert read_inventory(str(inv)) == [
        FleetTarget("builder.example.com", "builder.example.com", key),
        FleetTarget("b2", "ssh://admin@10.0.0.2:2222", key),
        FleetTarget("b3", "ssh://root@[::1]", "/k"),
        FleetTarget("golden", "image:/mnt/golden", key),
        FleetTarget("b2-2", "ssh://admin@10.0.0.9", key),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("schema: ami-wizard/inventory/v9\ntargets: [a]\n", "schema must be"),
        ("schema: ami-wizard/inventory/v1\ntargets: []\n", "non-empty list"),
        ("schema: ami-wizard/inventory/v1\nhosts: [a]\n", "unknown key 'hosts'"),
        (
            "schema: ami-wizard/inventory/v1\ntargets: [{host: a, target: b}]\n",
            "either target or host",
        ),
        ("schema: ami-wizard/inventory/v1\ntargets: [{host: a, port: 0}]\n", "bad port"),
        ("schema: ami-wizard/inventory/v1\ntargets: [{host: a, port: true}]\n", "bad port"),
        ("schema: ami-wizard/inventory/v1\ntargets: [{host: '-oProxyCommand=x'}]\n", "bad host"),
        ("schema: ami-wizard/inventory/v1\ntargets: [{host: 'a b'}]\n", "bad host"),
        ("schema: ami-wizard/inventory/v1\ntargets: [{host: a, user: 'x@y'}]\n", "bad user"),
        ("schema: ami-wizard/inventory/v1\ntargets: [{host: '{{ h }}'}]\n", "template"),
        ("schema: ami-wizard/inventory/v1\ntargets: [{target: a, port: 2}]\n", "go with host"),
        ("schema: ami-wizard/inventory/v1\ndefaults: {password: x}\ntargets: [a]\n", "defaults"),
        ("schema: ami-wizard/inventory/v1\ntargets: [[a]]\n", "string or a mapping"),
    ],
)
def test_bad_inventory_is_one_line(tmp_path: Path, body: str, message: str) -> None:
    inv = tmp_path / "fleet.yaml"
    inv.write_text(body)
    with pytest.raises(UsageError, match=message) as info:
        read_inventory(str(inv))
    assert "\n" not in str(info.value)


def test_ansible_listing_maps_connection_variables() -> None:
    listing = {
        "_meta": {
            "hostvars": {
                "web": {
                    "ansible_host": "10.1.1.1",
                    "ansible_user": "ec2-user",
                    "ansible_port": 2200,
                    "ansible_ssh_private_key_file": "/keys/web",
                    "ansible_password": "never-read",
                },
                "here": {"ansible_connection": "local"},
            }
        },
        "all": {"children": ["ungrouped", "a", "b"]},
        "a": {"hosts": ["web", "plain"], "children": ["b"]},
        "b": {"hosts": ["here", "web"], "children": ["a"]},  # a loop and a repeat
    }
    assert from_ansible_listing(listing) == [
        FleetTarget("web", "ssh://ec2-user@10.1.1.1:2200", "/keys/web"),
        FleetTarget("plain", "ssh://plain"),
        FleetTarget("here", "local"),
    ]


def test_ansible_listing_refuses_other_connections_and_empty() -> None:
    with pytest.raises(UsageError, match="ansible_connection 'docker'"):
        from_ansible_listing(
            {
                "_meta": {"hostvars": {"c": {"ansible_connection": "docker"}}},
                "all": {"hosts": ["c"]},
            }
        )
    with pytest.raises(UsageError, match="lists no host"):
        from_ansible_listing({"all": {"children": ["ungrouped"]}})


@needs_ansible
def test_ansible_ini_through_ansible_inventory(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text(
        "[builders]\n"
        "b1 ansible_host=127.0.0.1 ansible_port=2201 ansible_user=root"
        " ansible_ssh_private_key_file=/keys/b1\n"
        "b2 ansible_host=::1 ansible_port=2202\n"
        "[others]\nloc ansible_connection=local\nb1\n"
    )
    assert read_inventory(str(inv)) == [
        FleetTarget("b1", "ssh://root@127.0.0.1:2201", "/keys/b1"),
        FleetTarget("b2", "ssh://[::1]:2202"),
        FleetTarget("loc", "local"),
    ]


@needs_ansible
def test_ansible_yaml_through_ansible_inventory(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yaml"
    inv.write_text(
        "all:\n"
        "  vars: {ansible_user: admin}\n"
        "  children:\n"
        "    builders:\n"
        "      hosts:\n"
        "        b1: {ansible_host: 10.0.0.1}\n"
        "        b2: {ansible_host: 10.0.0.2, ansible_port: 2222, ansible_user: root}\n"
    )
    assert read_inventory(str(inv)) == [
        FleetTarget("b1", "ssh://admin@10.0.0.1"),
        FleetTarget("b2", "ssh://root@10.0.0.2:2222"),
    ]


@needs_ansible
def test_unreadable_ansible_inventory_is_a_usage_error(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[broken\nnot = = an inventory\n")
    with pytest.raises(UsageError, match="ansible-inventory could not read"):
        read_inventory(str(inv))


def test_names_and_file_stems() -> None:
    assert unique_names(
        [FleetTarget("a", "x"), FleetTarget("a", "y"), FleetTarget("a-2", "z")]
    ) == [
        FleetTarget("a", "x"),
        FleetTarget("a-2", "y"),
        FleetTarget("a-2-2", "z"),
    ]
    assert file_stem("ssh://root@10.0.0.1:22") == "root_10.0.0.1_22"
    assert file_stem("../../etc/passwd") == "_.._etc_passwd"
    assert file_stem("\x1b[31m") == "__31m"
    assert ssh_spec("fe80::1", "root", 22) == "ssh://root@[fe80::1]:22"
