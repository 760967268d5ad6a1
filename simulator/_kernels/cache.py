"""numba's on-disk cache of the kernels, kept fresh when any kernel module changes.

numba decides whether a cached function is stale from its own source file only
(a hash of the file's contents). A kernel also compiles in constants and
helpers of other modules: a layout constant such as ``company_layout.N_PFLT``
changed in its own file, while the cached ``summary_block`` in ``summary.py``
still allocated the old width, and wrote past the end of a new, narrower
array (glibc then aborted with ``free(): invalid pointer``). Every kernel lives
in this package and imports only from it, so the stamp of every kernel here is
its file's hash and the hash of the whole package: a change to any kernel
module recompiles them all, wherever the cache is (``NUMBA_CACHE_DIR``, the
source tree's ``__pycache__``, or numba's user-wide folder).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from numba.core import caching

#: The folder of the kernel modules.
PACKAGE = Path(__file__).resolve().parent
#: numba's cache machinery, whose list of locator classes is searched in order (``CacheImpl``
#: in numba 0.68, ``_CacheImpl`` in older releases).
_IMPL = getattr(caching, "CacheImpl", None) or caching._CacheImpl


@functools.lru_cache(maxsize=None)
def sources_digest(folder: Path = PACKAGE) -> str:
    """SHA-256 of the names and contents of every ``.py`` file in ``folder``, in name order."""
    h = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


class KernelSourcesLocator:
    """A numba cache locator for the functions of this package: where numba's own locators would
    put the cache, with a source stamp that also holds :func:`sources_digest`. Other functions are
    left to numba (``from_function`` returns None for them)."""

    def __init__(self, inner):
        self._inner = inner

    @classmethod
    def from_function(cls, py_func, py_file):
        try:
            inside = Path(py_file).resolve().parent == PACKAGE
        except OSError:
            return None
        if not inside:
            return None
        for locator_class in _IMPL._locator_classes:
            if locator_class is cls:
                continue
            inner = locator_class.from_function(py_func, py_file)
            if inner is not None:
                return cls(inner)
        return None

    def get_source_stamp(self):
        return self._inner.get_source_stamp(), sources_digest()

    def __getattr__(self, name):  # ensure_cache_path, get_cache_path, get_disambiguator, ...
        return getattr(self._inner, name)


def install() -> None:
    """Put :class:`KernelSourcesLocator` first among numba's cache locators (once)."""
    classes = _IMPL._locator_classes
    if KernelSourcesLocator not in classes:
        classes.insert(0, KernelSourcesLocator)
