"""Child registry: children in care and their guardians.

The children made here are the spine of every other service, so only legitimate children are
recorded in the context; defective children are extra rows nobody else references.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import sqlalchemy as sa

from ingestion.synthetic.context import (
    ChildRecord,
    GenerationContext,
    GuardianRecord,
    InstitutionRecord,
    KeySpace,
)
from ingestion.synthetic.defects import (
    break_nik,
    move_to_future,
    plant_duplicates,
    plant_extra_rows,
    point_to_missing,
    set_null,
    set_value,
)
from ingestion.synthetic.people import format_phone
from ingestion.synthetic.registry import ServiceGenerator
from ingestion.synthetic.services._common import CODE, ID, LONG, NAME, Weighted, col, source_table
from lakehouse.reference.regions import (
    PROVINCES,
    all_regencies,
    province_by_code,
    regency_by_code,
)

SEXES = ("M", "F")
DISABILITIES = ("none", "physical", "intellectual", "sensory", "mental", "multiple")
RELATIONSHIPS = ("mother", "father", "grandparent", "aunt_uncle", "sibling", "legal_guardian")

# Children in LKSA are mostly school-age; infants are rare.
_AGES = Weighted(list(range(18)), [2, 2, 3, 4, 4, 5, 6, 7, 7, 8, 8, 8, 8, 8, 7, 7, 6, 5])
_DISABILITY = Weighted(list(DISABILITIES), [88, 3, 3, 2, 2, 2])
_DISABILITY_LKSA_D = Weighted(list(DISABILITIES), [15, 25, 25, 15, 8, 12])
_FIRST_GUARDIAN = Weighted(list(RELATIONSHIPS), [40, 20, 20, 12, 3, 5])
_AFTER_MOTHER = Weighted(["father", "grandparent", "aunt_uncle"], [70, 15, 15])
_AFTER_FATHER = Weighted(["mother", "grandparent", "aunt_uncle"], [75, 15, 10])
_REGENCY = Weighted(
    list(all_regencies()),
    [province_by_code()[r.province_code].weight / len(province_by_code()[r.province_code].regencies)
     for r in all_regencies()],
)  # fmt: skip
_PROVINCE = Weighted(list(PROVINCES), [p.weight for p in PROVINCES])


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class ChildRegistryService(ServiceGenerator):
    name: ClassVar[str] = "child_registry"
    requires: ClassVar[tuple[str, ...]] = ("institutions",)

    def tables(self, metadata: sa.MetaData) -> list[sa.Table]:
        return [
            source_table(
                metadata,
                "children",
                "child_id",
                col("child_id", ID),
                col("full_name", NAME),
                col("nik", ID),
                col("birth_date", sa.Date()),
                col("sex", CODE),
                col("birthplace", NAME),
                col("address", LONG),
                col("province_code", CODE),
                col("regency_code", CODE),
                col("disability", CODE),
                col("institution_id", ID),
                col("admission_date", sa.Date()),
                col("exit_date", sa.Date()),
                col("created_at", sa.DateTime()),
                indexed=("institution_id",),
            ),
            source_table(
                metadata,
                "guardians",
                "guardian_id",
                col("guardian_id", ID),
                col("child_id", ID),
                col("full_name", NAME),
                col("relationship", CODE),
                col("phone", CODE),
                col("nik", ID),
                col("created_at", sa.DateTime()),
                indexed=("child_id",),
            ),
        ]

    def generate(self, ctx: GenerationContext) -> None:
        institutions = ctx.institutions
        if not institutions:
            raise RuntimeError("child_registry needs institutions")
        child_keys = ctx.key_space("children", "CH-", 7)
        guardian_keys = ctx.key_space("guardians", "GU-", 7)
        # Bigger institutions house more children.
        homes = Weighted(list(range(len(institutions))), [i.capacity for i in institutions])

        def new_child(key: str) -> tuple[ChildRecord, dict[str, Any]]:
            index = homes.pick(ctx.rng)
            return self._child(ctx, key, institutions[index], index)

        n = ctx.config.children
        for _ in range(n):
            child, row = new_child(child_keys.next())
            ctx.out.add("children", row)
            ctx.children.append(child)
            for guardian, grow in self._guardians(ctx, child, guardian_keys, row["created_at"]):
                child.guardians.append(guardian)
                ctx.out.add("guardians", grow)
        legit_guardians = guardian_keys.issued

        as_of = ctx.config.as_of
        plant_extra_rows(
            ctx,
            "children",
            child_keys,
            n,
            lambda key: new_child(key)[1],
            {
                "invalid_nik": [break_nik("nik")],
                "malformed_value": [
                    set_value("sex", "X", "laki", "L", "P", "perempuan"),
                    set_value("disability", "cacat", "tuna_rungu", "yes"),
                    set_value("regency_code", "32.73", "Kota Bandung", "327"),
                ],
                "future_date": [move_to_future("admission_date", as_of, then={"exit_date": None})],
                "orphan_fk": [point_to_missing("institution_id", ctx.keys["institutions"])],
                "missing_required": [
                    set_null(c)
                    for c in (
                        "full_name",
                        "nik",
                        "birth_date",
                        "sex",
                        "institution_id",
                        "disability",
                    )
                ],
            },
        )
        plant_duplicates(ctx, "children", "child_id", child_keys, n)

        def extra_guardian(key: str) -> dict[str, Any]:
            child = ctx.rng.choice(ctx.children)
            relationship = ctx.rng.choice(("aunt_uncle", "legal_guardian", "grandparent"))
            return self._guardian(ctx, child, key, relationship, ctx.moment_on(ctx.last_day))[1]

        plant_extra_rows(
            ctx,
            "guardians",
            guardian_keys,
            legit_guardians,
            extra_guardian,
            {
                "invalid_nik": [break_nik("nik")],
                "malformed_value": [
                    set_value("relationship", "tetangga", "ibu", "orang_tua", "OTHER")
                ],
                "orphan_fk": [point_to_missing("child_id", child_keys)],
                "missing_required": [set_null("full_name"), set_null("child_id")],
            },
        )

    def handoff(self, ctx: GenerationContext) -> Any:
        """The children with their guardians, and the NIKs and phones now taken."""
        return ctx.children, ctx.niks.issued, ctx.people.issued_phones

    def receive(self, ctx: GenerationContext, handoff: Any) -> None:
        children, niks, phones = handoff
        ctx.children.extend(children)
        ctx.niks.issued.update(niks)
        ctx.people.issued_phones.update(phones)

    # -- children ----------------------------------------------------------------------------

    @staticmethod
    def _child(
        ctx: GenerationContext, key: str, home: InstitutionRecord, home_index: int
    ) -> tuple[ChildRecord, dict[str, Any]]:
        rng = ctx.rng
        as_of = ctx.config.as_of
        sex = "M" if rng.random() < 0.52 else "F"
        age = _AGES.pick(rng)
        # Born after the (age+1)-th birthday cut-off and on/before the age-th one: age at as_of.
        birth_date = ctx.date_between(
            years_before(as_of, age + 1) + dt.timedelta(days=1),
            min(years_before(as_of, age), ctx.last_day),
        )
        person = ctx.people.person(rng, sex)

        roll = rng.random()
        if roll < 0.88:
            regency = regency_by_code()[home.regency_code]
        elif roll < 0.97:
            regency = rng.choice(province_by_code()[home.province_code].regencies)
        else:
            regency = rng.choice(_PROVINCE.pick(rng).regencies)
        birth_regency = regency if rng.random() < 0.7 else _REGENCY.pick(rng)

        earliest = max(birth_date, home.created_at.date(), years_before(as_of, 10))
        admission = ctx.date_between(earliest, ctx.last_day)
        exit_date = None
        if rng.random() < 0.3 and admission + dt.timedelta(days=30) <= ctx.last_day:
            exit_date = ctx.date_between(admission + dt.timedelta(days=30), ctx.last_day)
        created_at = ctx.moment_on(admission)
        last_event = ctx.moment_on(exit_date) if exit_date else created_at
        disability = (
            _DISABILITY_LKSA_D if home.institution_type == "lksa_disabilitas" else _DISABILITY
        ).pick(rng)
        nik = ctx.niks.issue(rng, birth_regency.code, birth_date, sex == "F")
        address = ctx.people.address(rng)
        record = ChildRecord(
            index=int(key[3:]),
            child_id=key,
            full_name=person.full_name,
            sex=sex,
            nik=nik,
            birth_date=birth_date,
            birth_regency=birth_regency.code,
            address=address,
            province_code=regency.province_code,
            regency_code=regency.code,
            institution_id=home.institution_id,
            institution_index=home_index,
            admission_date=admission,
            exit_date=exit_date,
        )
        row = {
            "child_id": key,
            "full_name": person.full_name,
            "nik": nik,
            "birth_date": birth_date,
            "sex": sex,
            "birthplace": birth_regency.place_name,
            "address": address,
            "province_code": regency.province_code,
            "regency_code": regency.code,
            "disability": disability,
            "institution_id": home.institution_id,
            "admission_date": admission,
            "exit_date": exit_date,
            "created_at": created_at,
            "updated_at": ctx.touched_after(last_event, within_days=730),
        }
        return record, row

    # -- guardians ---------------------------------------------------------------------------

    def _guardians(
        self, ctx: GenerationContext, child: ChildRecord, keys: KeySpace, created_at: dt.datetime
    ) -> list[tuple[GuardianRecord, dict[str, Any]]]:
        rng = ctx.rng
        first = _FIRST_GUARDIAN.pick(rng)
        relationships = [first]
        if rng.random() < 0.55:
            if first == "mother":
                second = _AFTER_MOTHER.pick(rng)
            elif first == "father":
                second = _AFTER_FATHER.pick(rng)
            else:
                second = rng.choice(("grandparent", "aunt_uncle", "sibling", "legal_guardian"))
            relationships.append(second)
        return [
            self._guardian(ctx, child, keys.next(), rel, created_at + dt.timedelta(minutes=5 * i))
            for i, rel in enumerate(relationships)
        ]

    @staticmethod
    def _guardian(
        ctx: GenerationContext,
        child: ChildRecord,
        key: str,
        relationship: str,
        created_at: dt.datetime,
    ) -> tuple[GuardianRecord, dict[str, Any]]:
        rng = ctx.rng
        if relationship == "mother":
            sex = "F"
        elif relationship == "father":
            sex = "M"
        else:
            sex = rng.choice(SEXES)
        family = None
        if relationship == "father" and rng.random() < 0.4:
            family = child.full_name.rsplit(" ", 1)[-1]
        person = ctx.people.person(rng, sex, family_name=family)

        cy = child.birth_date.year
        if relationship in ("mother", "father"):
            lo, hi = max(1960, cy - 45), min(2000, cy - 17)
        elif relationship == "grandparent":
            lo, hi = 1960, min(1978, cy - 36)
        elif relationship == "sibling":
            lo, hi = max(1960, cy - 20), 2000
        else:
            lo, hi = 1960, min(2000, cy - 12)
        # Guardians are adults born 1960-2000 whatever the child's age (an older sibling of a
        # toddler is then simply much older).
        lo = max(1960, min(lo, hi))
        year = rng.randint(lo, max(lo, hi))
        birth_date = ctx.date_between(dt.date(year, 1, 1), dt.date(year, 12, 31))
        region = child.regency_code if rng.random() < 0.8 else _REGENCY.pick(rng).code
        nik = ctx.niks.issue(rng, region, birth_date, sex == "F")
        national = ctx.people.phone(rng)
        stored = format_phone(national, ctx.people.stored_phone_style(rng))
        record = GuardianRecord(
            guardian_id=key,
            child_id=child.child_id,
            full_name=person.full_name,
            sex=sex,
            relationship=relationship,
            phone=national,
            stored_phone=stored,
            nik=nik,
        )
        row = {
            "guardian_id": key,
            "child_id": child.child_id,
            "full_name": person.full_name,
            "relationship": relationship,
            "phone": stored,
            "nik": nik,
            "created_at": created_at,
            "updated_at": ctx.touched_after(created_at, within_days=730),
        }
        return record, row
