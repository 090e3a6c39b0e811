"""Secrets: the dev key file (created once, under a lock, 0600) and the placeholder refusal."""

from __future__ import annotations

import json
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lakehouse.secrets import (
    DEV_SECRET_NAMES,
    ConfigError,
    decode_hex_secret,
    dev_secrets,
    is_placeholder,
)


@pytest.mark.parametrize(
    "value",
    ["", "  ", "changeme", "Change-Me", "CHANGETHIS", "secret", "todo", "replace-me",
     "replace-with-64-hex-chars", "<your key>", "None"],
)  # fmt: skip
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)
    with pytest.raises(ConfigError, match="MERAJUT_TOKEN_KEY is a placeholder"):
        decode_hex_secret("token_key", value)


def test_real_keys_decode_and_short_or_odd_ones_do_not() -> None:
    assert not is_placeholder("ab" * 32)
    assert decode_hex_secret("vault_key", " " + "ab" * 32 + "\n") == bytes.fromhex("ab" * 32)
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        decode_hex_secret("vault_key", "ab" * 31)
    with pytest.raises(ConfigError, match="must be hex"):
        decode_hex_secret("vault_key", "g" * 64)


def test_the_dev_file_is_private_complete_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "home" / "keys.json"
    first = dev_secrets(path)
    assert set(first) == set(DEV_SECRET_NAMES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dev_secrets(path) == first
    # An older file lacking a secret gains it and keeps the others.
    data = json.loads(path.read_text())
    del data["api_key_pepper"]
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    again = dev_secrets(path)
    assert {k: again[k] for k in data} == data and "api_key_pepper" in again


def test_concurrent_first_starts_agree_on_one_key_set(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: dev_secrets(path), range(16)))
    assert all(r == results[0] for r in results)
    assert json.loads(path.read_text()) == results[0]


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    dev_secrets(path)
    path.chmod(0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        dev_secrets(path)
