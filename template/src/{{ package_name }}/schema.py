"""Data contracts: the raw and feature tables are validated before any step uses them."""

from __future__ import annotations

from typing import Any

import pandera.pandas as pa

from .errors import DataValidationError
from .features import FEATURE_MAX, FEATURE_MIN, FEATURES, LABELS, TARGET


def _feature_columns() -> dict[str, pa.Column]:
    return {
        name: pa.Column(
            float,
            checks=pa.Check.in_range(FEATURE_MIN, FEATURE_MAX),
            nullable=False,
            coerce=True,
        )
        for name in FEATURES
    }


# Labelled data (raw, train, test): the features plus a known label, nothing else.
LABELLED_SCHEMA = pa.DataFrameSchema(
    {**_feature_columns(), TARGET: pa.Column(str, checks=pa.Check.isin(LABELS), nullable=False)},
    strict=True,
    coerce=True,
)

# Unlabelled model inputs (drift job, batch scoring): the features; extra columns are allowed.
FEATURE_SCHEMA = pa.DataFrameSchema(_feature_columns(), strict=False, coerce=True)

_MAX_ROWS_SHOWN = 10


def validate(df: Any, schema: pa.DataFrameSchema, source: str) -> Any:
    """Return the validated (type-coerced) frame, or raise DataValidationError naming the problems."""
    try:
        return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        problems = []
        for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=True):
            if not isinstance(column, str):  # table-wide checks (missing or unexpected columns)
                problems += [f"column '{name}': {check} failed" for name in group["failure_case"]]
                continue
            rows = sorted({int(i) for i in group["index"].dropna()})
            where = f"rows {rows[:_MAX_ROWS_SHOWN]}" if rows else "the whole column"
            if len(rows) > _MAX_ROWS_SHOWN:
                where += f" and {len(rows) - _MAX_ROWS_SHOWN} more"
            example = group["failure_case"].iloc[0]
            problems.append(f"column '{column}': {check} failed in {where} (e.g. {example!r})")
        raise DataValidationError(
            f"{source} does not match the data contract:\n  - " + "\n  - ".join(problems)
        ) from None
