"""Time the market kernel of a git revision against the working tree's, and compare their bits.

    NUMBA_CACHE_DIR=/tmp/nc python scripts/market_kernel_compare.py [REV] [--paths N] [--reps R] [--bits-paths M]

One thread, one process, interleaved repetitions timed with ``time.thread_time``
(the machine is shared), both kernels called through ``simulate_market_block``
on preallocated outputs for ``scenarios/avalanche.yaml``, next to the RNG floor
of ``simulate bench`` (NumPy SFC64, 10 normals per path-month). The revision's
package is imported whole, renamed (``engine_compare.import_revision``). Then both
kernels on every shipped scenario and every bitcoin and rates model, generated
and injected shocks: are the outputs the same bits? REV defaults to ``main``.
"""

import argparse
import importlib
import pathlib
import sys
import tempfile
import time

import numba
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator._kernels import layout as L  # noqa: E402
from simulator._kernels import market as new  # noqa: E402
from simulator.drivers import pack_market  # noqa: E402
from simulator.rng import draw  # noqa: E402
from simulator.scenario import load_scenario  # noqa: E402

from engine_compare import import_revision  # noqa: E402  (scripts/, beside this file)


def call(mod, mi, n, shocks, out):
    mod.simulate_market_block(0, n, mi.k0, mi.k1, 0, mi.n_steps, mi.dt, mi.months_per_step, mi.chol, mi.params,
                              mi.models, mi.btc_series, mi.rate_series, shocks, out)


def cases(tmp):
    sc = ROOT / "scenarios"
    base = sc / "niche-growth.yaml"
    csv = tmp / "rates.csv"
    months = [f"{2026 + (8 + i) // 12}-{(8 + i) % 12 + 1:02d}" for i in range(72)]
    csv.write_text("month,rate\n" + "".join(f"{m},{0.03 + 0.01 * np.sin(i / 7.0):.6f}\n" for i, m in enumerate(months)))
    out = {p.stem: (p, ()) for p in sorted(sc.glob("*.yaml"))}
    out.update({f"bitcoin-{m}": (base, (f"drivers.bitcoin.model={m}",))
                for m in ("gbm", "jump_diffusion", "regime", "replay", "bootstrap")})
    out["rates-cir"] = (base, ("drivers.rates.model=cir",))
    out["rates-cir-no-feller"] = (base, ("drivers.rates.model=cir", "drivers.rates.sigma=0.2"))
    out["rates-replay"] = (base, ("drivers.rates.model=replay", f"drivers.rates.data.csv={csv}",
                                  "drivers.rates.data.start=2026-09"))
    out["gpu-generation-months"] = (base, ("drivers.gpu.generation_months=18",))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rev", nargs="?", default="main")
    ap.add_argument("--paths", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=25)
    ap.add_argument("--bits-paths", type=int, default=2000)
    a = ap.parse_args()
    numba.set_num_threads(1)
    tmp = pathlib.Path(tempfile.mkdtemp())
    import_revision(a.rev, tmp)  # the whole package at REV, as simulator_rev: its kernel with its own helpers
    old = importlib.import_module("simulator_rev._kernels.market")
    kernels = {a.rev: old, "worktree": new}

    sc = load_scenario(ROOT / "scenarios" / "avalanche.yaml", paths=a.paths)
    mi = pack_market(sc)
    n = a.paths
    none = np.zeros((0, 0, 0))
    outs = {k: np.empty((L.N_MARKET_VARS, n, mi.n_steps)) for k in kernels}
    gen = np.random.Generator(np.random.SFC64(1))
    fbuf = np.empty(1 << 20)
    pm = n * mi.n_steps * mi.months_per_step

    def floor():
        done = 0
        while done < pm * 10:
            k = min(fbuf.size, pm * 10 - done)
            gen.standard_normal(out=fbuf[:k])
            done += k

    bodies = {k: (lambda m=m, o=outs[k]: call(m, mi, n, none, o)) for k, m in kernels.items()}
    bodies["RNG floor (NumPy SFC64)"] = floor
    for f in bodies.values():
        f()
    times = {k: [] for k in bodies}
    for _ in range(a.reps):
        for k, f in bodies.items():
            t0 = time.thread_time()
            f()
            times[k].append(time.thread_time() - t0)
    print(f"avalanche, {n} paths x {mi.n_steps * mi.months_per_step} months, 1 thread, {a.reps} interleaved reps")
    for k, ts in times.items():
        ts = np.array(ts) / pm * 1e9
        print(f"  {k:26s} ns per path-month: min {ts.min():6.1f}  median {np.median(ts):6.1f}")

    bad = 0
    m = a.bits_paths
    for name, (path, ov) in cases(tmp).items():
        s = load_scenario(path, list(ov), paths=m)
        mi = pack_market(s)
        for inj in (False, True):
            shocks = draw(s.simulation.seed, 0, m, mi.n_steps, np.arange(L.N_MARKET_STREAMS),
                          L.MARKET_STREAM_KINDS) if inj else none
            o = [np.empty((L.N_MARKET_VARS, m, mi.n_steps)) for _ in kernels]
            for mod, arr in zip(kernels.values(), o):
                call(mod, mi, m, shocks, arr)
            same = np.array_equal(o[0].view(np.int64), o[1].view(np.int64))
            if not same:
                bad += 1
                with np.errstate(all="ignore"):
                    rel = np.nanmax(np.abs(o[1] - o[0]) / np.abs(o[0]))
                print(f"  {name} ({'injected' if inj else 'generated'}): bits differ, max relative {rel:.3g}")
    print("bits: identical in every case" if bad == 0 else f"bits: {bad} cases differ")


if __name__ == "__main__":
    main()
