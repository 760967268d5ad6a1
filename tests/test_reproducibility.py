"""Same scenario and seed: bit-identical results whatever the thread count,
the chunking of paths, or the number of paths (MODEL.md section 9).

Numba fixes its thread pool size at first use, so the thread-count test runs
each count in its own process (``NUMBA_NUM_THREADS``) and compares the arrays
they save; within one process ``numba.set_num_threads`` is checked as well.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from simulator._kernels import layout as L
from simulator.engine import run_market
from simulator.rng import draw
from simulator.scenario import load_scenario
from tests.conftest import ROOT, SCENARIOS, SHIPPED

N = 1300  # more than two blocks of simulator._kernels.blocks.BLOCK_PATHS


def bits(a):
    return np.ascontiguousarray(a).view(np.uint64)


@pytest.fixture(scope="module")
def avalanche():
    return load_scenario(SCENARIOS / "avalanche.yaml", paths=N)


_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import numba
    from simulator._kernels import layout as L
    from simulator.engine import run_market
    from simulator.rng import draw
    from simulator.scenario import load_scenario
    assert numba.get_num_threads() == int(sys.argv[2]), numba.get_num_threads()
    sc = load_scenario(sys.argv[3], paths={n})
    np.save(sys.argv[1] + "-market.npy", run_market(sc))
    np.save(sys.argv[1] + "-draws.npy",
            draw(sc.simulation.seed, 5, {n}, sc.simulation.n_steps, np.arange(L.N_MARKET_STREAMS), L.MARKET_STREAM_KINDS))
""").format(n=N)


@pytest.mark.parametrize("scenario_file", [SCENARIOS / "avalanche.yaml", SCENARIOS / "big-get-bigger.yaml"],
                         ids=lambda p: p.stem)
def test_thread_counts_give_identical_bits(tmp_path, scenario_file):
    saved = {}
    for threads in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
        prefix = str(tmp_path / f"t{threads}")
        res = subprocess.run([sys.executable, "-c", _CHILD, prefix, str(threads), str(scenario_file)],
                             cwd=ROOT, env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        saved[threads] = (np.load(prefix + "-market.npy"), np.load(prefix + "-draws.npy"))
    for a, b in zip(saved[1], saved[2]):
        assert a.shape == b.shape
        np.testing.assert_array_equal(bits(a), bits(b))


def test_set_num_threads_in_process(avalanche):
    import numba

    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run_market(avalanche)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = run_market(avalanche)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(bits(one), bits(many))


@pytest.mark.parametrize("cuts", [(1,), (7, 8), (100, 101, 250, 777), tuple(range(1, N, 3))],
                         ids=["1", "7-8", "100-777", "every-3rd-path"])
def test_chunkings_give_identical_bits(avalanche, cuts):
    from simulator.drivers import pack_market

    inputs = pack_market(avalanche)
    whole = run_market(avalanche, inputs=inputs)
    edges = (0, *cuts, N)
    parts = [run_market(avalanche, path0=a, n_paths=b - a, inputs=inputs) for a, b in zip(edges, edges[1:])]
    np.testing.assert_array_equal(bits(np.concatenate(parts, axis=1)), bits(whole))


@pytest.mark.parametrize("scenario_file", SHIPPED, ids=lambda p: p.stem)
def test_prefix_of_a_larger_run(scenario_file):
    """The first n paths of an N-path run are the n-path run."""
    small = run_market(load_scenario(scenario_file, paths=37))
    large = run_market(load_scenario(scenario_file, paths=N))
    np.testing.assert_array_equal(bits(large[:, :37]), bits(small))


def test_draws_do_not_depend_on_the_block_drawn(avalanche):
    n_steps = avalanche.simulation.n_steps
    streams = np.arange(L.N_MARKET_STREAMS)
    whole = draw(11, 0, 50, n_steps, streams, L.MARKET_STREAM_KINDS)
    part = draw(11, 20, 10, n_steps, streams, L.MARKET_STREAM_KINDS)
    np.testing.assert_array_equal(bits(part), bits(whole[20:30]))
    # a single stream drawn alone equals the same stream drawn with the others
    alone = draw(11, 0, 50, n_steps, [L.S_DEMAND_AUX], [L.NORMAL])
    np.testing.assert_array_equal(bits(alone[:, :, 0]), bits(whole[:, :, L.S_DEMAND_AUX]))


def test_the_check_can_fail(avalanche):
    """A different seed or path offset does change the bits."""
    whole = run_market(avalanche)
    shifted = run_market(avalanche, path0=1, n_paths=N)
    assert not np.array_equal(bits(shifted[:, :-1]), bits(whole[:, :-1]))
    np.testing.assert_array_equal(bits(shifted[:, :-1]), bits(whole[:, 1:]))


@pytest.mark.parametrize("block", [1, 7, 64])
def test_blocks_and_threads_of_the_pool(avalanche, block):
    """Any block size on 1 or 3 threads fills the same bits."""
    from simulator._kernels.blocks import run_blocks
    from simulator._kernels.market import simulate_market_block
    from simulator.drivers import pack_market

    mi = pack_market(avalanche)
    n = 150
    outs = []
    for threads, size in ((1, n), (3, block)):
        out = np.full((L.N_MARKET_VARS, n, mi.n_steps), np.nan)
        run_blocks(simulate_market_block, n, (mi.k0, mi.k1, 0, mi.n_steps, mi.dt, mi.months_per_step, mi.chol,
                                              mi.params, mi.models, mi.btc_series, mi.rate_series,
                                              np.zeros((0, 0, 0)), out), threads=threads, block=size)
        outs.append(out)
    assert np.isfinite(outs[1]).all()
    np.testing.assert_array_equal(bits(outs[0]), bits(outs[1]))


def test_a_failing_block_raises_after_every_block_has_ended():
    """The pool is kept between calls; an error in one block is raised once all blocks are done."""
    import threading
    import time

    from simulator._kernels.blocks import run_blocks

    done = []
    lock = threading.Lock()

    def block(a, b):
        if a == 0:
            raise ValueError("block 0")
        time.sleep(0.05)
        with lock:
            done.append(a)

    with pytest.raises(ValueError, match="block 0"):
        run_blocks(block, 40, (), threads=3, block=10)
    assert sorted(done) == [10, 20, 30]
    done.clear()
    run_blocks(lambda a, b: block(a + 100, b), 40, (), threads=3, block=10)  # the kept pool runs on
    assert sorted(done) == [100, 110, 120, 130]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_jobs_run_every_block_of_every_job(threads):
    """run_jobs runs each job's blocks over exactly its range (a job of no paths runs nothing); on
    a pool it raises a block's error only once every block of every job has ended (on one thread
    the jobs run in the calling thread, and the error stops them there)."""
    import threading

    from simulator._kernels.blocks import run_jobs

    seen = {"a": [], "b": [], "c": []}
    lock = threading.Lock()

    def job(name):
        def block(p0, p1, scale):
            with lock:
                seen[name].extend(range(p0 * scale, p1 * scale, scale))
        return block

    run_jobs([(job("a"), 25, (1,), 4), (job("b"), 7, (10,), 1), (job("c"), 0, (1,), 4)], threads=threads)
    assert sorted(seen["a"]) == list(range(25))
    assert sorted(seen["b"]) == list(range(0, 70, 10))
    assert seen["c"] == []

    def failing(p0, p1):
        if p0 == 0:
            raise ValueError("first job")

    with pytest.raises(ValueError, match="first job"):
        run_jobs([(failing, 8, (), 4), (job("c"), 6, (1,), 2)], threads=threads)
    assert sorted(seen["c"]) == ([] if threads == 1 else list(range(6)))
