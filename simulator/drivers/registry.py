"""Pack a scenario's drivers into the kernel's arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers import bitcoin, demand, gpu, hashrate, inference, power, rates, spread
from simulator.errors import ScenarioError
from simulator.rng import key_from_seed
from simulator.scenario.correlation import FactorCorrelation, correlation_matrix
from simulator.series import monthly_log_returns, replay_path


@dataclass(frozen=True)
class MarketInputs:
    """Everything the market kernel needs, as plain arrays (see the kernel docstring)."""

    k0: np.uint64
    k1: np.uint64
    n_steps: int
    dt: float
    months_per_step: int
    chol: np.ndarray
    params: np.ndarray
    models: np.ndarray
    btc_series: np.ndarray
    rate_series: np.ndarray
    network_hashrate: np.ndarray
    block_subsidy: np.ndarray
    demand_log_expected: np.ndarray
    correlation: FactorCorrelation


def pack_market(scenario) -> MarketInputs:
    sim = scenario.simulation
    d = scenario.drivers
    n, mps = sim.n_steps, sim.months_per_step
    params = np.zeros((L.N_DRIVERS, L.N_DRIVER_PARAMS))
    params[L.D_BITCOIN] = bitcoin.pack(d.bitcoin)
    params[L.D_RATES] = rates.pack(d.rates)
    params[L.D_SPREAD] = spread.pack(d.spread)
    params[L.D_GPU] = gpu.pack(d.gpu)
    params[L.D_DEMAND] = demand.pack(d.demand)
    params[L.D_INFERENCE] = inference.pack(d.inference)
    params[L.D_TOKENS] = inference.pack_tokens(d.tokens)
    params[L.D_POWER] = power.pack(d.power)
    models = np.zeros(L.N_DRIVERS, dtype=np.int64)
    models[L.D_BITCOIN] = bitcoin.MODELS[d.bitcoin.model]
    models[L.D_RATES] = rates.MODELS[d.rates.model]

    btc_series = np.zeros(1)
    if d.bitcoin.model == "replay":
        btc_series = replay_path(d.bitcoin.data, n, mps, "drivers.bitcoin.data", positive=True)
    elif d.bitcoin.model == "bootstrap":
        if mps != 1:
            raise ScenarioError("bootstrap resamples monthly returns and needs steps_per_year: 12",
                                keypath="drivers.bitcoin.model")
        btc_series = monthly_log_returns(d.bitcoin.data, "drivers.bitcoin.data")
        if d.bitcoin.block_months > btc_series.size:
            raise ScenarioError(
                f"block_months = {d.bitcoin.block_months} is longer than the {btc_series.size} monthly returns "
                f"in {d.bitcoin.data.csv}", keypath="drivers.bitcoin.block_months")
    rate_series = np.zeros(1)
    if d.rates.model == "replay":
        rate_series = replay_path(d.rates.data, n, mps, "drivers.rates.data", positive=False)

    hr, subsidy = hashrate.network(d.hashrate, sim.start, n, mps)
    t = sim.dt * (np.arange(n) + 1)
    corr = correlation_matrix(scenario.correlation)
    k0, k1 = key_from_seed(sim.seed)
    return MarketInputs(
        k0=k0, k1=k1, n_steps=n, dt=sim.dt, months_per_step=mps,
        chol=np.ascontiguousarray(corr.chol), params=params, models=models,
        btc_series=np.ascontiguousarray(btc_series, dtype=float),
        rate_series=np.ascontiguousarray(rate_series, dtype=float),
        network_hashrate=hr, block_subsidy=subsidy,
        demand_log_expected=np.asarray(demand.log_expected(d.demand, t)),
        correlation=corr,
    )
