"""The one error root: every condition a user should read as a sentence, not a traceback.

`CxError` carries a message and, where there is one, a table of problems (file, row,
column, value, reason), collected all at once so a researcher fixes a file once. The app's
router shows any of them with `st.error` (plus the table); the CLI prints them and exits
with the class's `exit_code`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


class CxError(Exception):
    """A known condition with a message for people, and optionally the problems behind it."""

    exit_code = 1
    """What the `cxdata` command exits with: 1 a problem in the data or the store, 2 usage."""

    def __init__(self, message: str = "", problems: list[Problem] | None = None) -> None:
        self.problems = [p for p in problems or [] if p.severity == "error"]
        self.warnings = [p for p in problems or [] if p.severity != "error"]
        super().__init__(message)

    def table(self) -> pd.DataFrame | None:
        """Errors, then warnings, as a table (file, row, column, value, reason, severity);
        None when the error has no problems to list."""
        listed = self.problems + self.warnings
        return problems_table(listed) if listed else None


class UsageError(CxError):
    """The request itself is wrong: an unknown column, a bad option or setting."""

    exit_code = 2


class IngestError(CxError):
    """A file (data, mapping or framework) that cannot be used; carries every problem found,
    and nothing was imported."""

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        errors = [p for p in problems if p.severity == "error"]
        self.total = max(total or 0, len(errors))
        first = errors[0].line() if errors else "unknown problem"
        super().__init__(f"{self.total} problem(s), nothing imported; first: {first}", problems)

    def table(self) -> pd.DataFrame:
        return problems_table(self.problems + self.warnings)


def problems_table(problems: list[Problem]) -> pd.DataFrame:
    import pandas as pd

    columns = ["file", "row", "column", "value", "reason", "severity"]
    return pd.DataFrame([asdict(p) for p in problems], columns=columns).astype({"row": "Int64"})
