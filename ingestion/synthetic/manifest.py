"""What a generation run wrote and, above all, which defects it planted where.

The manifest is the answer key for data-quality tests: ingestion must quarantine exactly the
planted rows, with the planted reason, and load everything else. It is written as JSON next to
the drops (``drops_dir / "synthetic_manifest.json"``) and holds no timings or absolute paths, so
that the same config always produces the same bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.synthetic.config import GeneratorConfig

MANIFEST_FILENAME = "synthetic_manifest.json"
MANIFEST_VERSION = 1

DEFECT_CODES: tuple[str, ...] = (
    "duplicate_row",
    "malformed_value",
    "invalid_nik",
    "future_date",
    "orphan_fk",
    "missing_required",
)


@dataclass(frozen=True)
class DefectRecord:
    """One planted defect: one row (``key``) of one table, one defect code, one column.

    ``key`` is the row's primary key as a string; for file drops it is the 1-based data-row
    number in the file (header excluded), because a drop row has no key of its own that is
    guaranteed unique. For ``duplicate_row`` the key is the duplicated key (it then appears
    twice; only the extra copy is the defect).
    """

    table: str
    key: str
    defect: str
    column: str | None

    def __post_init__(self) -> None:
        if self.defect not in DEFECT_CODES:
            raise ValueError(f"unknown defect code {self.defect!r}")

    def to_dict(self) -> dict[str, str | None]:
        return {"table": self.table, "key": self.key, "defect": self.defect, "column": self.column}

    def __getitem__(self, name: str) -> str | None:
        # Lets code written against the JSON form (d["table"]) work on the objects too.
        if name not in ("table", "key", "defect", "column"):
            raise KeyError(name)
        value: str | None = getattr(self, name)
        return value


@dataclass
class GenerationManifest:
    config: GeneratorConfig
    row_counts: dict[str, int]
    defects: list[DefectRecord]
    services: dict[str, list[str]] = field(default_factory=dict)  # service -> its tables
    drops: dict[str, str] = field(default_factory=dict)  # drop table -> path under drops_dir
    #: People named in case notes whom no table holds (what the leak tests look for).
    third_party_names: list[str] = field(default_factory=list)

    def defect_counts(self) -> dict[str, dict[str, int]]:
        """``table -> defect code -> number of planted rows``."""
        out: dict[str, dict[str, int]] = {}
        for (table, code), n in sorted(Counter((d.table, d.defect) for d in self.defects).items()):
            out.setdefault(table, {})[code] = n
        return out

    def defects_for(self, table: str) -> list[DefectRecord]:
        return [d for d in self.defects if d.table == table]

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION,
            "config": self.config.to_dict(),
            "services": {k: list(v) for k, v in self.services.items()},
            "drops": dict(self.drops),
            "row_counts": dict(self.row_counts),
            "defect_counts": self.defect_counts(),
            "defects": [d.to_dict() for d in self.defects],
            "third_party_names": list(self.third_party_names),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def write(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationManifest:
        return cls(
            config=GeneratorConfig.from_dict(data["config"]),
            row_counts={str(k): int(v) for k, v in data["row_counts"].items()},
            defects=[
                DefectRecord(d["table"], str(d["key"]), d["defect"], d.get("column"))
                for d in data["defects"]
            ],
            services={k: list(v) for k, v in data.get("services", {}).items()},
            drops=dict(data.get("drops", {})),
            third_party_names=list(data.get("third_party_names", [])),
        )

    @classmethod
    def read(cls, path: Path) -> GenerationManifest:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
