"""Problems found in a file, collected all at once (a researcher fixes a file once)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) at a place in a file."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str
    severity: str = "error"

    def line(self) -> str:
        """`FILE:ROW:COLUMN: reason` as the CLI prints it (empty parts stay empty)."""
        row = "" if self.row is None else str(self.row)
        value = "" if self.value is None else f" (value {_short(self.value)!r})"
        return f"{self.file}:{row}:{self.column or ''}: {self.reason}{value}"


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class IngestError(Exception):
    """A file that cannot be imported; carries every problem found, and nothing was imported."""

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        self.total = max(total or 0, len(self.problems))
        first = self.problems[0].line() if self.problems else "unknown problem"
        super().__init__(f"{self.total} problem(s), nothing imported; first: {first}")

    def table(self) -> pd.DataFrame:
        """Errors, then warnings, as a table: file, row, column, value, reason, severity."""
        return problems_table(self.problems + self.warnings)


def problems_table(problems: list[Problem]) -> pd.DataFrame:
    columns = ["file", "row", "column", "value", "reason", "severity"]
    return pd.DataFrame([asdict(p) for p in problems], columns=columns).astype({"row": "Int64"})
