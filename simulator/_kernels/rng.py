"""Counter-based random numbers: every variate is a pure function of
``(key, path, stream, step)``.

Why counter-based
-----------------
A draw never depends on which thread made it, how paths were chunked, or how
many paths the run has: path ``p`` of a 10-path run equals path ``p`` of a
million-path run, bit for bit. Streams that a model does not use are simply
not evaluated, so switching a driver's model does not shift any other stream
(common random numbers across scenarios).

Construction
------------
``key = (k0, k1)`` are two 64-bit words derived from the user's seed with
``numpy.random.SeedSequence`` (see :mod:`simulator.rng`). For each path and
stream a 64-bit *base* is made by chaining the SplitMix64 finaliser
(Stafford's mix13, a bijection of 64-bit words with full avalanche):

    base = mix(mix(mix(k0 ^ path) + stream * G3) ^ k1)

and the ``a``-th 64-bit word of step ``t`` on that stream is

    bits = mix(base + mix((t << 8 | a) + K))

The counter hash ``mix((t << 8 | a) + K)`` (:func:`step_key`) does not depend
on the stream, so kernels that draw many streams at one step compute it once
per step and pay one ``mix`` per variate (:func:`normal_at`,
:func:`uniform_at`); the numbers are the same as :func:`word` gives.

``a`` counts words consumed inside one variate (ziggurat rejections), so each
``(path, stream, step)`` yields exactly one variate. Paths up to 2**64,
streams up to 2**64 / G3, steps up to 2**56.

Normals use the 256-layer ziggurat of Marsaglia and Tsang (2000) with 52-bit
mantissas, the same construction as NumPy's ``standard_normal``; uniforms are
the top 53 bits scaled to [0, 1). The ziggurat's fast path (about 98.8 % of
draws: one word, two table reads, no branch on the sign) is small and inlined;
the rejections run out of line in :func:`_normal_slow`.
"""

import math

import numpy as np

from simulator._kernels._jit import jit, jit_inline
from simulator._kernels.blocks import run_blocks
from simulator._kernels.fexp import as_bits, exp, from_bits
from simulator._kernels.prefetch import prefetch_all


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G3 = np.uint64(0x9E3779B97F4A7C15)
_K = np.uint64(0xD1B54A32D192ED03)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S8 = np.uint64(8)
_S11 = np.uint64(11)
_S12 = np.uint64(12)
_S63 = np.uint64(63)
_MASK8 = np.uint64(0xFF)
_ONE = np.uint64(1)
_MANT = np.uint64(0x000FFFFFFFFFFFFF)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

#: Kind codes for streams: what one variate of the stream is.
NORMAL = 0
UNIFORM = 1


def _ziggurat_tables():
    """Tables for the 256-layer normal ziggurat (Marsaglia & Tsang 2000).

    Returns ``ki`` (uint64 acceptance thresholds), ``wi`` (layer widths / 2**52)
    and ``fi`` (density at layer edges), as in NumPy's ziggurat_constants.h.
    """
    m = float(2**52)
    dn = 3.6541528853610088
    tn = dn
    vn = 0.00492867323399
    ki = np.zeros(256, dtype=np.uint64)
    wi = np.zeros(256)
    fi = np.zeros(256)
    q = vn / math.exp(-0.5 * dn * dn)
    ki[0] = np.uint64(int((dn / q) * m))
    ki[1] = np.uint64(0)
    wi[0] = q / m
    wi[255] = dn / m
    fi[0] = 1.0
    fi[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = np.uint64(int((dn / tn) * m))
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m
    return ki, wi, fi


_KI, _WI, _FI = _ziggurat_tables()
_ZIG_R = 3.6541528853610088
_ZIG_INV_R = 1.0 / _ZIG_R


@jit_inline
def mix64(z):
    """SplitMix64 finaliser (Stafford mix13): a bijection of uint64."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit_inline
def stream_base(k0, k1, path, stream):
    """64-bit base of one (path, stream); ``k0, k1, path, stream`` are uint64."""
    return mix64(mix64(mix64(k0 ^ path) + stream * _G3) ^ k1)


@jit_inline
def step_key(step, attempt):
    """Counter hash ``mix((step << 8 | attempt) + K)``: the same for every stream.

    Kernels that draw many streams at one step compute it once per step
    (:func:`normal_at`, :func:`uniform_at`); the variates do not change.
    """
    c = (np.uint64(step) << _S8) | np.uint64(attempt)
    return mix64(c + _K)


@jit_inline
def word(base, step, attempt):
    """The ``attempt``-th uint64 of ``step`` on the stream with ``base``."""
    return mix64(base + step_key(step, attempt))


@jit_inline
def _to_unit(w):
    # top 53 bits -> [0, 1); the shifted word fits in int64, whose conversion
    # to float is one instruction (uint64 -> float is not).
    return float(np.int64(w >> _S11)) * _TO_UNIT


@jit_inline
def uniform_at(base, skey):
    """Uniform on [0, 1) given ``skey = step_key(step, 0)``."""
    return _to_unit(mix64(base + skey))


@jit_inline
def _unit(base, step, attempt):
    return _to_unit(word(base, step, attempt))


@jit
def _normal_slow(base, step, r):
    """The ziggurat after the first word ``r`` (attempt 0) missed the fast box.

    Out of line on purpose (about 1.2 % of draws come here): keeps the inlined
    fast path small, which is what makes the hot loops fast and quick to compile.
    """
    a = 1
    while True:
        idx = r & _MASK8
        r = r >> _S8
        neg = (r & _ONE) == _ONE
        rabs = (r >> _ONE) & _MANT
        x = float(np.int64(rabs)) * _WI[idx]
        if neg:
            x = -x
        if rabs < _KI[idx]:
            return x
        if idx == 0:
            # Tail beyond R: Marsaglia's exponential rejection.
            while True:
                xx = -_ZIG_INV_R * math.log1p(-_unit(base, step, a))
                yy = -math.log1p(-_unit(base, step, a + 1))
                a += 2
                if yy + yy > xx * xx:
                    if ((rabs >> _S8) & _ONE) == _ONE:
                        return -(_ZIG_R + xx)
                    return _ZIG_R + xx
        else:
            f0 = _FI[idx - 1]
            f1 = _FI[idx]
            u = _unit(base, step, a)
            a += 1
            if (f0 - f1) * u + f1 < exp(-0.5 * x * x):  # (fexp.exp: math.exp's bits, inlined)
                return x
        r = word(base, step, a)
        a += 1


@jit_inline
def normal_at(base, step, skey):
    """Standard normal for ``step`` of a stream, given ``skey = step_key(step, 0)``.

    Fast path of the 256-layer ziggurat (Marsaglia & Tsang 2000), branch-free
    sign; the rare rejections go to :func:`_normal_slow`.
    """
    r = mix64(base + skey)
    idx = r & _MASK8
    s = r >> _S8
    rabs = (s >> _ONE) & _MANT
    # the sign from bit 8 of the word into the sign bit: the bits of x * (1 - 2 (s & 1)), without
    # the conversion, subtraction and multiplication
    x = from_bits(as_bits(float(np.int64(rabs)) * _WI[idx]) ^ ((s & _ONE) << _S63))
    # Both sides < 2**52: a signed compare is exact and measured faster here.
    if np.int64(rabs) < np.int64(_KI[idx]):
        return x
    return _normal_slow(base, step, r)


@jit_inline
def prefetch_ziggurat():
    """Bring the fast path's tables (4 KB) into the cache at once, before a run of draws in which
    they would otherwise miss one line at a time (a hint: no draw changes)."""
    prefetch_all(_KI)
    prefetch_all(_WI)


@jit_inline
def variate_at(base, step, skey, kind):
    """One variate of ``kind`` (NORMAL or UNIFORM), given ``skey = step_key(step, 0)``."""
    if kind == NORMAL:
        return normal_at(base, step, skey)
    return uniform_at(base, skey)


@jit
def draw_streams_block(p_begin, p_end, k0, k1, path0, n_steps, streams, kinds, out):
    """Rows ``p_begin .. p_end - 1`` of :func:`draw_streams` (serial, releases the GIL)."""
    n_streams = streams.shape[0]
    bases = np.empty(n_streams, dtype=np.uint64)
    for p in range(p_begin, p_end):
        gp = np.uint64(path0 + p)
        for j in range(n_streams):
            bases[j] = stream_base(k0, k1, gp, np.uint64(streams[j]))
        for t in range(n_steps):
            skey = step_key(t, 0)
            for j in range(n_streams):
                out[p, t, j] = variate_at(bases[j], t, skey, kinds[j])


def draw_streams(k0, k1, path0, n_steps, streams, kinds, out):
    """Materialise variates: ``out[p, t, j]`` = variate of stream ``streams[j]``
    (kind ``kinds[j]``) at step ``t`` on path ``path0 + p``.

    Used to inject identical shocks into the numba and numpy engines, and by
    the tests of the generator itself. Blocks of paths run on numba's thread
    count (:mod:`simulator._kernels.blocks`); the values do not depend on it.

    Parameters
    ----------
    k0, k1 : uint64
        Key words from :func:`simulator.rng.key_from_seed`.
    path0 : int
        Global index of the first path.
    n_steps : int
    streams, kinds : int64[n_streams]
    out : float64[n_paths, n_steps, n_streams]
        Filled in place.
    """
    run_blocks(draw_streams_block, out.shape[0], (k0, k1, path0, n_steps, streams, kinds, out))
