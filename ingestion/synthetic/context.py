"""Shared state of one generation run, passed to every service generator.

Downstream services need what upstream ones made (cases need children, the audit log needs
cases and placements), so the context carries the generated entities as light records. Each
service gets its own random stream, derived from the seed and the service name: adding a new
service (education, health, ...) therefore never changes the data of the existing ones.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from faker import Faker

from ingestion.synthetic.config import GeneratorConfig
from ingestion.synthetic.defects import DefectPlanter
from ingestion.synthetic.nik import NikFactory
from ingestion.synthetic.people import PeopleFactory
from ingestion.synthetic.sink import RowSink
from ingestion.synthetic.stream import Stream

_ONE_DAY = dt.timedelta(days=1)
_MICRO = dt.timedelta(microseconds=1)
_SEVEN = dt.time(7)
_TWELVE_HOURS = dt.timedelta(hours=12)


@dataclass
class KeySpace:
    """Sequential business keys of one table ("CH-0000001"), plus keys that cannot exist.

    Sequential keys let duplicates be picked by number, and let an orphan reference be made
    simply by pointing past the last key ever issued for the parent table.
    """

    prefix: str
    width: int
    issued: int = 0

    def format(self, index: int) -> str:
        return f"{self.prefix}{index:0{self.width}d}"

    def next(self) -> str:
        self.issued = issued = self.issued + 1
        return f"{self.prefix}{issued:0{self.width}d}"

    def missing(self, rng: random.Random) -> str:
        """A well-formed key that no row of the parent table has (for ``orphan_fk``)."""
        return self.format(self.issued + 1000 + rng.randrange(1, 9000))


@dataclass(slots=True)
class InstitutionRecord:
    institution_id: str
    name: str
    institution_type: str
    province_code: str
    regency_code: str
    capacity: int
    created_at: dt.datetime


@dataclass(slots=True)
class GuardianRecord:
    guardian_id: str
    child_id: str
    full_name: str
    sex: str
    relationship: str
    phone: str  # national digits; the stored column may use another format
    stored_phone: str
    nik: str

    @property
    def first_name(self) -> str:
        return self.full_name.split(" ", 1)[0]


@dataclass(slots=True)
class CaseRecord:
    case_id: str
    child_id: str
    caseworker_id: str
    opened_at: dt.date
    status: str


@dataclass(slots=True)
class ChildRecord:
    """A legitimate (defect-free) child; only these are ever parents of other rows."""

    index: int
    child_id: str
    full_name: str
    sex: str
    nik: str
    birth_date: dt.date
    birth_regency: str
    address: str
    province_code: str
    regency_code: str
    institution_id: str
    institution_index: int
    admission_date: dt.date
    exit_date: dt.date | None
    guardians: list[GuardianRecord] = field(default_factory=list)
    cases: list[CaseRecord] = field(default_factory=list)
    placement_ids: list[str] = field(default_factory=list)
    consent_ids: list[str] = field(default_factory=list)

    @property
    def first_name(self) -> str:
        return self.full_name.split(" ", 1)[0]

    def age_on(self, day: dt.date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass
class GenerationContext:
    config: GeneratorConfig
    faker: Faker
    rng: random.Random
    people: PeopleFactory
    niks: NikFactory
    defects: DefectPlanter
    keys: dict[str, KeySpace] = field(default_factory=dict)
    institutions: list[InstitutionRecord] = field(default_factory=list)
    children: list[ChildRecord] = field(default_factory=list)
    caseworkers: list[str] = field(default_factory=list)
    #: Extension point: state a new service wants to hand to later ones (e.g. schools).
    shared: dict[str, Any] = field(default_factory=dict)
    _out: RowSink | None = field(default=None, init=False, repr=False)
    _horizon: dt.datetime = field(init=False, repr=False)

    @classmethod
    def create(cls, config: GeneratorConfig) -> GenerationContext:
        faker = Faker("id_ID")
        faker.seed_instance(config.seed)
        return cls(
            config=config,
            faker=faker,
            rng=Stream(config.seed),
            people=PeopleFactory(faker),
            niks=NikFactory(),
            defects=DefectPlanter(config.defect_rate),
        )

    # -- per-service state -------------------------------------------------------------------

    def begin_service(self, name: str, out: RowSink | None) -> None:
        """Give the next service its own seeded streams and its output sink."""
        self.rng = Stream(f"{self.config.seed}:{name}")
        self.faker.seed_instance(f"{self.config.seed}:{name}")
        self._out = out

    @property
    def out(self) -> RowSink:
        if self._out is None:
            raise RuntimeError("no output sink: the service is not being generated right now")
        return self._out

    def key_space(self, table: str, prefix: str, width: int) -> KeySpace:
        space = self.keys.get(table)
        if space is None:
            space = self.keys[table] = KeySpace(prefix, width)
        return space

    # -- time --------------------------------------------------------------------------------

    @property
    def last_day(self) -> dt.date:
        """The latest legitimate date: the day before ``as_of``."""
        return self.config.as_of - _ONE_DAY

    @property
    def horizon(self) -> dt.datetime:
        """The latest legitimate timestamp: just before ``as_of`` midnight."""
        return self._horizon

    def __post_init__(self) -> None:
        self._horizon = dt.datetime.combine(self.config.as_of, dt.time()) - _MICRO

    # The samplers below run tens of millions of times at scale: one ``random()`` each, and
    # ``unit * n`` rather than ``timedelta(days=n)``, which parses keywords (three times slower).

    def date_between(self, lo: dt.date, hi: dt.date) -> dt.date:
        """Uniform date in [lo, hi]; an empty range collapses to ``lo``."""
        span = (hi - lo).days
        if span <= 0:
            return lo
        return lo + _ONE_DAY * int(self.rng.random() * (span + 1))

    def moment_between(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        """Uniform microsecond timestamp in [lo, hi]; capped at the horizon."""
        horizon = self._horizon
        if hi > horizon:
            hi = horizon
        if hi <= lo:
            return lo if lo < horizon else horizon
        span = (hi - lo) // _MICRO
        return lo + _MICRO * int(self.rng.random() * (span + 1))

    def moment_on(self, day: dt.date) -> dt.datetime:
        """A working-hours timestamp on ``day`` (07:00-19:00), capped at the horizon."""
        start = dt.datetime.combine(day, _SEVEN)
        return self.moment_between(start, start + _TWELVE_HOURS)

    def touched_after(self, moment: dt.datetime, within_days: int = 120) -> dt.datetime:
        """When a row created/changed at ``moment`` was last updated (the watermark)."""
        return self.moment_between(moment, moment + _ONE_DAY * within_days)

    def future_date(self) -> dt.date:
        """A date after ``as_of`` (for ``future_date`` defects): 30-400 days ahead."""
        return self.config.as_of + dt.timedelta(days=self.rng.randint(30, 400))
