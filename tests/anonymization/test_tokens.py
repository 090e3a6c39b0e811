"""Keyed tokens: determinism across formats, key/domain separation, no leakage."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time

import numpy as np
import pandas as pd
import pytest

from anonymization.tokens import (
    Tokenizer,
    normalize,
    normalize_many,
    retokenize,
    retokenize_series,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@pytest.fixture()
def tok() -> Tokenizer:
    return Tokenizer(KEY)


def test_phone_formats_share_one_token(tok: Tokenizer) -> None:
    formats = ["+62 812-3456-7890", "0812 3456 7890", "6281234567890", "0812.3456.7890"]
    tokens = {tok.token("phone", f) for f in formats}
    assert len(tokens) == 1
    assert normalize("phone", formats[0]) == "081234567890"
    assert tok.token("phone", "081234567891") not in tokens


def test_token_matches_the_specified_construction(tok: Tokenizer) -> None:
    """Independent recomputation with stdlib hmac: the tables of other teams rely on it."""
    domain_key = hmac.new(KEY, b"merajut-token-domain:phone", hashlib.sha256).digest()
    expected = hmac.new(domain_key, b"081234567890", hashlib.sha256).hexdigest()[:20]
    assert tok.token("phone", "+62 812 3456 7890") == f"ph_{expected}"


def test_names_are_normalised(tok: Tokenizer) -> None:
    base = tok.token("person_name", "Budi Santoso")
    assert tok.token("person_name", "  budi   SANTOSO\n") == base
    assert tok.token("person_name", "Ｂｕｄｉ Santoso") == base  # full-width (NFKC)
    assert tok.token("person_name", "Budi Santosa") != base


def test_other_domain_normalisations(tok: Tokenizer) -> None:
    assert tok.token("nik", "3201 0112 0315 0001") == tok.token("nik", 3201011203150001)
    assert tok.token("kk_number", "32.01.01.120315.0099") == tok.token(
        "kk_number", "3201011203150099"
    )
    assert tok.token("email", " Siti.Aminah@Gmail.COM ") == tok.token(
        "email", "siti.aminah@gmail.com"
    )
    dob = {
        tok.token("birth_date", v)
        for v in [
            "2015-01-12",
            "12/01/2015",
            "12 Januari 2015",
            dt.date(2015, 1, 12),
            pd.Timestamp("2015-01-12 08:30"),
        ]
    }
    assert len(dob) == 1
    assert tok.token("institution", " LKSA Harapan ") == tok.token("institution", "LKSA Harapan")


def test_prefixes_and_format(tok: Tokenizer) -> None:
    cases = {
        "person_name": "nm",
        "nik": "nik",
        "phone": "ph",
        "email": "em",
        "address": "ad",
        "birth_date": "dob",
        "kk_number": "kk",
        "school": "school",
    }
    for domain, prefix in cases.items():
        value = "3201011203150001" if domain in {"nik", "kk_number"} else "0812345678"
        token = tok.token(domain, value)
        assert token is not None
        assert re.fullmatch(rf"{prefix}_[0-9a-f]{{20}}", token), token


def test_domain_and_key_separation(tok: Tokenizer) -> None:
    value = "3201011203150001"
    nik = tok.token("nik", value)
    kk = tok.token("kk_number", value)
    assert nik is not None and kk is not None
    assert nik.split("_")[1] != kk.split("_")[1]
    assert Tokenizer(OTHER_KEY).token("nik", value) != nik


def test_missing_values_give_none(tok: Tokenizer) -> None:
    for value in [None, "", "   ", np.nan, pd.NA, pd.NaT]:
        assert tok.token("person_name", value) is None
    assert tok.token("phone", "n/a") is None  # no digits at all


def test_tokens_never_contain_the_input(tok: Tokenizer) -> None:
    rng = np.random.default_rng(3)
    for _ in range(500):
        phone = "08" + "".join(map(str, rng.integers(0, 10, 10)))
        token = tok.token("phone", phone)
        assert token is not None
        assert phone[2:8] not in token and phone not in token
    name_token = tok.token("person_name", "Siti Aminah")
    assert name_token is not None and "siti" not in name_token.lower()


def test_tokenize_series_matches_token_and_keeps_index(tok: Tokenizer) -> None:
    s = pd.Series(
        ["0812 3456 7890", None, "+6281234567890", np.nan, "0813-1111-2222"],
        index=[10, 11, 12, 13, 14],
        name="phone",
    )
    out = tok.tokenize_series("phone", s)
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert out.name == "phone"
    assert out[11] is None and out[13] is None
    assert out[10] == out[12] == tok.token("phone", "081234567890")
    assert out[14] == tok.token("phone", "081311112222")


def test_tokenize_series_is_fast(tok: Tokenizer) -> None:
    s = pd.Series([f"08{i:010d}" for i in range(200_000)])
    start = time.perf_counter()
    out = tok.tokenize_series("phone", s)
    elapsed = time.perf_counter() - start
    assert out.nunique() == 200_000
    assert elapsed < 5.0, f"200k distinct values took {elapsed:.2f}s"


def test_retokenize_is_release_specific(tok: Tokenizer) -> None:
    internal = tok.token("nik", "3201011203150001")
    assert internal is not None
    release_a, release_b = b"a" * 32, b"b" * 32
    a1 = retokenize(internal, release_a)
    assert a1 == retokenize(internal, release_a)
    assert a1 != retokenize(internal, release_b)
    assert a1 != internal and a1.startswith("nik_")
    other = tok.token("institution_name", "LKSA")
    assert other is not None and retokenize(other, release_a).startswith("institution_name_")
    series = retokenize_series(pd.Series([internal, None, internal]), release_a)
    assert series.tolist() == [a1, None, a1]


def test_keys_are_checked_and_never_printed() -> None:
    with pytest.raises(ValueError):
        Tokenizer(b"short")
    with pytest.raises(ValueError):
        retokenize("nm_0123", b"short")
    assert KEY.hex() not in repr(Tokenizer(KEY))


#: Text that is canonical already, and text that only looks it: Unicode digits and spaces,
#: padding, doubled and odd whitespace, upper case, a German sharp s (casefold is not lower),
#: "62" prefixes, impossible dates, empty strings.
_AWKWARD = [
    "Siti Aminah", "SITI  AMINAH", " siti aminah ", "Siti\tAminah", "Stra\u00dfe 1", "Jl. Melati 5",
    "JL. MELATI 5", "\u0663\u0662\u0667\u0663", "3273014506150003", "3273 0145 0615 0003",
    "6281234567890", "081234567890", "+62 812-3456-7890", "62", "6", "0812\u00a03456",
    "a@b.co.id", "A@B.CO.ID", " a@b.co.id", "2015-06-05", "2015-6-5", "05/06/2015",
    "5 Juni 2015", "2015-02-30", "0000-01-01", "", " ", "x", "\x1fx", "REG-1 ", "REG-1",
    "\uff33iti", None, "(0812) 3456.7890", "+62 (0)812 3456", "+-", "( )", "+62", "62-", "-62 1",
    "0822-020-3540", "0859 2130 9401", "+6 2 81", "0812\u20133456",
]  # fmt: skip


@pytest.mark.parametrize(
    "domain",
    ["person_name", "address", "phone", "nik", "kk_number", "email", "birth_date",
     "admission_date", "registry_reference"],
)  # fmt: skip
def test_normalize_many_is_normalize(domain: str) -> None:
    values = np.array(_AWKWARD, dtype=object)
    assert normalize_many(domain, values).tolist() == [normalize(domain, v) for v in _AWKWARD]
    mixed = np.array([*_AWKWARD, 3273014506150003, dt.date(2015, 6, 5)], dtype=object)
    assert normalize_many(domain, mixed).tolist() == [normalize(domain, v) for v in mixed]


def test_tokenize_series_matches_token_for_awkward_values(tok: Tokenizer) -> None:
    for domain in ("person_name", "phone", "email", "birth_date", "nik"):
        series = pd.Series(_AWKWARD * 2, dtype=object)
        expected = [tok.token(domain, v) for v in series]
        assert tok.tokenize_series(domain, series).tolist() == expected, domain
