"""Keyed, deterministic pseudonymisation tokens.

Why keyed HMAC tokens
---------------------
Analysts must be able to join a child's records across tables (and find the
same guardian phone inside a free-text case note) without ever seeing the real
value. A deterministic token gives that join; a *keyed* one (HMAC-SHA256 with a
secret held outside the lakehouse) makes sure nobody can recompute it. Indonesian
identifiers have tiny value spaces: a NIK is a region code + birth date + a
4-digit serial, a mobile number is ~10^9-10^10 candidates. An unkeyed hash of
such a value is reversed by brute force in minutes, so an unkeyed hash is NOT
pseudonymisation for this data.

This is also why Presidio's ``hash`` operator is never used: it is either
unkeyed (plain SHA-256/512 of the value, brute-forceable as above) or, in newer
versions, salted with a random per-run salt, which makes tokens differ between
runs and tables and breaks every join. We need "same value -> same token, and
only the key holder can compute it", which is exactly a keyed PRF.

One key per token domain
------------------------
The master key is never used directly: each domain (``person_name``, ``nik``,
``phone`` ...) gets its own key, HMAC-SHA256(master, "merajut-token-domain:" +
domain). The same string in two domains (e.g. a number that is both a phone and
an order reference) therefore yields unrelated tokens, and a domain key can be
handed to a narrowly scoped process without exposing the others.

Normalisation
-------------
Values are normalised per domain *before* hashing so the same real-world value
gets the same token in every table and in free text: "+62 812-3456-7890",
"0812 3456 7890" and "6281234567890" all become "081234567890".

Releases
--------
``retokenize`` re-keys internal tokens with a per-release key, so two external
releases cannot be joined with each other, nor with internal data, by anyone
who does not hold both keys.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from anonymization.keyed_hash import KeyedSha256

__all__ = [
    "DOMAIN_PREFIXES",
    "Tokenizer",
    "normalize",
    "normalize_many",
    "retokenize",
    "retokenize_series",
]

#: Short, human-recognisable token prefixes per domain; other domains use their name.
DOMAIN_PREFIXES: dict[str, str] = {
    "person_name": "nm",
    "nik": "nik",
    "phone": "ph",
    "email": "em",
    "address": "ad",
    "birth_date": "dob",
    "kk_number": "kk",
    # A data subject (a child) as the restricted zone names them: tombstones, restrictions,
    # the vault's per-subject keys. Never written to the lake's public zones.
    "data_subject": "sub",
}

_DOMAIN_LABEL = b"merajut-token-domain:"
_RELEASE_LABEL = b"merajut-release-token:"
_TOKEN_HEX_CHARS = 20  # 80 bits: collision probability ~4e-13 at 10^6 values per domain
_MIN_KEY_BYTES = 16

_WHITESPACE = re.compile(r"\s+")
_NON_DIGIT = re.compile(r"\D+")

_ID_MONTHS = {
    "januari": 1,
    "jan": 1,
    "februari": 2,
    "pebruari": 2,
    "feb": 2,
    "maret": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "mei": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "agustus": 8,
    "agu": 8,
    "agt": 8,
    "agus": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nopember": 11,
    "nov": 11,
    "desember": 12,
    "des": 12,
}
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
_DATE_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_DATE_ID_TEXT = re.compile(r"^(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})$")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like values are not "missing"
        return False


def _norm_text(value: str) -> str:
    """Names/addresses: Unicode-compatible form, single spaces, case-insensitive."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip().casefold()


def _norm_phone(value: str) -> str:
    """Indonesian phones: digits only, international 62 prefix -> national 0."""
    digits = _NON_DIGIT.sub("", unicodedata.normalize("NFKC", value))
    if digits.startswith("62"):
        digits = "0" + digits[2:]
    return digits


def _norm_digits(value: str) -> str:
    return _NON_DIGIT.sub("", unicodedata.normalize("NFKC", value))


def _norm_email(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower()


def _norm_date(value: str) -> str:
    """Dates to ISO yyyy-mm-dd; unparseable strings fall back to the stripped text."""
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip()
    parts: tuple[int, int, int] | None = None
    if m := _DATE_ISO.match(text):
        parts = (int(m[1]), int(m[2]), int(m[3]))
    elif m := _DATE_DMY.match(text):
        parts = (int(m[3]), int(m[2]), int(m[1]))
    elif (m := _DATE_ID_TEXT.match(text)) and m[2].casefold() in _ID_MONTHS:
        parts = (int(m[3]), _ID_MONTHS[m[2].casefold()], int(m[1]))
    if parts is None:
        return text
    try:
        return dt.date(*parts).isoformat()
    except ValueError:
        return text


_NORMALIZERS: dict[str, Callable[[str], str]] = {
    "person_name": _norm_text,
    # Addresses are compared like names so that "JL. MELATI" and "Jl. Melati" in a
    # note get the same token as the table value (deliberate extension of "strip").
    "address": _norm_text,
    "phone": _norm_phone,
    "nik": _norm_digits,
    "kk_number": _norm_digits,
    "email": _norm_email,
    "birth_date": _norm_date,
}


def _normalizer_for(domain: str) -> Callable[[str], str]:
    normaliser = _NORMALIZERS.get(domain)
    if normaliser is None:
        normaliser = _norm_date if domain.endswith("_date") else str.strip
    return normaliser


def normalize(domain: str, value: Any) -> str | None:
    """Return the canonical form of ``value`` for ``domain`` (None if missing/empty).

    Non-string inputs are handled where they occur in practice: dates and
    timestamps (ISO date), integers (e.g. a NIK stored as int64) via ``str``.
    """
    if type(value) is str:  # fast path: the overwhelmingly common case
        text = value
    elif _is_missing(value):
        return None
    elif isinstance(value, dt.datetime | pd.Timestamp):
        text = value.date().isoformat()
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    return _normalizer_for(domain)(text) or None


def _prefix(domain: str) -> str:
    return DOMAIN_PREFIXES.get(domain, domain)


class Tokenizer:
    """Deterministic keyed tokens, one derived key per token domain.

    The master key comes from the caller (a secret store); this class never reads
    configuration or environment variables.
    """

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes | bytearray):
            raise TypeError("master_key must be bytes")
        if len(master_key) < _MIN_KEY_BYTES:
            raise ValueError(f"master_key must be at least {_MIN_KEY_BYTES} bytes")
        self._master_key = bytes(master_key)
        self._macs: dict[str, KeyedSha256] = {}

    def __repr__(self) -> str:  # never print key material
        return "Tokenizer(<key redacted>)"

    def domain_key(self, domain: str) -> bytes:
        """Key for one token domain: HMAC-SHA256(master, label + domain)."""
        if not domain:
            raise ValueError("token domain must be a non-empty string")
        return hmac.digest(self._master_key, _DOMAIN_LABEL + domain.encode(), "sha256")

    def _mac(self, domain: str) -> KeyedSha256:
        mac = self._macs.get(domain)
        if mac is None:
            mac = self._macs[domain] = KeyedSha256(self.domain_key(domain))
        return mac

    @staticmethod
    def normalize(domain: str, value: Any) -> str | None:
        """Same as the module-level :func:`normalize`."""
        return normalize(domain, value)

    def token_of_normalized(self, domain: str, normalized: str) -> str:
        """Token of an already-normalised value (used by the redactor's caches)."""
        digest = self._mac(domain).hexdigest(normalized.encode("utf-8"))
        return f"{_prefix(domain)}_{digest[:_TOKEN_HEX_CHARS]}"

    def token(self, domain: str, value: Any) -> str | None:
        """Token for ``value`` in ``domain``; None for missing/empty values."""
        normalized = normalize(domain, value)
        if normalized is None:
            return None
        return self.token_of_normalized(domain, normalized)

    def tokenize_series(self, domain: str, s: pd.Series) -> pd.Series:
        """Tokenise a column; each distinct value is normalised and hashed once.

        ``pd.factorize`` finds the distinct values in C (the batch's cache of repeated
        values); values already in their canonical form are recognised by one regular
        expression over the whole column (:func:`normalize_many`), and only the rest are
        normalised one by one; values that normalise alike ("0812..." and "+62 812...") are
        hashed once. The keyed hashes of a column are computed at once
        (:meth:`~anonymization.keyed_hash.KeyedSha256.prefixed_hex`: in chDB, inside
        :func:`~anonymization.keyed_hash.column_engine`, from a few thousand distinct values).
        """
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        normalized = normalize_many(domain, np.asarray(uniques, dtype=object))
        message_codes, messages = pd.factorize(normalized, use_na_sentinel=True)
        hashed = np.empty(len(messages) + 1, dtype=object)  # last slot: missing -> None
        hashed[-1] = None
        hashed[:-1] = self._mac(domain).prefixed_hex(
            messages, f"{_prefix(domain)}_", _TOKEN_HEX_CHARS
        )
        tokens = np.empty(len(uniques) + 1, dtype=object)
        tokens[-1] = None
        tokens[:-1] = hashed[message_codes]
        return pd.Series(tokens[codes], index=s.index, name=s.name, dtype=object)


#: Per domain: a pattern that only canonical-looking text matches (ASCII, nothing to strip,
#: one space between words), and what the domain's normaliser then does to it, over a whole
#: Arrow column. For such text the result is provably the normaliser's: NFKC leaves ASCII
#: alone, and ``casefold`` of ASCII is ``lower``.
_CANONICAL_DIGITS = r"^[0-9]+$"
_CANONICAL_WORDS = r"^[!-~]+( [!-~]+)*$"
_CANONICAL_TOKEN = r"^[!-~]+$"
_CANONICAL_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


#: A phone as people write it in ASCII ("+62 812-3456-7890", "(0812) 3456.7890"): digits and
#: separators, at least one digit. ``\D`` of such text is exactly its separators.
_WRITTEN_PHONE = r"^[ +().-]*[0-9][0-9 +().-]*$"


def _phone_fast(text: pa.Array) -> pa.Array:
    digits = pc.replace_substring_regex(text, r"[^0-9]+", "")
    national = pc.binary_join_element_wise("0", pc.utf8_slice_codeunits(digits, 2), "")
    return pc.if_else(pc.starts_with(digits, "62"), national, digits)


_FAST: dict[str, tuple[str, Callable[[pa.Array], pa.Array]]] = {
    "person_name": (_CANONICAL_WORDS, pc.ascii_lower),
    "address": (_CANONICAL_WORDS, pc.ascii_lower),
    "phone": (_WRITTEN_PHONE, _phone_fast),
    "nik": (_CANONICAL_DIGITS, lambda a: a),
    "kk_number": (_CANONICAL_DIGITS, lambda a: a),
    "email": (_CANONICAL_TOKEN, pc.ascii_lower),
    "birth_date": (_CANONICAL_DATE, lambda a: a),
}


def _fast_path(domain: str) -> tuple[str, Callable[[pa.Array], pa.Array]]:
    fast = _FAST.get(domain)
    if fast is not None:
        return fast
    if domain.endswith("_date"):
        return _CANONICAL_DATE, lambda a: a
    return r"^[!-~]([ -~]*[!-~])?$", lambda a: a  # str.strip of printable ASCII: itself


def normalize_many(domain: str, values: np.ndarray) -> np.ndarray:
    """:func:`normalize` of every value (an object array; None where missing), the same
    result, with the common case done over the whole column in Arrow."""
    out = np.empty(len(values), dtype=object)
    if not len(values):
        return out
    try:
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # dates, numbers: one by one
        out[:] = [normalize(domain, v) for v in values.tolist()]
        return out
    pattern, canonical = _fast_path(domain)
    fast = pc.fill_null(pc.match_substring_regex(text, pattern), False).to_numpy(
        zero_copy_only=False
    )
    out[fast] = canonical(text.filter(pa.array(fast))).to_numpy(zero_copy_only=False)
    slow = np.flatnonzero(~fast)
    out[slow] = [normalize(domain, v) for v in values[slow].tolist()]
    return out


def retokenize(token: str, release_key: bytes) -> str:
    """Re-key an internal token for one external release.

    HMAC(release_key, token) keeps the domain prefix (readability) but makes the
    token unlinkable to internal tokens and to other releases' tokens.
    """
    if len(release_key) < _MIN_KEY_BYTES:
        raise ValueError(f"release_key must be at least {_MIN_KEY_BYTES} bytes")
    if not token:
        raise ValueError("token must be a non-empty string")
    prefix = token.rsplit("_", 1)[0] if "_" in token else "t"
    digest = hmac.digest(release_key, _RELEASE_LABEL + token.encode("utf-8"), "sha256").hex()
    return f"{prefix}_{digest[:_TOKEN_HEX_CHARS]}"


def retokenize_series(tokens: pd.Series, release_key: bytes) -> pd.Series:
    """Vectorised :func:`retokenize`; missing tokens stay None."""
    cache: dict[str, str] = {}
    out: list[str | None] = []
    for tok in tokens.tolist():
        if _is_missing(tok) or tok == "":
            out.append(None)
            continue
        new = cache.get(tok)
        if new is None:
            new = cache[tok] = retokenize(tok, release_key)
        out.append(new)
    return pd.Series(out, index=tokens.index, name=tokens.name, dtype=object)
