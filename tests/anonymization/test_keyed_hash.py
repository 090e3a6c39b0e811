"""HMAC-SHA256 of a whole column in the engine gives exactly the stdlib's bytes."""

from __future__ import annotations

import hmac
import random
from pathlib import Path

import pandas as pd
import pytest

from anonymization.keyed_hash import COLUMN_FROM, KeyedSha256, column_engine
from anonymization.tokens import Tokenizer

KEY = b"keyed-hash-test-key-0123456789ab"


def _messages(n: int, seed: int) -> list[str]:
    """Short and long (several SHA-256 blocks), empty, non-ASCII, NUL and duplicate texts."""
    rng = random.Random(seed)
    alphabet = "abcdefghij KLMNOP 0123456789 ñéü 名前 \x00-+"
    out = ["", "\x00", "a" * 55, "a" * 56, "a" * 64, "b" * 200]
    while len(out) < n:
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90))))
    return out


def _reference(key: bytes, messages: list[str], prefix: str, chars: int) -> list[str]:
    return [prefix + hmac.digest(key, m.encode("utf-8"), "sha256").hex()[:chars] for m in messages]


@pytest.mark.parametrize("key", [b"k" * 16, KEY, b"x" * 64, b"y" * 65, bytes(range(100))])
def test_the_engine_hashes_a_column_as_hmac_digest_does(key: bytes) -> None:
    """Keys shorter than, equal to and longer than a block (hashed first, RFC 2104)."""
    messages = _messages(COLUMN_FROM + 500, seed=len(key))
    mac = KeyedSha256(key)
    with column_engine() as in_use:
        assert in_use
        hashed = mac._in_engine(messages, "nm_", 20)
        assert hashed is not None  # the engine did it, not the Python fallback
        assert list(hashed) == _reference(key, messages, "nm_", 20)
        whole = mac._in_engine(messages, "", 64)
        assert whole is not None and list(whole) == _reference(key, messages, "", 64)
    assert mac._in_engine(messages, "nm_", 20) is None  # outside the scope: Python


def test_a_short_column_and_one_message_give_the_same_tokens() -> None:
    messages = _messages(COLUMN_FROM * 2, seed=7)
    mac = KeyedSha256(KEY)
    with column_engine(), column_engine():  # nested scopes share one connection
        whole = mac.prefixed_hex(messages, "ph_", 20)
    assert list(whole) == _reference(KEY, messages, "ph_", 20)
    assert list(mac.prefixed_hex(messages[:100], "ph_", 20)) == list(whole[:100])
    assert ["ph_" + mac.hexdigest(m.encode())[:20] for m in messages[:50]] == list(whole[:50])


def test_with_the_warehouse_open_in_this_process_the_column_is_hashed_in_python(
    tmp_path: Path,
) -> None:
    """chDB binds one engine per process to one path: the embedded warehouse's. A scope opened
    while it is open hashes in Python, with the same tokens; once the scope closes, the
    warehouse can be opened again (the scope holds no engine after it)."""
    import clickhouse_connect

    messages = _messages(COLUMN_FROM + 10, seed=3)
    mac = KeyedSha256(KEY)
    client = clickhouse_connect.get_client(interface="chdb", path=str(tmp_path / "warehouse"))
    try:
        client.command("SELECT 1")
        with column_engine() as in_use:
            assert not in_use
            assert mac._in_engine(messages, "nm_", 20) is None
            hashed = mac.prefixed_hex(messages, "nm_", 20)
            assert list(hashed) == _reference(KEY, messages, "nm_", 20)
        assert client.command("SELECT 2") == 2  # the warehouse is unharmed
    finally:
        client.close()
    with column_engine() as in_use:
        assert in_use and mac._in_engine(messages, "nm_", 20) is not None
    again = clickhouse_connect.get_client(interface="chdb", path=str(tmp_path / "warehouse"))
    assert again.command("SELECT 3") == 3
    again.close()


def test_tokenize_series_of_a_large_column_equals_one_token_per_value() -> None:
    """Through the tokenizer: normalisation, repeats and missing values, engine-hashed."""
    rng = random.Random(11)
    names = [f"  Siti   Nur{i}  " if i % 3 else f"SITI NUR{i}" for i in range(COLUMN_FROM * 2)]
    column = pd.Series([rng.choice(names) for _ in range(COLUMN_FROM * 3)] + [None, ""])
    tokenizer = Tokenizer(KEY)
    with column_engine() as in_use:
        assert in_use
        tokens = tokenizer.tokenize_series("person_name", column)
    assert tokens.tolist() == [tokenizer.token("person_name", v) for v in column.tolist()]


def test_the_key_is_not_printed() -> None:
    assert "keyed-hash" not in repr(KeyedSha256(KEY))
