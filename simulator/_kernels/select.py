"""``select(cond, a, b)``: ``a if cond else b`` as one LLVM ``select``, for the lane loops.

Why not the conditional expression: numba turns every ``a if c else b``
into three basic blocks and a phi node, which its SSA and type inference
passes and then LLVM (to turn them back into a select) pay for, block by
block. The company kernel's lane loops (:mod:`simulator._kernels.company`)
have hundreds of them: written as a conditional expression they doubled
its cold compile. Both ``a`` and ``b`` are evaluated (they are plain values
here), and the result is that of the conditional expression bit for bit:
the same value of the unified type.
"""

from numba.core import types
from numba.extending import intrinsic


@intrinsic
def select(typingctx, cond, a, b):
    """``a`` if ``cond`` else ``b`` (both evaluated), in the unified type of ``a`` and ``b``."""
    ty = typingctx.unify_types(a, b)
    if ty is None:
        return None
    sig = ty(cond, a, b)

    def codegen(context, builder, signature, args):
        c = context.cast(builder, args[0], signature.args[0], types.boolean)
        x = context.cast(builder, args[1], signature.args[1], ty)
        y = context.cast(builder, args[2], signature.args[2], ty)
        return builder.select(c, x, y)

    return sig, codegen
