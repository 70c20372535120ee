"""The statistics of one comparison row from counted samples: each side of a cell as its
distinct scores and how many customers have each (`Side`), Welch's t-test of the difference
in means with its intervals (`Welch`), Cliff's delta, and the Benjamini-Yekutieli level of
intervals reported after a selection. Pure numpy/scipy: the engine counts, this computes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

FDR_LEVEL = 0.05  # Benjamini-Hochberg's q, and the false coverage rate of the intervals


@dataclass(frozen=True)
class Side:
    """One side of one cell: its distinct scores and how many customers have each."""

    values: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, rows: pd.DataFrame) -> Side:
        values = rows["score"].to_numpy(float)
        counts = rows["customers"].to_numpy(float)
        order = np.argsort(values, kind="stable")
        return cls(values[order], counts[order])

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def mean(self) -> float:
        return float(self.values @ self.counts / self.counts.sum()) if self.n else float("nan")

    @property
    def var(self) -> float:
        """The sample variance (ddof 1, two passes, as numpy's)."""
        deviation = self.values - self.mean
        return float((deviation * deviation) @ self.counts / (self.n - 1))

    @property
    def varies(self) -> bool:
        return bool(len(self.values) and np.ptp(self.values[self.counts > 0]) > 0)

    def share(self, sign: int) -> float:
        """The share of customers above 0 (sign 1) or below it (-1)."""
        if not self.n:
            return float("nan")
        return float(self.counts[sign * self.values > 0].sum() / self.n)


def adjusted_level(selected: int, tested: int, q: float = FDR_LEVEL) -> float:
    """Benjamini-Yekutieli's (2005) confidence level for intervals reported after selecting
    `selected` of `tested` rows: 1 - max(R, 1) * q / m; their false coverage rate is <= q."""
    return 1 - max(selected, 1) * q / tested


class Welch:
    """Welch's t-tests of mean(A) - mean(B), one per pair of sides: p-values and intervals
    from the same t statistics and Welch-Satterthwaite degrees of freedom."""

    def __init__(self, pairs: list[tuple[Side, Side]]) -> None:
        self.diff = np.array([a.mean - b.mean for a, b in pairs])
        # No variation on either side: the statistic is +-inf (0/0 when the means agree),
        # and the procedure's limit is a point interval at the difference with p = 0 (or 1).
        self.p_value = np.where(self.diff != 0, 0.0, 1.0)
        self._rows = [i for i, (a, b) in enumerate(pairs) if a.varies or b.varies]
        va = np.array([pairs[i][0].var / pairs[i][0].n for i in self._rows])
        vb = np.array([pairs[i][1].var / pairs[i][1].n for i in self._rows])
        na = np.array([pairs[i][0].n for i in self._rows], dtype=float)
        nb = np.array([pairs[i][1].n for i in self._rows], dtype=float)
        self._se = np.sqrt(va + vb)
        self._df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        if self._rows:
            t = self.diff[self._rows] / self._se
            self.p_value[self._rows] = 2 * stats.t.sf(np.abs(t), self._df)

    def intervals(self, level: float) -> np.ndarray:
        """(low, high) per pair at `level`, from the same t statistics and degrees of freedom."""
        out = np.column_stack([self.diff, self.diff])
        if self._rows:
            half = stats.t.ppf(0.5 + level / 2, self._df) * self._se
            out[self._rows, 0] = self.diff[self._rows] - half
            out[self._rows, 1] = self.diff[self._rows] + half
        return out


def cliffs_delta(a: Side, b: Side) -> float:
    """Share of (A, B) customer pairs where A scores higher minus the share where B does
    (the rank-biserial correlation of Mann-Whitney U), from the counts of each score;
    descriptive only."""
    below = np.concatenate([[0.0], np.cumsum(b.counts)])  # B customers below each B value
    lower = below[np.searchsorted(b.values, a.values, side="left")]
    upto = below[np.searchsorted(b.values, a.values, side="right")]
    u = float(a.counts @ (lower + (upto - lower) / 2))  # a tie counts half
    return 2 * u / (a.n * b.n) - 1
