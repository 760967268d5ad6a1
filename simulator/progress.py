"""Progress of a long run: a bar on a terminal, silence everywhere else.

The chunked engine loop calls it like this::

    with progress_bar(total=n_paths, description="avalanche", quiet=quiet) as advance:
        for path0 in range(0, n_paths, chunk):
            ...simulate and reduce one chunk...
            advance(n)

The bar goes to standard error and only when that is a terminal and ``quiet``
is false; otherwise ``advance`` does nothing (no output in pipes, files, CI
logs or with ``--quiet``). ``rich`` is imported only when a bar is shown.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO


def _noop(n: int = 1) -> None:
    return None


def wants_bar(stream: TextIO | None = None, quiet: bool = False) -> bool:
    """True when a bar should be drawn on ``stream`` (default: standard error)."""
    if quiet:
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def progress_bar(total: int, description: str = "paths", quiet: bool = False,
                 stream: TextIO | None = None) -> Iterator[Callable[[int], None]]:
    """Context manager yielding ``advance(n)``: ``n`` more units (paths) are done.

    Parameters
    ----------
    total : int
        Units in the whole run (paths, or paths x scenarios).
    description : str
        Label in front of the bar (the scenario name).
    quiet : bool
        Never draw (``--quiet``).
    stream : text stream, optional
        Where to draw; standard error by default. A bar is drawn only if it is
        a terminal.
    """
    if not wants_bar(stream, quiet):
        yield _noop
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=sys.stderr if stream is None else stream, force_terminal=True)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=console, transient=True)
    with bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance
