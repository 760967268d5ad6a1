"""User-facing errors: one line, naming file, line and key path; exit code 2."""

from __future__ import annotations


class SimulatorError(Exception):
    """An error the user can fix. The CLI prints ``str(err)`` and exits with
    :attr:`exit_code`, without a traceback (unless ``--verbose``)."""

    exit_code = 2


class ScenarioError(SimulatorError):
    """A scenario file or override that cannot be used.

    Parameters
    ----------
    message : str
        What is wrong and, where possible, what would be valid.
    file, line : where the offending key was written (line is 1-based).
    keypath : dotted key path, e.g. ``drivers.bitcoin.sigma``.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 keypath: str | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.keypath = keypath
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        key = f"{self.keypath}: " if self.keypath else ""
        return " ".join(f"{where}{key}{self.message}".split())  # always one line


class ScenarioWarning(UserWarning):
    """A setting that is allowed but doubtful; printed as ``warning: file:line: key: message``."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 keypath: str | None = None):
        self.where = ScenarioError(message, file, line, keypath)
        super().__init__(str(self.where))


class OutputError(SimulatorError):
    """A results file that cannot be written or read."""


class ResourceError(SimulatorError):
    """A run that would not fit (memory); refused before it starts."""


class Interrupted(BaseException):
    """Raised by the SIGTERM handler of a run so that temporary files are
    removed on the way out (like :class:`KeyboardInterrupt` for Ctrl-C)."""
