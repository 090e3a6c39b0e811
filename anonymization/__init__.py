"""Privacy layer of the MerajutASA lakehouse (pure library: keys are passed in as bytes).

* :mod:`~anonymization.tokens` - keyed deterministic tokens (HMAC per token domain)
* :mod:`~anonymization.vault` - encrypted token vault with audited re-identification
* :mod:`~anonymization.redaction` - Presidio-based redaction of free-text notes
* :mod:`~anonymization.kanonymity` - k-anonymity + l-diversity for microdata releases
* :mod:`~anonymization.small_cells` - small-cell suppression for aggregate tables
* :mod:`~anonymization.output_checks` - independent checks of what is about to be published
"""

# Exports are resolved lazily: importing Presidio costs ~1.5 s, and most users
# (tokenisation in ingestion, small cells in the API) never need it.

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anonymization.hierarchies import (
        Hierarchy,
        age_hierarchy,
        categorical_hierarchy,
        disability_hierarchy,
        province_hierarchy,
        sex_hierarchy,
        year_hierarchy,
    )
    from anonymization.kanonymity import (
        AnonymizationError,
        PrivacyReport,
        anonymize,
    )
    from anonymization.output_checks import (
        check_k_anonymity,
        check_l_diversity,
        check_pii_scan,
        check_small_cells,
    )
    from anonymization.redaction import (
        RedactionResult,
        Redactor,
        scan_for_pii,
    )
    from anonymization.small_cells import (
        suppress_cells,
        verify_no_recoverable_cells,
    )
    from anonymization.tokens import (
        Tokenizer,
        normalize,
        retokenize,
        retokenize_series,
    )
    from anonymization.vault import (
        TokenVault,
        VaultIntegrityError,
    )

_EXPORTS: dict[str, str] = {
    "Hierarchy": "anonymization.hierarchies",
    "age_hierarchy": "anonymization.hierarchies",
    "categorical_hierarchy": "anonymization.hierarchies",
    "disability_hierarchy": "anonymization.hierarchies",
    "province_hierarchy": "anonymization.hierarchies",
    "sex_hierarchy": "anonymization.hierarchies",
    "year_hierarchy": "anonymization.hierarchies",
    "AnonymizationError": "anonymization.kanonymity",
    "PrivacyReport": "anonymization.kanonymity",
    "anonymize": "anonymization.kanonymity",
    "RedactionResult": "anonymization.redaction",
    "Redactor": "anonymization.redaction",
    "scan_for_pii": "anonymization.redaction",
    "check_k_anonymity": "anonymization.output_checks",
    "check_l_diversity": "anonymization.output_checks",
    "check_pii_scan": "anonymization.output_checks",
    "check_small_cells": "anonymization.output_checks",
    "suppress_cells": "anonymization.small_cells",
    "verify_no_recoverable_cells": "anonymization.small_cells",
    "Tokenizer": "anonymization.tokens",
    "normalize": "anonymization.tokens",
    "retokenize": "anonymization.tokens",
    "retokenize_series": "anonymization.tokens",
    "TokenVault": "anonymization.vault",
    "VaultIntegrityError": "anonymization.vault",
}

__all__ = [
    "AnonymizationError",
    "Hierarchy",
    "PrivacyReport",
    "RedactionResult",
    "Redactor",
    "TokenVault",
    "Tokenizer",
    "VaultIntegrityError",
    "age_hierarchy",
    "anonymize",
    "categorical_hierarchy",
    "check_k_anonymity",
    "check_l_diversity",
    "check_pii_scan",
    "check_small_cells",
    "disability_hierarchy",
    "normalize",
    "province_hierarchy",
    "retokenize",
    "retokenize_series",
    "scan_for_pii",
    "sex_hierarchy",
    "suppress_cells",
    "verify_no_recoverable_cells",
    "year_hierarchy",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'anonymization' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
