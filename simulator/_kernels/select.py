"""What the company kernel's lane loops need from LLVM that numba does not say: selects, plain
(not masked) stores, and constant row strides.

:func:`select` is ``a if cond else b`` as one LLVM ``select``. Why not the conditional expression: numba turns every ``a if c else b``
into three basic blocks and a phi node, which its SSA and type inference
passes and then LLVM (to turn them back into a select) pay for, block by
block. The company kernel's lane loops (:mod:`simulator._kernels.company`)
have hundreds of them: written as a conditional expression they doubled
its cold compile. Both ``a`` and ``b`` are evaluated (they are plain values
here), and the result is that of the conditional expression bit for bit:
the same value of the unified type. :func:`update` is the select to use for
a value stored back where one of its arms was loaded from.

:func:`trailing1` and :func:`trailing2` re-declare the last dimensions of an
array argument as the compile-time constants they are, so that LLVM sees
the fixed distance between two rows a lane loop touches (and vectorises it).
"""

from numba.core import types
from numba.extending import intrinsic


def _select(typingctx, cond, a, b, freeze_b: bool):
    """Typing and code of :func:`select` and :func:`update`: ``a`` if ``cond`` else ``b`` in their
    unified type, ``b`` passed through LLVM's ``freeze`` first if ``freeze_b``."""
    ty = typingctx.unify_types(a, b)
    if ty is None:
        return None
    sig = ty(cond, a, b)

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        c = context.cast(builder, args[0], signature.args[0], types.boolean)
        x = context.cast(builder, args[1], signature.args[1], ty)
        y = context.cast(builder, args[2], signature.args[2], ty)
        if freeze_b:
            y = ir.Instruction(builder.block, y.type, "freeze", [y])  # llvmlite has no freeze builder
            builder._insert(y)
        return builder.select(c, x, y)

    return sig, codegen


@intrinsic
def select(typingctx, cond, a, b):
    """``a`` if ``cond`` else ``b`` (both evaluated), in the unified type of ``a`` and ``b``."""
    return _select(typingctx, cond, a, b, False)


@intrinsic
def update(typingctx, cond, new, old):
    """``new`` if ``cond`` else ``old``, like :func:`select`, for a value stored back where ``old``
    was loaded from: ``a[i] = update(c, v, a[i])``.

    With :func:`select`, LLVM turns such a store into a masked store (``vmaskmovpd``: it stores
    only the lanes where ``c`` holds), which is slow on this CPU and keeps later loads of the same
    element waiting; measured at about a quarter of the company step's operations part.
    ``update`` passes ``old`` through LLVM's ``freeze`` first, the identity on every value here,
    after which LLVM no longer sees that the store writes back a value it loaded, and stores all
    lanes. The result is the same bits as :func:`select`'s.
    """
    return _select(typingctx, cond, new, old, True)


def _with_trailing(typingctx, arr, dims):
    """Typing and code of :func:`trailing1` / :func:`trailing2`: ``arr`` (C-contiguous) with its last
    ``len(dims)`` dimensions declared as the literal integers ``dims``."""
    from numba.core.types import Array, IntegerLiteral
    from numba.np.arrayobj import make_array, populate_array

    k = len(dims)
    if not (isinstance(arr, Array) and arr.layout == "C" and arr.ndim > k
            and all(isinstance(d, IntegerLiteral) for d in dims)):
        return None
    tail = [d.literal_value for d in dims]
    sig = arr(arr, *dims)

    def codegen(context, builder, signature, args):
        src = make_array(arr)(context, builder, args[0])
        out = make_array(arr)(context, builder)
        intp = context.get_value_type(types.intp)
        item = context.get_abi_sizeof(context.get_data_type(arr.dtype))
        lead = arr.ndim - k
        shape = [builder.extract_value(src.shape, i) for i in range(lead)] + [intp(d) for d in tail]
        strides = [None] * arr.ndim
        step = intp(item)
        for i in range(arr.ndim - 1, -1, -1):  # C order: each stride the product of the dimensions after it
            strides[i] = step
            step = builder.mul(step, shape[i]) if i < lead else intp(step.constant * tail[i - lead])
        # no meminfo: the view holds no reference (no atomic reference counting where it is made and
        # dropped); it must not outlive ``arr`` (it is only made of a function's argument, here)
        null = context.get_constant_null(types.MemInfoPointer(arr.dtype))
        populate_array(out, data=src.data, shape=shape, strides=strides, itemsize=src.itemsize,
                       meminfo=null, parent=None)
        return out._getvalue()

    return sig, codegen


@intrinsic
def borrow(typingctx, arr):
    """``arr`` as a view that holds no reference (no meminfo): for an array argument of a kernel
    called in the hot loop, rebound at its top (``a = borrow(a)``).

    numba counts a reference to each array argument when the function starts and drops it when the
    function returns: two atomic operations per array and call, which numba's reference-count
    pruning does not remove from a function of many blocks. Rebound at once, the argument's count
    and drop fall in the first block, where numba prunes them, and the view counts nothing.
    Measured: the company step's three parts made 30 such operations per call (3 calls per step
    and 16 paths, as it was then), some 3 % of a summary run (``docs/performance.md`` section 14).
    The view must not outlive ``arr``, which holds for a function's own argument.
    """
    from numba.core.types import Array
    from numba.np.arrayobj import make_array

    if not isinstance(arr, Array):
        return None
    sig = arr(arr)

    def codegen(context, builder, signature, args):
        view = make_array(arr)(context, builder, args[0])
        view.meminfo = context.get_constant_null(types.MemInfoPointer(arr.dtype))
        view.parent = context.get_constant_null(types.pyobject)
        return view._getvalue()

    return sig, codegen


@intrinsic
def trailing1(typingctx, arr, d1):
    """A view of ``arr`` (C-contiguous) whose last dimension is the literal ``d1`` (which it must be:
    not checked). Its strides are then compile-time constants, so in a loop over the last axis LLVM
    sees that two rows of the array are a fixed distance apart, which it cannot prove from strides
    passed in at run time (and then does not vectorise the loop)."""
    return _with_trailing(typingctx, arr, (d1,))


@intrinsic
def trailing2(typingctx, arr, d1, d2):
    """:func:`trailing1` with the last two dimensions the literals ``d1``, ``d2``."""
    return _with_trailing(typingctx, arr, (d1, d2))
