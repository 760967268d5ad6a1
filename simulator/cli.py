"""Command line: ``simulate SCENARIO...``, ``simulate validate``.

A thin layer: parse, call the library, print. Heavy modules are imported
inside the commands so that ``simulate --help`` stays fast. Errors a user can
fix print one line and exit 2 (traceback only with ``--verbose``).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import signal
import sys
import warnings

import click

from simulator import __version__

# At exit Python collects garbage while it tears its modules down, walking every object numba and
# the run left: 0.1-0.4 s of every command. Frozen first (at exit only), they are not walked;
# the process frees them all anyway (docs/performance.md, section 16).
atexit.register(gc.freeze)


class DefaultGroup(click.Group):
    """A group whose first argument, if not a command name, runs ``run``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["run", *args]
        elif not args:
            args = ["--help"]
        return super().parse_args(ctx, args)


def _fail(err: Exception, verbose: bool) -> None:
    """One line on stderr and the error's exit code (2 for anything the user can fix)."""
    from simulator.errors import SimulatorError

    if verbose:
        raise err
    if isinstance(err, SimulatorError):
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    text = " ".join(f"{type(err).__name__}: {err}".split())
    click.echo(f"internal error: {text} (a bug; rerun with -v for the traceback and report it)", err=True)
    sys.exit(1)


def _raise_interrupted(signum, frame):
    from simulator.errors import Interrupted

    raise Interrupted()


@contextlib.contextmanager
def _guarded():
    """Around a command: print scenario warnings as ``warning: ...`` lines, and turn
    SIGTERM into an exception so that temporary files are removed on the way out.

    Ctrl-C exits 130 and SIGTERM 143, each with one line on stderr.
    """
    from simulator.errors import Interrupted, ScenarioWarning

    old = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _raise_interrupted)
    except ValueError:  # not the main thread: leave signals alone
        old = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScenarioWarning)
            try:
                yield
            finally:
                for w in caught:
                    if issubclass(w.category, ScenarioWarning):
                        click.echo(f"warning: {w.message}", err=True)
                    else:
                        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    except KeyboardInterrupt:
        click.echo("interrupted; no partial results written", err=True)
        sys.exit(130)
    except Interrupted:
        click.echo("terminated; no partial results written", err=True)
        sys.exit(143)
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _small_pages() -> None:
    """numpy's new arrays without transparent huge pages, in this process (unless
    ``NUMPY_MADVISE_HUGEPAGE`` says otherwise).

    numpy asks the kernel for huge pages for every array of 4 MB or more. On a
    virtual machine like the one the benchmarks run on, the first touch of a
    fresh huge page cost about 4 ms per MB, small pages about 0.5; a
    10^6-path run touches some 400 MB of fresh arrays once (per-path results,
    histograms, the results file's columns), in order, where huge pages save
    nothing: whole 10^6-path runs took about 0.5 s less (of 17-20 s), with a
    third less system time (docs/performance.md, section 17). numpy reads the
    environment variable at its import only; the setting is made through
    numpy's function for it, so that no child process inherits it.
    """
    import os

    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is not None:
        setter(False)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simulate")
def main():
    """Monte Carlo stress test of AI-infrastructure balance sheets.

    \b
    simulate scenarios/avalanche.yaml            run a scenario, print the summary
    simulate validate scenarios/*.yaml           check scenario files without running
    simulate bench                               time the hot loop on this machine
    simulate rerun results/avalanche.nc --check  reproduce a results file bit for bit
    simulate run --help                          all options of a run
    """


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override any scenario key, e.g. --set drivers.bitcoin.sigma=0.7 (repeatable).")
@click.option("--paths", type=int, default=None, help="Number of paths (overrides simulation.paths).")
@click.option("--seed", type=int, default=None, help="Random seed (overrides simulation.seed).")
@click.option("--horizon", type=float, default=None, help="Horizon in years (overrides simulation.horizon_years).")
@click.option("--output", "output_mode", type=click.Choice(["summary", "full"]), default="summary",
              show_default=True, help="summary: aggregates over paths; full: every path.")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Results file (NetCDF). Default: results/<scenario>.nc")
@click.option("--force", is_flag=True, help="Overwrite an existing results file.")
@click.option("--threads", type=int, default=None, help="Numba threads (default: all cores).")
@click.option("--engine", type=click.Choice(["numba", "numpy"]), default="numba", show_default=True,
              help="numba: the fast engine; numpy: the plain-numpy reference engine (slow; memory as --output full).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or tables; errors only.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
def run(scenarios, overrides, paths, seed, horizon, output_mode, out_path, force, threads, engine, as_json, quiet,
        verbose):
    """Run SCENARIOS and write results."""
    _small_pages()
    with _guarded():
        try:
            from simulator._kernels._jit import without_optional_imports
            from simulator.api import run_files

            with without_optional_imports():
                report = run_files(
                    scenarios, overrides=overrides, paths=paths, seed=seed, horizon_years=horizon,
                    full=output_mode == "full", out_path=out_path, force=force, threads=threads,
                    quiet=quiet or as_json, engine=engine,
                )
        except Exception as err:  # noqa: BLE001 - every error becomes one line
            _fail(err, verbose)
            return
        if as_json:
            click.echo(report.to_json())
        elif not quiet:
            report.print()


@main.command()
@click.argument("results", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write the rerun (default: NAME.rerun.nc beside RESULTS).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--check", is_flag=True, help="Compare with RESULTS; exit 1 unless identical bit for bit.")
@click.option("--threads", type=int, default=None, help="Numba threads (default: all cores).")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
def rerun(results, out_path, force, check, threads, verbose):
    """Reproduce RESULTS from the scenario, seed and options stored in it."""
    _small_pages()
    with _guarded():
        try:
            from simulator._kernels._jit import without_optional_imports
            from simulator.api import rerun_file, same_data

            with without_optional_imports():
                report = rerun_file(results, out_path, force=force, threads=threads)
            (written,) = report.written.values()
            differ = same_data(results, written) if check else []
        except Exception as err:  # noqa: BLE001 - every error becomes one line
            _fail(err, verbose)
            return
    if differ:
        click.echo(f"error: {written} differs from {results} in: {', '.join(differ)}", err=True)
        sys.exit(1)
    click.echo(f"rerun of {results} written to {written}" + (" (identical bit for bit)" if check else ""))


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a key before checking.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
def validate(scenarios, overrides, verbose):
    """Check scenario files without running them."""
    from simulator.errors import SimulatorError

    bad = 0
    with _guarded():
        for path in scenarios:
            try:
                from simulator.company import pack_companies
                from simulator.drivers import pack_market
                from simulator.scenario import load_scenario

                sc = load_scenario(path, overrides)
                mi = pack_market(sc)  # packs exactly what a run would use
                pack_companies(sc)  # checks months of contracts, debt and capex plans
                click.echo(f"ok: {path} ({sc.name}, {sc.simulation.paths} paths, {sc.simulation.n_steps} steps, "
                           f"{len(sc.companies)} companies)")
                if mi.correlation.repaired:
                    click.echo(f"note: {path}: {mi.correlation.notice()}")
            except SimulatorError as err:
                if verbose:
                    raise
                click.echo(f"error: {err}", err=True)
                bad += 1
            except Exception as err:  # noqa: BLE001 - a bug, still one line
                _fail(err, verbose)
    if bad:
        sys.exit(2)


@main.command()
@click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False), default="scenarios/avalanche.yaml",
              show_default=True, help="Scenario to time.")
@click.option("--paths", type=int, default=20_000, show_default=True, help="Paths per timed run.")
@click.option("--repeats", type=int, default=5, show_default=True, help="Interleaved rounds; medians are reported.")
@click.option("--no-whole-run", is_flag=True, help="Skip timing the whole run as a child process.")
@click.option("--whole-run-paths", type=click.IntRange(min=1), default=None,
              help="Paths of the whole-run row (default: --paths); the RNG floor is also timed at that size.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
def bench(scenario_file, paths, repeats, no_whole_run, whole_run_paths, verbose):
    """Time the hot loop on this machine; print throughput and ratios as a table."""
    _small_pages()
    try:
        from simulator.bench import format_table, measure

        result = measure(scenario_file, paths=paths, repeats=repeats, whole_run=not no_whole_run,
                         progress=lambda msg: click.echo(msg, err=True) if verbose else None,
                         whole_run_paths=whole_run_paths)
    except Exception as err:  # noqa: BLE001 - every error becomes one line
        _fail(err, verbose)
        return
    click.echo(format_table(result))


if __name__ == "__main__":  # pragma: no cover
    main()
