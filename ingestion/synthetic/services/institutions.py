"""Institution registry: the LKSA (child-care institutions) that children live in."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import sqlalchemy as sa

from ingestion.synthetic.context import GenerationContext, InstitutionRecord
from ingestion.synthetic.defects import plant_extra_rows, set_null, set_value
from ingestion.synthetic.registry import ServiceGenerator
from ingestion.synthetic.services._common import CODE, ID, LONG, NAME, Weighted, col, source_table
from lakehouse.reference.regions import PROVINCES, Regency

INSTITUTION_TYPES = (
    "lksa_anak",
    "lksa_disabilitas",
    "rumah_perlindungan",
    "panti_asuhan_keagamaan",
)
ACCREDITATIONS = ("A", "B", "C", "none")

_TYPE_WEIGHTS = Weighted(list(INSTITUTION_TYPES), [50, 10, 10, 30])
_ACCREDITATION_WEIGHTS = Weighted(list(ACCREDITATIONS), [15, 35, 25, 25])
_PROVINCE_WEIGHTS = Weighted(list(PROVINCES), [p.weight for p in PROVINCES])

_GENERAL_NAMES = (
    "Harapan Bunda", "Kasih Ibu", "Tunas Bangsa", "Bina Insani", "Pelita Kasih", "Mutiara Hati",
    "Cahaya Harapan", "Putra Harapan", "Budi Mulia", "Tunas Harapan", "Kasih Sayang",
    "Bakti Luhur", "Sayap Ibu", "Mekar Sari", "Permata Hati", "Bunda Pertiwi", "Rumah Kita",
    "Taruna Jaya", "Bina Remaja", "Anak Bangsa",
)  # fmt: skip
_RELIGIOUS_NAMES = (
    "Al-Ikhlas", "Darul Aitam", "Nurul Iman", "Al-Hikmah", "Yatim Piatu Muhammadiyah",
    "Aisyiyah", "Darul Hadlonah", "Al-Falah", "Baitul Rahman", "Nurul Huda",
    "Kristen Bethesda", "Katolik Santa Maria", "Kristen Immanuel", "Buddhis Metta",
)  # fmt: skip
_DISABILITY_NAMES = (
    "Bhakti Luhur",
    "Mitra Sejahtera",
    "Harapan Kita",
    "Wisma Tuna Ganda",
    "Pelita",
)


def _name(ctx: GenerationContext, institution_type: str, regency: Regency) -> str:
    rng = ctx.rng
    if institution_type == "panti_asuhan_keagamaan":
        return f"Panti Asuhan {rng.choice(_RELIGIOUS_NAMES)} {regency.name}"
    if institution_type == "lksa_disabilitas":
        return f"LKSA Disabilitas {rng.choice(_DISABILITY_NAMES)} {regency.name}"
    if institution_type == "rumah_perlindungan":
        return f"Rumah Perlindungan Sosial Anak {rng.choice(_GENERAL_NAMES)} {regency.name}"
    return f"LKSA {rng.choice(_GENERAL_NAMES)} {regency.name}"


class InstitutionsService(ServiceGenerator):
    name: ClassVar[str] = "institutions"

    def tables(self, metadata: sa.MetaData) -> list[sa.Table]:
        return [
            source_table(
                metadata,
                "institutions",
                "institution_id",
                col("institution_id", ID),
                col("name", NAME),
                col("institution_type", CODE),
                col("province_code", CODE),
                col("regency_code", CODE),
                col("address", LONG),
                col("capacity", sa.Integer()),
                col("licence_number", CODE),
                col("licence_expiry", sa.Date()),
                col("accreditation", CODE),
                col("created_at", sa.DateTime()),
            )
        ]

    def generate(self, ctx: GenerationContext) -> None:
        keys = ctx.key_space("institutions", "LKSA-", 5)
        n = ctx.config.institutions
        for _ in range(n):
            row = self._row(ctx, keys.next())
            ctx.out.add("institutions", row)
            ctx.institutions.append(
                InstitutionRecord(
                    institution_id=row["institution_id"],
                    name=row["name"],
                    institution_type=row["institution_type"],
                    province_code=row["province_code"],
                    regency_code=row["regency_code"],
                    capacity=row["capacity"],
                    created_at=row["created_at"],
                )
            )
        plant_extra_rows(
            ctx,
            "institutions",
            keys,
            n,
            lambda key: self._row(ctx, key),
            {
                "malformed_value": [
                    set_value("capacity", -5, -20, -1),
                    set_value("institution_type", "yayasan_sosial", "LKSA", "panti"),
                    set_value("accreditation", "AA", "belum", "D"),
                    set_value("province_code", "Jabar", "3", "320"),
                ],
                "missing_required": [
                    set_null("name"),
                    set_null("institution_type"),
                    set_null("capacity"),
                    set_null("regency_code"),
                ],
            },
        )

    def handoff(self, ctx: GenerationContext) -> Any:
        return ctx.institutions

    def receive(self, ctx: GenerationContext, handoff: Any) -> None:
        ctx.institutions.extend(handoff)

    @staticmethod
    def _row(ctx: GenerationContext, key: str) -> dict[str, Any]:
        rng = ctx.rng
        province = _PROVINCE_WEIGHTS.pick(rng)
        regency = rng.choice(province.regencies)
        institution_type = _TYPE_WEIGHTS.pick(rng)
        # Founded 5-18 years before as_of; licensed (again) within the last ten years.
        as_of = ctx.config.as_of
        founded = ctx.date_between(
            dt.date(as_of.year - 18, 1, 1), as_of - dt.timedelta(days=5 * 365)
        )
        created_at = ctx.moment_on(founded)
        licence_year = rng.randint(max(founded.year, as_of.year - 10), ctx.last_day.year)
        # Licences run five years; some have lapsed, which is real life, not a defect.
        expiry = dt.date(licence_year + 5, rng.randint(1, 12), rng.randint(1, 28))
        return {
            "institution_id": key,
            "name": _name(ctx, institution_type, regency),
            "institution_type": institution_type,
            "province_code": province.code,
            "regency_code": regency.code,
            "address": f"{ctx.people.address(rng)}, {regency.name}",
            "capacity": rng.randint(20, 150),
            "licence_number": f"{rng.randint(400, 469)}/{rng.randint(1, 9999):04d}"
            f"/DINSOS.{regency.code}/{licence_year}",
            "licence_expiry": expiry,
            "accreditation": _ACCREDITATION_WEIGHTS.pick(rng),
            "created_at": created_at,
            "updated_at": ctx.moment_between(
                max(created_at, dt.datetime.combine(dt.date(licence_year, 1, 1), dt.time(8))),
                ctx.horizon,
            ),
        }
