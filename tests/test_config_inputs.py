"""The operator's inputs in the config file: written atomically, the rest of the file kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wizard.config import Config, config_file, load_config, save_values
from wizard.errors import UsageError


def test_values_are_written_read_back_and_the_rest_is_kept() -> None:
    path = config_file()
    path.parent.mkdir(parents=True)
    path.write_text("recent: [demo]\nidentity:\n  publisher: Old\n")
    save_values(
        {
            "identity.publisher": "Example Ltd",
            "identity.description": "Debian 12 base",
            "launch_key.user": "admin",
        }
    )
    config = load_config()
    assert config.identity == {"publisher": "Example Ltd", "description": "Debian 12 base"}
    assert config.launch_key_user == "admin" and config.recent == ("demo",)
    assert config.value("identity.description") == "Debian 12 base"
    assert os.stat(path).st_mode & 0o777 == 0o600
    save_values({"identity.publisher": "", "identity.description": "", "launch_key.user": ""})
    assert "identity" not in path.read_text() and "launch_key" not in path.read_text()
    assert not list(path.parent.glob(".*.tmp"))  # the atomic write left no temp file


def test_a_broken_config_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("identity: [not, a, mapping\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        save_values({"identity.publisher": "X"}, path)
    assert path.read_text() == "identity: [not, a, mapping\n"


def test_only_the_wizards_own_keys_are_written(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a setting"):
        save_values({"probe.timeout": "1"}, tmp_path / "c.yaml")
    assert not (tmp_path / "c.yaml").exists()
    with pytest.raises(UsageError, match="not a setting"):
        Config().with_values({"aws.profile": "x"})


def test_with_values_sets_and_removes() -> None:
    config = Config(identity={"publisher": "A"}).with_values(
        {"identity.publisher": "", "identity.contact": "a@b.org", "launch_key.user": "bob"}
    )
    assert config.identity == {"contact": "a@b.org"} and config.launch_key_user == "bob"
