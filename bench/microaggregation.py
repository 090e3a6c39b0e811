"""What microaggregation costs and loses, against the full-domain optimum and local recoding.

Synthetic children with the research release's quasi-identifiers (age_years and admission_year
integers, microaggregated; sex, regency_code, disability generalised) and its policy (k=5,
distinct l=2, at most 5% suppressed). Regencies are drawn by province population (Jawa large,
the Papua provinces small) and, within a province, by a Zipf law over its regencies, so a few
regencies hold many children and many hold few. Prints seconds (wall clock, one run each) and LM
per transformation; local recoding and the full-domain search only up to ``--compare-up-to``.
``--continuous`` adds a random fraction to every age and year (all values distinct: MDAV in
blocks), microaggregation only.

    .venv/bin/python -m bench.microaggregation [--sizes 10000 100000 1000000] [--continuous]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from anonymization.kanonymity import anonymize
from anonymization.local_recoding import local_recode
from anonymization.microaggregation import microaggregate
from bench.common import regency_weights
from bench.report import machine
from orchestration.release.build import QUASI_IDENTIFIERS, ReleasePolicy, hierarchies

CASE_TYPES = ["neglect", "abuse", "trafficking", "child_labour", "exploitation", "other"]
NUMERIC = ["age_years", "admission_year"]


def children(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes, weights = regency_weights()
    p = np.array(weights) / sum(weights)
    ages = np.linspace(1, 2, 18)  # more older children in care than infants
    return pd.DataFrame(
        {
            "age_years": pd.array(rng.choice(18, n, p=ages / ages.sum()), dtype="Int64"),
            "sex": rng.choice(["M", "F"], n),
            "regency_code": rng.choice(codes, n, p=p),
            "disability": rng.choice(
                ["none", "tunanetra", "tunarungu", "autisme", "tunadaksa"],
                n,
                p=[0.85, 0.04, 0.04, 0.04, 0.03],
            ),
            "admission_year": pd.array(rng.integers(2015, 2025, n), dtype="Int64"),
            "case_type": rng.choice(CASE_TYPES, n, p=[0.4, 0.25, 0.05, 0.15, 0.1, 0.05]),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--compare-up-to", type=int, default=100_000)
    parser.add_argument(
        "--continuous", action="store_true", help="ages and years with random fractions"
    )
    args = parser.parse_args()
    policy = ReleasePolicy()
    sensitive, k, l_req, limit = (
        policy.sensitive, policy.k_required, policy.l_required, policy.suppression_limit
    )  # fmt: skip
    qis = {q: hierarchies()[q] for q in QUASI_IDENTIFIERS}
    print(machine())
    for n in args.sizes:
        df = children(n)
        if args.continuous:
            rng = np.random.default_rng(2)
            for column in NUMERIC:
                df[column] = df[column].astype(float) + rng.random(n)
        runs = {
            "microaggregation": lambda df=df: microaggregate(
                df, qis, NUMERIC, sensitive, k, l_req, limit
            )
        }
        if n <= args.compare_up_to and not args.continuous:
            runs["full_domain"] = lambda df=df: anonymize(df, qis, sensitive, k, l_req, limit)
            runs["local_recoding"] = lambda df=df: local_recode(df, qis, sensitive, k, l_req)
        for name, run in runs.items():
            start = time.perf_counter()
            _, report = run()
            seconds = time.perf_counter() - start
            print(
                f"{n:>9} {name:<17} {seconds:7.2f} s  LM {report.information_loss['value']:.4f}"
                f"  suppressed {report.suppressed_rows:>5}  classes {report.equivalence_classes}"
                f"  {report.generalization}",
                flush=True,
            )


if __name__ == "__main__":
    main()
