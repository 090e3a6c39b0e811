"""Consent: per child and purpose, whether a guardian agreed to data use.

Revoked consents are legitimate and common enough to matter: a consent with ``granted`` true
and ``revoked_at`` set means "not consented any more", and analytics that forget this leak.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import sqlalchemy as sa

from ingestion.synthetic.context import ChildRecord, GenerationContext
from ingestion.synthetic.defects import plant_extra_rows, point_to_missing, set_null, set_value
from ingestion.synthetic.registry import ServiceGenerator
from ingestion.synthetic.services._common import CODE, ID, col, source_table

PURPOSES = ("research", "community", "media")
GRANT_RATE = {"research": 0.70, "community": 0.50, "media": 0.15}
REVOKE_RATE = 0.08


class ConsentService(ServiceGenerator):
    name: ClassVar[str] = "consent"
    requires: ClassVar[tuple[str, ...]] = ("child_registry",)

    def tables(self, metadata: sa.MetaData) -> list[sa.Table]:
        return [
            source_table(
                metadata,
                "consents",
                "consent_id",
                col("consent_id", ID),
                col("child_id", ID),
                col("purpose", CODE),
                col("granted", sa.Boolean()),
                col("granted_by_guardian_id", ID),
                col("granted_at", sa.DateTime()),
                col("revoked_at", sa.DateTime()),
                indexed=("child_id",),
            )
        ]

    def generate(self, ctx: GenerationContext) -> None:
        keys = ctx.key_space("consents", "CN-", 7)
        for child in ctx.children:
            for purpose in PURPOSES:
                row = self._row(ctx, keys.next(), child, purpose)
                ctx.out.add("consents", row)
                child.consent_ids.append(row["consent_id"])
        legit = keys.issued

        def extra(key: str) -> dict[str, Any]:
            return self._row(ctx, key, ctx.rng.choice(ctx.children), ctx.rng.choice(PURPOSES))

        plant_extra_rows(
            ctx,
            "consents",
            keys,
            legit,
            extra,
            {
                "malformed_value": [set_value("purpose", "marketing", "riset", "publikasi")],
                "orphan_fk": [point_to_missing("child_id", ctx.keys["children"])],
                "missing_required": [set_null(c) for c in ("child_id", "purpose", "granted")],
            },
        )

    def handoff(self, ctx: GenerationContext) -> Any:
        """Each child's consent ids (what the access log points at)."""
        return [child.consent_ids for child in ctx.children]

    def receive(self, ctx: GenerationContext, handoff: Any) -> None:
        for child, ids in zip(ctx.children, handoff, strict=True):
            child.consent_ids.extend(ids)

    @staticmethod
    def _row(ctx: GenerationContext, key: str, child: ChildRecord, purpose: str) -> dict[str, Any]:
        rng = ctx.rng
        admitted = dt.datetime.combine(child.admission_date, dt.time(8))
        decided = ctx.moment_between(admitted, admitted + dt.timedelta(days=60))
        granted = rng.random() < GRANT_RATE[purpose]
        guardians = child.guardians
        guardian = guardians[0] if rng.random() < 0.7 else rng.choice(guardians)
        revoked_at = None
        if granted and rng.random() < REVOKE_RATE:
            revoked_at = ctx.moment_between(decided + dt.timedelta(days=1), ctx.horizon)
        return {
            "consent_id": key,
            "child_id": child.child_id,
            "purpose": purpose,
            "granted": granted,
            # A refusal is "no consent given": nobody granted anything, at no time.
            "granted_by_guardian_id": guardian.guardian_id if granted else None,
            "granted_at": decided if granted else None,
            "revoked_at": revoked_at,
            "updated_at": ctx.touched_after(revoked_at or decided, within_days=14),
        }
