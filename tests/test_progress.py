"""The progress bar draws on a terminal only, and never with quiet."""

import io

from simulator.progress import progress_bar, wants_bar


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def run(stream, quiet=False):
    with progress_bar(total=10, description="avalanche", quiet=quiet, stream=stream) as advance:
        for _ in range(10):
            advance(1)
    return stream.getvalue()


def test_silent_when_not_a_terminal():
    stream = io.StringIO()
    assert not wants_bar(stream)
    assert run(stream) == ""


def test_silent_when_quiet_even_on_a_terminal():
    stream = FakeTerminal()
    assert not wants_bar(stream, quiet=True)
    assert run(stream, quiet=True) == ""


def test_draws_on_a_terminal():
    stream = FakeTerminal()
    assert wants_bar(stream)
    out = run(stream)
    assert "avalanche" in out and "10/10" in out
