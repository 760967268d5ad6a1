"""Cache hints for the kernels: fetch a small table's lines before a loop reads them.

A lane group's buffers (about 1.3 MB at 32 lanes) are larger than a core's
L2 cache, so a small table read at random (``exp``'s 2 KB, the ziggurat's
4 KB) is often gone from L1 and L2 by the next path, and the core then
finds its lines one miss at a time. :func:`prefetch_all` asks for every line
of such a table at once, before the loop that reads it
(``docs/performance.md``, section 19). A prefetch is a hint: it changes no
value, only when a line arrives.
"""

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from simulator._kernels._jit import jit_inline


@intrinsic
def prefetch(typingctx, ary, i):
    """Ask the CPU to bring the cache line of ``ary[i]`` (a 1-d array) into its caches
    (``llvm.prefetch``, a read, kept in every level): a hint, no value changes."""
    if not isinstance(ary, types.Array) or ary.ndim != 1 or not isinstance(i, types.Integer):
        return None
    sig = types.void(ary, i)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], a, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p],
                                              ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@jit_inline
def prefetch_all(ary):
    """:func:`prefetch` every 64-byte cache line of the 1-d array ``ary``, all at once: a small
    table whose lines another loop evicted then arrives in parallel, not one miss at a time."""
    for i in range(0, ary.shape[0], max(1, 64 // ary.itemsize)):
        prefetch(ary, i)
