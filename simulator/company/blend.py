"""The probability-weighted blend of scenarios (MODEL.md section 8).

Scenarios run with the same seed draw the same numbers path by path (common
random numbers), so differences between them are not noise. The blend is the
mixture: scenario ``s`` gets weight ``p_s / sum(p)``, spread equally over its
paths, and every summary of :mod:`simulator.company.summary` is computed on
the pooled paths with those weights, so each blended probability is exactly
``sum_s p_s * probability_s``.
"""

from __future__ import annotations

import numpy as np

from simulator.errors import ScenarioError


def scenario_weights(probabilities) -> np.ndarray:
    """Normalised scenario probabilities; all-zero probabilities count equally."""
    p = np.asarray(probabilities, dtype=float)
    if p.sum() <= 0:
        p = np.ones_like(p)
    return p / p.sum()


def blend(parts, names_list):
    """Pool per-path results of several scenarios into one weighted sample.

    Parameters
    ----------
    parts : sequence of (probability, pint, pflt)
        ``pint`` int[n_paths_s, n_comp_s, N_PINT], ``pflt`` float64[n_paths_s, n_comp_s, N_PFLT].
    names_list : sequence of tuple of str
        Company names of each scenario, in its kernel order.

    Returns
    -------
    names : tuple of str
        Companies present in every scenario (order of the first).
    pint, pflt : pooled arrays over the concatenated paths.
    weights : float[n_total] summing to 1.
    """
    common = tuple(n for n in names_list[0] if all(n in names for names in names_list[1:]))
    if not common:
        raise ScenarioError("the scenarios share no company to blend")
    sw = scenario_weights([p for p, _, _ in parts])
    pints, pflts, ws = [], [], []
    for (prob, pint, pflt), names, wgt in zip(parts, names_list, sw):
        idx = [names.index(n) for n in common]
        pints.append(pint[:, idx])
        pflts.append(pflt[:, idx])
        ws.append(np.full(pint.shape[0], wgt / pint.shape[0]))
    return common, np.concatenate(pints), np.concatenate(pflts), np.concatenate(ws)
