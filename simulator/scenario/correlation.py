"""The correlation matrix of the market factors: build, check, repair, factor.

A matrix must be symmetric with a unit diagonal, entries in [-1, 1], and
positive semi-definite. One that is not PSD is an error naming the factors
involved, unless the scenario sets ``correlation.repair: true``; then it is
replaced by the nearest correlation matrix in the Frobenius norm (Higham 2002,
alternating projections with Dykstra's correction) and the change is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._kernels.layout import FACTORS
from simulator.errors import ScenarioError

PSD_TOL = 1e-10


@dataclass(frozen=True)
class FactorCorrelation:
    """The checked matrix, its lower factor, and whether it was repaired."""

    matrix: np.ndarray
    chol: np.ndarray
    repaired: bool
    max_change: float

    def notice(self) -> str | None:
        """One line telling the user the matrix was repaired (None if it was not)."""
        if not self.repaired:
            return None
        return ("correlation matrix was not positive semi-definite and was repaired to the nearest "
                f"correlation matrix (Higham 2002); largest entry change {self.max_change:.4g}")


def build_matrix(spec) -> np.ndarray:
    """Full N_FACTORS x N_FACTORS matrix in canonical factor order."""
    n = len(FACTORS)
    idx = {f: i for i, f in enumerate(FACTORS)}
    c = np.eye(n)
    if spec.matrix is not None:
        order = list(spec.factors) if spec.factors is not None else list(FACTORS)
        m = np.asarray(spec.matrix, dtype=float)
        if m.ndim != 2 or m.shape != (len(order), len(order)):
            raise ScenarioError(
                f"matrix must be {len(order)}x{len(order)} to match factors {order}, got shape {m.shape}",
                keypath="correlation.matrix",
            )
        if len(set(order)) != len(order):
            raise ScenarioError("factors are listed twice", keypath="correlation.factors")
        for i, a in enumerate(order):
            for j, b in enumerate(order):
                c[idx[a], idx[b]] = m[i, j]
    for a, row in spec.pairs.items():
        for b, rho in row.items():
            c[idx[a], idx[b]] = rho
            c[idx[b], idx[a]] = rho
    return c


def check_entries(c: np.ndarray) -> None:
    """Symmetric, unit diagonal, finite, entries in [-1, 1]; else ScenarioError."""
    for i, a in enumerate(FACTORS):
        if not np.isfinite(c[i]).all():
            raise ScenarioError(f"row {a} has a non-finite entry", keypath="correlation")
        if abs(c[i, i] - 1.0) > 1e-12:
            raise ScenarioError(f"diagonal entry {a}~{a} is {c[i, i]}, must be 1", keypath="correlation.matrix")
        for j in range(i):
            b = FACTORS[j]
            if abs(c[i, j] - c[j, i]) > 1e-12:
                raise ScenarioError(
                    f"matrix is not symmetric: {a}~{b} = {c[i, j]} but {b}~{a} = {c[j, i]}",
                    keypath="correlation.matrix",
                )
            if not -1.0 <= c[i, j] <= 1.0:
                raise ScenarioError(f"entry {a}~{b} = {c[i, j]} is outside [-1, 1]", keypath="correlation")


def nearest_correlation(a: np.ndarray, tol: float = 1e-12, max_iter: int = 1000) -> np.ndarray:
    """Higham (2002) nearest correlation matrix by alternating projections."""
    y = a.copy()
    ds = np.zeros_like(a)
    for _ in range(max_iter):
        r = y - ds
        w, v = np.linalg.eigh((r + r.T) / 2)
        x = (v * np.maximum(w, 0.0)) @ v.T
        ds = x - r
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)
        if np.linalg.norm(y_new - y, "fro") <= tol * max(1.0, np.linalg.norm(y, "fro")):
            y = y_new
            break
        y = y_new
    # tiny negative eigenvalues from round-off: nudge to PSD and rescale to unit diagonal
    w, v = np.linalg.eigh(y)
    y = (v * np.maximum(w, 0.0)) @ v.T
    d = np.sqrt(np.diag(y))
    y = y / np.outer(d, d)
    return (y + y.T) / 2


def psd_cholesky(c: np.ndarray) -> np.ndarray:
    """Lower factor ``L`` with ``L @ L.T == c`` for a PSD ``c`` (zero pivots allowed)."""
    n = c.shape[0]
    lo = np.zeros_like(c)
    for j in range(n):
        d = c[j, j] - lo[j, :j] @ lo[j, :j]
        if d <= PSD_TOL:
            continue  # dependent factor: column stays zero
        lo[j, j] = np.sqrt(d)
        for i in range(j + 1, n):
            lo[i, j] = (c[i, j] - lo[i, :j] @ lo[j, :j]) / lo[j, j]
    return lo


def _offenders(c: np.ndarray) -> str:
    w, v = np.linalg.eigh(c)
    vec = v[:, 0]
    involved = [FACTORS[i] for i in np.argsort(-np.abs(vec)) if abs(vec[i]) > 0.2]
    pairs = [
        f"{a}~{b}={c[FACTORS.index(a), FACTORS.index(b)]:g}"
        for k, a in enumerate(involved) for b in involved[k + 1:]
        if c[FACTORS.index(a), FACTORS.index(b)] != 0.0
    ]
    return f"smallest eigenvalue {w[0]:.4g}; the conflicting entries involve {', '.join(involved)}" + (
        f" ({', '.join(pairs)})" if pairs else ""
    )


def correlation_matrix(spec, source: str | None = None) -> FactorCorrelation:
    """Build and check the factor correlation; repair only if asked."""
    c = build_matrix(spec)
    try:
        check_entries(c)
    except ScenarioError as e:
        e.file = source
        raise
    w = np.linalg.eigvalsh(c)
    if w[0] >= -PSD_TOL:
        return FactorCorrelation(c, psd_cholesky(c), False, 0.0)
    if not spec.repair:
        raise ScenarioError(
            f"correlation matrix is not positive semi-definite: {_offenders(c)}; fix the entries or set "
            "`correlation.repair: true` to use the nearest correlation matrix",
            source, None, "correlation",
        )
    fixed = nearest_correlation(c)
    return FactorCorrelation(fixed, psd_cholesky(fixed), True, float(np.abs(fixed - c).max()))
