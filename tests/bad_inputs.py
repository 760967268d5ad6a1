"""The table of bad inputs: one case per way a user can get it wrong.

Used by ``tests/test_bad_input.py`` (each case must exit with its code, name
its key path and file:line, print no traceback and write no results file) and
by ``scripts/error_table.py``, which prints the messages into ``docs/errors.md``
so that the documentation cannot drift from what the program says.

Every case runs in an empty folder holding ``base.yaml`` (a small valid
scenario), the case's files, and then ``simulate ARGS``. ``out.nc`` is the
results file a run would write; it must not appear.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

BASE = """\
name: base
simulation:
  paths: 20
  seed: 7
  horizon_years: 0.25
  steps_per_year: 12
  start: "2026-09"
drivers:
  bitcoin: {model: gbm, s0: 60000, mu: 0.1, sigma: 0.5}
  rates: {r0: 0.036, kappa: 0.25, theta: 0.0325, sigma: 0.009}
  spread: {h0: 0.03}
  gpu: {p0: 2.5}
  demand: {g0: 0.8}
  inference: {c0: 0.002}
  power: {p0: 80}
"""

#: A good monthly price CSV for replay cases.
GOOD_CSV = "month,close\n2020-01,100\n2020-02,110\n2020-03,120\n2020-04,90\n"

RUN = ("run", "bad.yaml", "-o", "out.nc", "-q")


def _base_without(line: str) -> str:
    assert line in BASE
    return BASE.replace(line, "")


@dataclass(frozen=True)
class Case:
    """One bad input and what the user must be told."""

    id: str
    #: The mistake, in words (first column of the table in docs/errors.md).
    what: str
    #: Files written into the folder (name -> text, or bytes).
    files: dict = field(default_factory=dict)
    #: Command-line arguments after ``simulate``.
    args: tuple = RUN
    #: Key path the message must name (None: none applies, e.g. a syntax error).
    keypath: str | None = None
    #: ``file:line`` the message must name (None: no file line applies).
    where: str | None = None
    #: Further text the message must contain (valid choices, range, advice).
    says: tuple = ()
    exit_code: int = 2
    #: Environment for the run.
    env: dict = field(default_factory=dict)
    #: Which stream holds the message: "error" lines or "warning" lines.
    kind: str = "error"


def bad(text: str) -> dict:
    """``bad.yaml`` that extends the base scenario with ``text``."""
    return {"bad.yaml": "extends: base.yaml\n" + text}


def _bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


CASES: list[Case] = [
    # --- YAML itself -----------------------------------------------------------------------------
    Case("yaml-syntax", "YAML syntax error (unclosed bracket)",
         bad("drivers:\n  bitcoin: {sigma: [0.5}\n"), where="bad.yaml:3", says=("YAML error",)),
    Case("duplicate-key", "duplicate key",
         bad("probability: 0.5\nprobability: 0.6\n"), where="bad.yaml:3", says=("duplicate key",)),
    Case("float-for-int", "fractional number for a whole-number key (`paths: 1.5`)",
         bad("simulation: {paths: 1.5}\n"), keypath="simulation.paths", where="bad.yaml:2",
         says=("whole number",)),
    Case("quoted-number", "number written as text (`paths: \"100\"`)",
         bad('simulation: {paths: "100"}\n'), keypath="simulation.paths", where="bad.yaml:2",
         says=("not text",)),
    Case("yaml11-bool", "YAML 1.1 boolean (`repair: no`)",
         bad("correlation: {repair: no}\n"), keypath="correlation.repair", where="bad.yaml:2",
         says=("true or false",)),
    Case("bool-for-number", "true/false for a number",
         bad("drivers: {bitcoin: {sigma: true}}\n"), keypath="drivers.bitcoin.sigma", where="bad.yaml:2",
         says=("number",)),
    Case("date-value", "unquoted date (YAML makes it a date)",
         bad("simulation: {start: 2026-09-01}\n"), keypath="simulation.start", where="bad.yaml:2",
         says=("quoted",)),
    Case("not-a-mapping", "file is a list, not a mapping",
         {"bad.yaml": "- a\n- b\n"}, where="bad.yaml:1", says=("mapping",)),
    Case("not-utf8", "file is not UTF-8 text",
         {"bad.yaml": b"name: \xff\xfe\n"}, where="bad.yaml", says=("UTF-8",)),
    Case("file-missing", "scenario file does not exist",
         {}, args=("run", "nope.yaml", "-o", "out.nc"), where="nope.yaml", says=("not found",)),
    # --- schema ----------------------------------------------------------------------------------
    Case("unknown-key", "unknown key (typo)",
         bad("drivers:\n  bitcoin: {sigmaa: 0.5}\n"), keypath="drivers.bitcoin.sigmaa", where="bad.yaml:3",
         says=("unknown key", "did you mean 'sigma'")),
    Case("unknown-top-key", "unknown top-level key",
         bad("simulaton: {paths: 5}\n"), keypath="simulaton", where="bad.yaml:2",
         says=("did you mean 'simulation'",)),
    Case("missing-key", "required key missing (`drivers.bitcoin.s0`)",
         {"bad.yaml": BASE.replace("model: gbm, s0: 60000, ", "model: gbm, ")},
         keypath="drivers.bitcoin.s0", where="bad.yaml:9", says=("required",)),
    Case("missing-section", "required section missing (`drivers.power`)",
         {"bad.yaml": _base_without("  power: {p0: 80}\n")}, keypath="drivers.power", where="bad.yaml:8",
         says=("required",)),
    Case("wrong-type", "text where a number belongs",
         bad("drivers: {bitcoin: {sigma: high}}\n"), keypath="drivers.bitcoin.sigma", where="bad.yaml:2",
         says=("number",)),
    Case("list-for-number", "list where a number belongs",
         bad("drivers: {bitcoin: {sigma: [0.5]}}\n"), keypath="drivers.bitcoin.sigma", where="bad.yaml:2",
         says=("number",)),
    Case("scalar-for-section", "number where a section belongs",
         bad("drivers: {gpu: 5}\n"), keypath="drivers.gpu", where="bad.yaml:2", says=("mapping",)),
    Case("unknown-model", "unknown model name",
         bad("drivers: {bitcoin: {model: merton}}\n"), keypath="drivers.bitcoin.model", where="bad.yaml:2",
         says=("'gbm'", "'jump_diffusion'", "'regime'", "'replay'", "'bootstrap'")),
    Case("model-typo", "misspelt model name",
         bad("drivers: {rates: {model: vasicec}}\n"), keypath="drivers.rates.model", where="bad.yaml:2",
         says=("did you mean 'vasicek'",)),
    # --- ranges ----------------------------------------------------------------------------------
    Case("zero-vol", "zero volatility", bad("drivers: {bitcoin: {sigma: 0}}\n"),
         keypath="drivers.bitcoin.sigma", where="bad.yaml:2", says=("greater than 0",)),
    Case("negative-vol", "negative volatility", bad("drivers: {spread: {sigma: -0.2}}\n"),
         keypath="drivers.spread.sigma", where="bad.yaml:2", says=("greater than 0",)),
    Case("probability-range", "probability above 1", bad("probability: 1.5\n"),
         keypath="probability", where="bad.yaml:2", says=("less than or equal to 1",)),
    Case("share-range", "share outside [0, 1) (`gpu.generation_drop: 1.2`)",
         bad("drivers: {gpu: {generation_drop: 1.2}}\n"), keypath="drivers.gpu.generation_drop",
         where="bad.yaml:2", says=("less than 1",)),
    Case("corr-pair-range", "correlation pair outside [-1, 1]",
         bad("correlation:\n  pairs:\n    bitcoin: {spread: 1.2}\n"), keypath="correlation.pairs.bitcoin.spread",
         where="bad.yaml:4", says=("less than or equal to 1",)),
    Case("corr-matrix-range", "correlation matrix entry outside [-1, 1]",
         bad("correlation:\n  factors: [bitcoin, spread]\n  matrix: [[1, -1.5], [-1.5, 1]]\n"),
         keypath="correlation.matrix.0.1", where="bad.yaml:4", says=("greater than or equal to -1",)),
    Case("corr-not-psd", "correlation matrix not positive semi-definite",
         bad("correlation:\n  pairs:\n    bitcoin: {spread: 0.9, demand: 0.9}\n    spread: {demand: -0.9}\n"),
         keypath="correlation", where="bad.yaml:2", says=("positive semi-definite", "repair: true")),
    Case("corr-not-symmetric", "correlation matrix not symmetric",
         bad("correlation:\n  factors: [bitcoin, spread]\n  matrix: [[1, 0.2], [0.3, 1]]\n"),
         keypath="correlation.matrix", where="bad.yaml:4", says=("not symmetric",)),
    Case("zero-paths", "zero paths", bad("simulation: {paths: 0}\n"),
         keypath="simulation.paths", where="bad.yaml:2", says=("greater than 0",)),
    Case("negative-paths-cli", "negative --paths", bad(""),
         args=RUN + ("--paths", "-5"), keypath="simulation.paths", says=("--paths", "greater than 0")),
    Case("zero-horizon", "zero horizon", bad("simulation: {horizon_years: 0}\n"),
         keypath="simulation.horizon_years", where="bad.yaml:2", says=("greater than 0",)),
    Case("fractional-steps", "horizon not a whole number of steps (`--horizon 0.1`)", bad(""),
         args=RUN + ("--horizon", "0.1"), keypath="simulation.horizon_years", where="--horizon",
         says=("whole number of steps",)),
    Case("nan", "NaN value", bad("drivers: {bitcoin: {sigma: .nan}}\n"),
         keypath="drivers.bitcoin.sigma", where="bad.yaml:2", says=("finite",)),
    Case("infinity", "infinite value", bad("drivers: {bitcoin: {s0: .inf}}\n"),
         keypath="drivers.bitcoin.s0", where="bad.yaml:2", says=("finite",)),
    Case("nan-in-matrix", "NaN inside the correlation matrix",
         bad("correlation:\n  factors: [bitcoin, spread]\n  matrix: [[1, .nan], [.nan, 1]]\n"),
         keypath="correlation.matrix.0.1", where="bad.yaml:4", says=("finite",)),
    Case("cir-theta", "CIR with a negative long-run rate (refused)",
         bad("drivers: {rates: {model: cir, theta: -0.01}}\n"), keypath="drivers.rates.theta",
         where="bad.yaml:2", says=("CIR needs theta > 0",)),
    Case("cir-feller", "CIR breaking the Feller condition (warning, runs)",
         bad("drivers: {rates: {model: cir, sigma: 0.2}}\n"), args=("validate", "bad.yaml"),
         keypath="drivers.rates", where="bad.yaml:2", says=("Feller", "2*kappa*theta >= sigma^2"),
         exit_code=0, kind="warning"),
    Case("bool-for-choice", "true/false for a numeric choice (`steps_per_year: true`)",
         bad("simulation: {steps_per_year: true}\n"), keypath="simulation.steps_per_year", where="bad.yaml:2",
         says=("not true/false",)),
    Case("seed-too-big", "seed beyond 64 bits", bad(""), args=RUN + ("--seed", str(2**70)),
         keypath="simulation.seed", where="--seed", says=("less than or equal to",)),
    Case("bootstrap-steps", "bootstrap with quarterly steps",
         bad("simulation: {steps_per_year: 4}\ndrivers:\n  bitcoin: {model: bootstrap, data: {csv: prices.csv}}\n")
         | {"prices.csv": GOOD_CSV},
         keypath="drivers.bitcoin.model", where="bad.yaml:4", says=("steps_per_year: 12",)),
    # --- references ------------------------------------------------------------------------------
    Case("extends-missing", "`extends` names a missing file", {"bad.yaml": "extends: nothere.yaml\n"},
         keypath="extends", where="bad.yaml:1", says=("not found",)),
    Case("extends-cycle", "`extends` cycle",
         {"bad.yaml": "extends: other.yaml\n", "other.yaml": "extends: bad.yaml\n"},
         keypath="extends", where="other.yaml:1", says=("cycle", "bad.yaml -> other.yaml -> bad.yaml")),
    Case("replay-csv-missing", "replay CSV missing",
         bad("drivers: {bitcoin: {model: replay, data: {csv: prices.csv}}}\n"),
         keypath="drivers.bitcoin.data.csv", where="bad.yaml:2", says=("not found",)),
    Case("replay-csv-empty", "replay CSV empty",
         {**bad("drivers: {bitcoin: {model: replay, data: {csv: prices.csv}}}\n"), "prices.csv": ""},
         keypath="drivers.bitcoin.data.csv", where="bad.yaml:2", says=("no data rows",)),
    Case("replay-csv-gap", "replay CSV with a missing month",
         {**bad("drivers: {bitcoin: {model: replay, data: {csv: prices.csv}}}\n"),
          "prices.csv": "month,close\n2020-01,100\n2020-03,120\n2020-04,90\n"},
         keypath="drivers.bitcoin.data.csv", where="bad.yaml:2", says=("gap", "2020-01", "2020-03")),
    Case("replay-csv-nonpositive", "replay CSV with a non-positive price",
         {**bad("drivers: {bitcoin: {model: replay, data: {csv: prices.csv}}}\n"),
          "prices.csv": GOOD_CSV.replace("110", "-5")},
         keypath="drivers.bitcoin.data.csv", where="bad.yaml:2", says=("non-positive",)),
    Case("replay-csv-text", "replay CSV with text where a price belongs",
         {**bad("drivers: {bitcoin: {model: replay, data: {csv: prices.csv}}}\n"),
          "prices.csv": GOOD_CSV.replace("110", "n/a")},
         keypath="drivers.bitcoin.data.csv", where="bad.yaml:2", says=("row 3",)),
    Case("replay-csv-short", "replay CSV shorter than the horizon",
         {**bad("drivers: {bitcoin: {model: replay, data: {csv: prices.csv}}}\nsimulation: {horizon_years: 1}\n"),
          "prices.csv": GOOD_CSV},
         keypath="drivers.bitcoin.data.csv", where="bad.yaml:2", says=("needs 12 months",)),
    # --- hostile files ---------------------------------------------------------------------------
    Case("alias-bomb", "YAML alias bomb (billion laughs)", {"bad.yaml": _bomb()},
         where="bad.yaml:5", says=("expands to more than",)),
    Case("deep-nesting", "deeply nested document", {"bad.yaml": "a: " + "[" * 10000 + "]" * 10000 + "\n"},
         where="bad.yaml:1", says=("nesting deeper than 50",)),
    Case("python-tag", "object tag (`!!python/object/apply`)",
         bad('description: !!python/object/apply:os.system ["echo pwned"]\n'), where="bad.yaml:2",
         says=("!!python/object/apply:os.system", "not allowed")),
    Case("custom-tag", "custom tag (`!include`)", bad("description: !include other.yaml\n"),
         where="bad.yaml:2", says=("!include", "not allowed")),
    Case("huge-file", "file over 512 KiB", {"bad.yaml": "# " + "x" * (512 * 1024) + "\n"},
         where="bad.yaml", says=("limited to 524288 bytes",)),
    Case("endless-file", "endless input (`/dev/zero`)", {}, args=("run", "/dev/zero", "-o", "out.nc"),
         where="/dev/zero", says=("over 524288 bytes",)),
    Case("counterparty", "a contract counterparty that names no company",
         bad("companies:\n"
             "  lab: {archetype: ai_app, ai: {revenue0: 1.0e9}, cash: 1.0e9}\n"
             "  cloud:\n"
             "    archetype: neocloud\n"
             "    cash: 1.0e9\n"
             "    contracts:\n"
             "      - {counterparty: labb, monthly_amount: 1.0e7, start: 0, end: 12}\n"),
         keypath="companies.cloud.contracts.0.counterparty", where="bad.yaml:8",
         says=("unknown counterparty 'labb'", "lab", "external")),
    # --- resources -------------------------------------------------------------------------------
    Case("too-much-memory", "run that would not fit in memory", bad(""),
         args=RUN + ("--paths", "100000000", "--horizon", "50", "--output", "full"),
         says=("of memory", "is available", "fewer paths")),
    # --- command line ----------------------------------------------------------------------------
    Case("set-unknown-key", "`--set` with an unknown key path", bad(""),
         args=RUN + ("--set", "drivers.bitcoin.sigmaa=0.5"), keypath="drivers.bitcoin.sigmaa",
         where="--set", says=("did you mean 'sigma'",)),
    Case("set-unparsable", "`--set` with an unparsable value", bad(""),
         args=RUN + ("--set", "drivers.bitcoin.sigma=[0.5"), keypath="drivers.bitcoin.sigma", where="--set",
         says=("cannot parse value '[0.5'",)),
    Case("set-no-equals", "`--set` without `=`", bad(""), args=RUN + ("--set", "drivers.bitcoin.sigma"),
         says=("KEY.PATH=VALUE",)),
    Case("set-below-value", "`--set` below a value", bad(""), args=RUN + ("--set", "simulation.paths.x=1"),
         keypath="simulation.paths.x", where="--set", says=("simulation.paths", "not a mapping")),
    Case("set-bad-value", "`--set` with an out-of-range value", bad(""),
         args=RUN + ("--set", "drivers.bitcoin.sigma=-1"), keypath="drivers.bitcoin.sigma", where="--set",
         says=("greater than 0",)),
    # --- results files ---------------------------------------------------------------------------
    Case("output-exists", "results file exists, no `--force`", {**bad(""), "out.nc": b"previous results"},
         says=("out.nc exists", "--force")),
    Case("rerun-not-results", "`rerun` of a file that is not a results file", {"junk.nc": b"not netcdf"},
         args=("rerun", "junk.nc", "-o", "out.nc"), where="junk.nc", says=("not a results file",)),
]

def write_case(case: Case, folder: Path) -> None:
    """Write ``base.yaml`` and the case's files into ``folder``."""
    (folder / "base.yaml").write_text(BASE)
    for name, content in case.files.items():
        p = folder / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)


def run_case(case: Case, folder: Path):
    """Run the case with click's runner inside ``folder``; returns the click Result."""
    from click.testing import CliRunner

    from simulator.cli import main

    write_case(case, folder)
    old = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(main, list(case.args), env=case.env or None)
    finally:
        os.chdir(old)


def message_lines(result, kind: str = "error") -> list[str]:
    """The ``error: ...`` (or ``warning: ...``) lines a run printed on stderr."""
    return [ln for ln in result.stderr.splitlines() if ln.startswith(f"{kind}: ")]
