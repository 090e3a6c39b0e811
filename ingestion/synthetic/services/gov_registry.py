"""External drop: the Dukcapil (civil registry) NIK verification CSV.

The government answers a batch of verification requests for about 60% of the children. Names
come back upper-case as Dukcapil stores them; ``mismatch`` rows carry the registry's version
of the name or birth date, ``not_found`` rows carry nothing but the NIK asked about. Planted
defects are invalid NIKs, unknown statuses and exact repeated lines; they are identified in the
manifest by their 1-based data-row number, as a CSV row has no key that must be unique.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ingestion.synthetic.context import ChildRecord, GenerationContext
from ingestion.synthetic.nik import corrupt_nik
from ingestion.synthetic.registry import DropGenerator, DropOutput
from ingestion.synthetic.services._common import Weighted

COLUMNS = (
    "nik",
    "full_name",
    "birth_date",
    "verification_status",
    "verified_at",
    "registry_reference",
)
STATUSES = ("verified", "not_found", "mismatch")
SHARE_VERIFIED = 0.6
_STATUS = Weighted(STATUSES, (85, 6, 9))
DROP_SUBDIR = "gov_registry"


def drop_filename(as_of: dt.date) -> str:
    return f"gov_registry_verification_{as_of:%Y%m%d}.csv"


@dataclass
class _Line:
    values: dict[str, str]
    position: float  # where the line lands in the file once defects are interleaved
    defect: str | None = None
    column: str | None = None


def _misspell(name: str, rng: random.Random) -> str:
    """The registry's spelling differs: dropped middle name or an old-spelling vowel."""
    parts = name.split(" ")
    if len(parts) > 2:
        return f"{parts[0]} {parts[-1]}"
    swaps = (("U", "OE"), ("J", "DJ"), ("Y", "J"), ("I", "IE"))
    for old, new in rng.sample(swaps, len(swaps)):
        if old in name:
            return name.replace(old, new, 1)
    return name + "H"


class GovRegistryDrop(DropGenerator):
    name: ClassVar[str] = "gov_registry_verification"
    requires: ClassVar[tuple[str, ...]] = ("child_registry",)

    def write(self, ctx: GenerationContext, drops_dir: Path) -> DropOutput:
        ctx.begin_service(self.name, None)
        rng = ctx.rng
        stamp = f"{ctx.config.as_of:%Y%m%d}"
        asked = [c for c in ctx.children if rng.random() < SHARE_VERIFIED]
        rng.shuffle(asked)
        lines = [
            _Line(self._values(ctx, child, f"DKC-{stamp}-{i + 1:07d}"), float(i))
            for i, child in enumerate(asked)
        ]
        n = len(lines)
        extra: list[_Line] = []
        next_ref = n
        for code in ("invalid_nik", "malformed_value"):
            for _ in range(ctx.defects.how_many(n)):
                next_ref += 1
                values = self._values(ctx, rng.choice(ctx.children), f"DKC-{stamp}-{next_ref:07d}")
                values["verification_status"] = "verified"
                if code == "invalid_nik":
                    values["nik"] = corrupt_nik(values["nik"], rng)
                    column = "nik"
                else:
                    values["verification_status"] = rng.choice(
                        ("pending", "VERIFIED", "terverifikasi")
                    )
                    column = "verification_status"
                extra.append(_Line(values, rng.uniform(-0.5, n - 0.5), code, column))
        if n:
            for original in rng.sample(lines, min(ctx.defects.how_many(n), n)):
                # The repeat lands somewhere after its original, as re-sent batches do.
                position = rng.uniform(original.position + 0.25, n)
                extra.append(
                    _Line(dict(original.values), position, "duplicate_row", "registry_reference")
                )
        ordered = sorted([*lines, *extra], key=lambda line: line.position)

        path = drops_dir / DROP_SUBDIR / drop_filename(ctx.config.as_of)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            writer.writerow(COLUMNS)
            for number, line in enumerate(ordered, start=1):
                writer.writerow([line.values[c] for c in COLUMNS])
                if line.defect is not None:
                    ctx.defects.record(self.name, str(number), line.defect, line.column)
        return DropOutput(path=path, rows=len(ordered))

    @staticmethod
    def _values(ctx: GenerationContext, child: ChildRecord, reference: str) -> dict[str, str]:
        rng = ctx.rng
        status = _STATUS.pick(rng)
        name, birth = child.full_name.upper(), child.birth_date
        if status == "mismatch":
            if rng.random() < 0.5:
                name = _misspell(name, rng)
            else:
                shift = dt.timedelta(days=rng.choice((31, 1, 30, 365)))
                birth = birth + shift if birth + shift <= ctx.last_day else birth - shift
        verified_at = ctx.moment_between(
            dt.datetime.combine(ctx.config.as_of - dt.timedelta(days=90), dt.time(8)), ctx.horizon
        )
        found = status != "not_found"
        return {
            "nik": child.nik,
            "full_name": name if found else "",
            "birth_date": birth.isoformat() if found else "",
            "verification_status": status,
            "verified_at": verified_at.strftime("%Y-%m-%d %H:%M:%S"),
            "registry_reference": reference,
        }
