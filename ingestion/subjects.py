"""Which rows belong to which data subject, and what becomes of them when the subject is
erased or restricted.

A data subject is a child of the child registry. A row is theirs when it names them (its
``child_id``), when it hangs off a row that names them (a case note -> its case -> the child),
or, for tables that carry no platform id at all (the government registry's verifications), when
it holds an identifier token that only this subject has (their NIK, or their guardians').

The rules are derived from the source contracts (``references`` and ``nik`` in the dbt source
YAML), so a table added later is covered the day it is declared, and :func:`subject_links`
refuses a contract whose rows could name a child but whose link it cannot work out.

Fates: ``erased`` rows are never written anywhere (ingestion skips them, the run after an
erasure removes them from every file); ``restricted`` rows are pseudonymized as usual but kept
in the restricted zone (``restricted/subjects/held``) instead of bronze, out of every output,
until the restriction is lifted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from anonymization.tokens import Tokenizer
from ingestion.contracts import TableContract
from ingestion.lake import bronze_and_held_files
from lakehouse.layout import LakeLayout
from lakehouse.subject_register import SubjectEntry, SubjectRegister

__all__ = [
    "SUBJECT_COLUMN",
    "SUBJECT_DOMAIN",
    "SUBJECT_TABLE",
    "Fate",
    "SubjectLink",
    "SubjectRules",
    "rules_from_register",
    "subject_links",
]

SUBJECT_TABLE = "child_registry.children"
SUBJECT_COLUMN = "child_id"
#: Token domain of a subject's keyed reference (lakehouse.subject_register names them by it).
SUBJECT_DOMAIN = "data_subject"
#: Identifier domains that name one person (a NIK is unique; a name or a birth date is not).
UNIQUE_IDENTIFIER_DOMAINS = ("nik",)

Fate = Literal["keep", "erased", "restricted"]


@dataclass(frozen=True)
class SubjectLink:
    """How the rows of one table lead to their subject."""

    table: str
    #: The column of this table that leads to the subject: the child id itself, a key of the
    #: ``via`` table, or an identifier column (``identifier``).
    column: str
    via: str | None = None
    via_key: str | None = None
    identifier: bool = False


def subject_links(contracts: Mapping[str, TableContract]) -> dict[str, SubjectLink]:
    """The link of every table whose rows can belong to a subject (others have none)."""
    links: dict[str, SubjectLink] = {}
    direct: set[str] = set()
    for name, contract in contracts.items():
        if name == SUBJECT_TABLE or any(c.name == SUBJECT_COLUMN for c in contract.columns):
            links[name] = SubjectLink(name, SUBJECT_COLUMN)
            direct.add(name)
    for name, contract in contracts.items():
        if name in links:
            continue
        for col in contract.columns:
            if col.references is None:
                continue
            parent = f"{col.references[0]}.{col.references[1]}"
            if parent in direct:
                links[name] = SubjectLink(name, col.name, via=parent, via_key=col.references[2])
                break
        else:
            unique = [
                c
                for c in contract.tokenized_columns
                if c.token_domain in UNIQUE_IDENTIFIER_DOMAINS and c.derived_from is None
            ]
            if unique:
                links[name] = SubjectLink(name, unique[0].name, identifier=True)
    return links


def _refs(tokenizer: Tokenizer, ids: pd.Series) -> pd.Series:
    text = ids.map(lambda v: None if v is None or pd.isna(v) else str(v))
    return tokenizer.tokenize_series(SUBJECT_DOMAIN, text)


@dataclass(frozen=True)
class SubjectRules:
    """The register's state as one run applies it: who is erased, who is restricted."""

    tokenizer: Tokenizer
    erased: frozenset[str] = frozenset()
    restricted: frozenset[str] = frozenset()
    #: Unique identifier tokens (NIKs) only an erased / restricted subject holds.
    erased_identifiers: frozenset[str] = frozenset()
    restricted_identifiers: frozenset[str] = frozenset()
    links: Mapping[str, SubjectLink] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        tokenizer: Tokenizer,
        links: Mapping[str, SubjectLink],
        entries: Iterable[SubjectEntry],
        *,
        erased: Collection[str],
        restricted: Collection[str],
    ) -> SubjectRules:
        """The rules of register entries: those of the ``erased`` statuses are erased, those
        of the ``restricted`` statuses held (their references and unique identifiers)."""
        entries = list(entries)

        def refs(statuses: Collection[str]) -> frozenset[str]:
            return frozenset(e.subject_ref for e in entries if e.status in statuses)

        def identifiers(statuses: Collection[str]) -> frozenset[str]:
            return frozenset(
                t for e in entries if e.status in statuses for t in e.identifier_tokens
            )

        return cls(
            tokenizer, refs(erased), refs(restricted), identifiers(erased),
            identifiers(restricted), links,
        )  # fmt: skip

    @property
    def active(self) -> bool:
        return bool(
            self.erased or self.restricted or self.erased_identifiers or self.restricted_identifiers
        )

    def ref(self, subject_id: str) -> str:
        token = self.tokenizer.token(SUBJECT_DOMAIN, subject_id)
        if token is None:
            raise ValueError("a subject id must be non-empty")
        return token

    def refs(self, ids: pd.Series) -> pd.Series:
        return _refs(self.tokenizer, ids)

    @staticmethod
    def _fates_of(
        values: pd.Series, restricted: frozenset[str], erased: frozenset[str]
    ) -> pd.Series:
        fates = np.full(len(values), "keep", dtype=object)
        array = values.to_numpy(dtype=object)
        fates[np.isin(array, list(restricted))] = "restricted"
        fates[np.isin(array, list(erased))] = "erased"
        return pd.Series(fates, index=values.index, dtype=object)

    def _fates_of_refs(self, refs: pd.Series) -> pd.Series:
        return self._fates_of(refs, self.restricted, self.erased)

    def _fates_of_identifiers(self, tokens: pd.Series) -> pd.Series:
        return self._fates_of(tokens, self.restricted_identifiers, self.erased_identifiers)

    def fates(
        self,
        table: str,
        frame: pd.DataFrame,
        *,
        tokenized: bool,
        parent_subjects: Callable[[str, str, list[str]], Mapping[str, str]] | None = None,
    ) -> pd.Series:
        """The fate of every row of ``frame`` (a batch of ``table``).

        ``tokenized``: whether identifier columns already hold tokens (bronze) or clear values
        (a batch being ingested). ``parent_subjects(via_table, via_key, keys)`` maps keys of a
        parent table to child ids (from the source, or from bronze)."""
        link = self.links.get(table)
        keep = pd.Series("keep", index=frame.index, dtype=object)
        if link is None or not self.active or frame.empty or link.column not in frame.columns:
            return keep
        if link.identifier:
            values = frame[link.column]
            if not tokenized:
                values = self.tokenizer.tokenize_series(
                    UNIQUE_IDENTIFIER_DOMAINS[0], values.map(_text)
                )
            return self._fates_of_identifiers(values)
        if link.via is None:
            return self._fates_of_refs(self.refs(frame[link.column]))
        assert parent_subjects is not None and link.via_key is not None
        keys = sorted({str(v) for v in frame[link.column].dropna()})
        child_of = parent_subjects(link.via, link.via_key, keys)
        children = frame[link.column].map(lambda v: None if v is None else child_of.get(str(v)))
        return self._fates_of_refs(self.refs(children))


def rules_from_register(
    register: SubjectRegister,
    tokenizer: Tokenizer,
    contracts: Mapping[str, TableContract],
) -> SubjectRules:
    """What ingestion applies: every erased subject is skipped; every restricted one (and one
    whose lifting is still to be carried out) is held."""
    return SubjectRules.of(
        tokenizer,
        subject_links(contracts),
        register.entries(),
        erased=("erased",),
        restricted=("restricted", "lifted"),
    )


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


# -- subjects of rows already in the lake ---------------------------------------------------------


def lake_parent_subjects(
    layout: LakeLayout, contracts: Mapping[str, TableContract], links: Mapping[str, SubjectLink]
) -> Callable[[str, str, list[str]], Mapping[str, str]]:
    """``parent_subjects`` for rows already in the lake: parents' keys -> child ids, read from
    the parent table's bronze and held files. Every parent is read at once, before a caller
    rewrites any file (a note finds its child through its case, whose row may be going)."""
    cache: dict[tuple[str, str], dict[str, str]] = {}
    for link in links.values():
        if link.via is None or link.via_key is None or (link.via, link.via_key) in cache:
            continue
        mapping: dict[str, str] = {}
        for path in bronze_and_held_files(layout, contracts[link.via]):
            frame = pd.read_parquet(path, columns=[link.via_key, SUBJECT_COLUMN]).dropna()
            mapping.update(
                zip(frame[link.via_key].astype(str), frame[SUBJECT_COLUMN].astype(str), strict=True)
            )
        cache[(link.via, link.via_key)] = mapping

    def lookup(table: str, key: str, keys: list[str]) -> Mapping[str, str]:
        found = cache.get((table, key), {})
        return {k: found[k] for k in keys if k in found}

    return lookup


def quarantine_records(frame: pd.DataFrame) -> pd.DataFrame:
    """The quarantined records of a quarantine file as a frame of their own columns (values as
    text; a file-level row of a rejected drop has no record columns)."""
    records = [json.loads(r) if isinstance(r, str) else {} for r in frame["record_json"]]
    return (
        pd.DataFrame.from_records(records, index=frame.index)
        if records
        else pd.DataFrame(index=frame.index)
    )
