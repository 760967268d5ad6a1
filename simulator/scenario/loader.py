"""Read scenario YAML, resolve ``extends`` and overrides, validate.

Resolution order (later wins): the ``extends`` chain from the root base down
to the named file, then ``--set key.path=value`` overrides in the order given,
then ``--paths/--seed/--horizon``. Mappings merge key by key; lists and scalars
are replaced whole. Every key remembers the file and line that set it, so a
validation error points at the line to fix.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

from simulator.errors import ScenarioError
from simulator.scenario.safe_yaml import Sources, display_path, read_yaml

MAX_EXTENDS_DEPTH = 16


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_chain(path: Path, seen: tuple[Path, ...]) -> tuple[dict, Sources]:
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(str(p) for p in seen + (path,))
        raise ScenarioError(f"`extends` forms a cycle: {chain}", display_path(seen[-1]))
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"`extends` chain deeper than {MAX_EXTENDS_DEPTH} files", display_path(path))
    data, sources = read_yaml(path)
    parents = data.pop("extends", None)
    if parents is None:
        return data, sources
    where = sources.get(("extends",), (display_path(path), None))
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ScenarioError("`extends` must be a file name or a list of file names", *where, "extends")
    merged: dict = {}
    merged_sources: Sources = {}
    for parent in parents:  # later files override earlier ones, the file itself overrides all
        parent_path = path.parent / parent
        if not parent_path.is_file():
            raise ScenarioError(f"extended file {parent!r} not found (looked at {parent_path})", *where, "extends")
        if parent_path.resolve() in seen + (path,):
            chain = " -> ".join(display_path(p) for p in seen + (path, parent_path.resolve()))
            raise ScenarioError(f"`extends` forms a cycle: {chain}", *where, "extends")
        base, base_sources = _read_chain(parent_path, seen + (path,))
        base.pop("name", None)  # a scenario is named by its own file unless it says otherwise
        merged = _merge(merged, base)
        merged_sources.update(base_sources)
    merged_sources.update(sources)
    return _merge(merged, data), merged_sources


def parse_override(item: str) -> tuple[tuple[str, ...], Any]:
    """``'a.b.c=value'`` -> (('a','b','c'), value); the value is read as YAML,
    with the same limits and rules as a scenario file."""
    from ruamel.yaml.error import YAMLError

    from simulator.scenario.safe_yaml import parse_value

    if "=" not in item:
        raise ScenarioError(f"--set {item!r}: expected KEY.PATH=VALUE")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key or any(not part.strip() for part in key.split(".")):
        raise ScenarioError(f"--set {item!r}: empty key path")
    if raw.strip() == "":
        raise ScenarioError("missing value after '='", "--set", None, key)
    try:
        value = parse_value(raw, "--set", tuple(key.split(".")))
    except YAMLError as e:
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ScenarioError(f"cannot parse value {raw!r}: {problem}", "--set", None, key) from None
    return tuple(part.strip() for part in key.split(".")), value


def _apply(data: dict, keys: tuple[str, ...], value: Any, sources: Sources, origin: str) -> None:
    """Set ``keys`` (a dotted path; list items by index, e.g. ``contracts.0.end``) to ``value``."""
    node: Any = data
    for i, k in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not k.isdigit() or int(k) >= len(node):
                raise ScenarioError(
                    f"{'.'.join(keys[:i])} is a list of {len(node)} item(s): index it with 0..{len(node) - 1}",
                    origin, None, ".".join(keys))
            k = int(k)
        elif not isinstance(node, dict):
            raise ScenarioError(f"cannot set below {'.'.join(keys[:i])}: it is a value, not a mapping",
                                origin, None, ".".join(keys))
        elif not last and node.get(k) is None:
            node[k] = {}
            sources[keys[:i + 1]] = (origin, None)
        if last:
            node[k] = value
        else:
            node = node[k]
    sources[keys] = (origin, None)


def _resolve_paths(data: dict, sources: Sources, prefix: tuple = ()) -> None:
    """Make ``data.csv`` paths absolute, relative to the file that named them."""
    for k, v in data.items():
        if isinstance(v, dict):
            _resolve_paths(v, sources, prefix + (k,))
        elif k == "csv" and isinstance(v, str) and not os.path.isabs(v):
            origin = sources.get(prefix + (k,), (None, None))[0]
            base = Path(origin).parent if origin and origin != "--set" else Path.cwd()
            data[k] = str((base / v).resolve())


def resolve_dict(path: str | os.PathLike, overrides: Iterable[str] = (), **run: Any) -> tuple[dict, Sources]:
    """Resolve a scenario file to a plain mapping (not yet validated).

    ``run`` may hold ``paths``, ``seed``, ``horizon_years`` (None = keep).
    """
    path = Path(path)
    data, sources = _read_chain(path, ())
    data.setdefault("name", path.stem)
    for item in overrides:
        keys, value = parse_override(item)
        _apply(data, keys, value, sources, "--set")
    for k, v in run.items():
        if v is not None:
            _apply(data, ("simulation", k), v, sources, f"--{k.split('_')[0]}")
    _resolve_paths(data, sources)
    return data, sources


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _fields_at(loc: tuple) -> list[str]:
    """Valid field names of the schema model at key path ``loc``."""
    from simulator.scenario import schema

    import typing

    model: Any = schema.Scenario
    container = False  # the previous part named a dict or a list field: this part is a key or an index
    for part in loc:
        if model is None:
            return []
        fields = getattr(model, "model_fields", None)
        if fields is None:
            return []
        if container:
            container = False  # dict key (companies.<name>) or list index (debt.0): stay on the item model
        elif part in fields:
            ann = fields[part].annotation
            model = _model_in(ann)
            origin = typing.get_origin(ann)
            container = origin in (dict, list, tuple) or any(
                typing.get_origin(a) in (dict, list, tuple) for a in typing.get_args(ann))
        else:
            model = None
    return list(getattr(model, "model_fields", {}) or [])


def _model_in(ann: Any):
    import typing

    from pydantic import BaseModel

    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in typing.get_args(ann):
        m = _model_in(a)
        if m is not None:
            return m
    return None


def _locate(loc: tuple, sources: Sources, fallback: str) -> tuple[str, int | None]:
    for i in range(len(loc), 0, -1):
        if loc[:i] in sources:
            return sources[loc[:i]]
    return fallback, None


_PLAIN_MESSAGES = {
    "model_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "finite_number": "must be a finite number (no .nan or .inf)",
    "string_type": "must be text",
}


def _message(err: dict) -> str:
    """One pydantic error -> a short message with the valid choices or range."""
    kind = err["type"]
    msg = _PLAIN_MESSAGES.get(kind, err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        choices = [c.strip(" '") for c in expected.replace(" or ", ", ").split(",")]
        msg = f"must be one of {expected}"
        if isinstance(err.get("input"), str):
            if err["input"] in choices:
                msg += "; write it without quotes"
            else:
                msg += _did_you_mean(err["input"], choices)
    inp = err.get("input")
    if "input" in err and kind not in ("model_type", "dict_type", "missing") and not isinstance(inp, dict):
        text = repr(inp)
        msg += f" (got {text if len(text) <= 60 else text[:57] + '...'})"
    return msg


def _refine(loc: tuple, err: dict, sources: Sources, root: str) -> tuple:
    """A check across several keys of one section (e.g. horizon x steps) is reported
    at a key it names, preferring the one set last: the command line, then the
    named file, then the files it extends."""
    if err["type"] != "value_error":
        return loc
    named = [f for f in _fields_at(loc) if re.search(rf"\b{re.escape(f)}\b", err["msg"]) and loc + (f,) in sources]
    if not named:
        return loc
    origin = {f: str(sources[loc + (f,)][0]) for f in named}
    cli = [f for f in named if origin[f].startswith("--")]
    mine = [f for f in named if origin[f] == display_path(Path(root))]
    return loc + ((cli or mine or named)[0],)


def validate(data: dict, sources: Sources, fallback_file: str):
    """Plain mapping -> frozen :class:`Scenario`, or :class:`ScenarioError`.

    The first problem is reported (with a count of the others), located at the
    file and line that set the key, or the nearest enclosing key.
    """
    from pydantic import ValidationError

    from simulator.scenario.schema import Scenario

    try:
        return Scenario.model_validate(data)
    except ScenarioError as e:  # raised by whole-scenario checks (e.g. counterparties), located here
        if e.file is None and e.keypath:
            file, line = _locate(tuple(e.keypath.split(".")), sources, fallback_file)
            raise ScenarioError(e.message, file, line, e.keypath) from None
        raise
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        loc = _refine(loc, err, sources, fallback_file)
        keypath = ".".join(loc) or None
        file, line = _locate(loc, sources, fallback_file)
        if err["type"] == "extra_forbidden":
            valid = _fields_at(loc[:-1])
            msg = "unknown key" + _did_you_mean(loc[-1], valid)
            if valid and "did you mean" not in msg:
                msg += f" (valid keys: {', '.join(valid)})"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = _message(err)
        more = len(e.errors()) - 1
        if more:
            msg += f" [+{more} more problem{'s' if more > 1 else ''}]"
        raise ScenarioError(msg, file, line, keypath) from None


def _check_references(scenario) -> None:
    """Read the data files a scenario names (replay, bootstrap) and check them now,
    so that a bad CSV stops the run before anything is simulated."""
    from simulator.series import monthly_log_returns, replay_path

    sim, d = scenario.simulation, scenario.drivers
    if d.bitcoin.model == "replay":
        replay_path(d.bitcoin.data, sim.n_steps, sim.months_per_step, "drivers.bitcoin.data", positive=True)
    elif d.bitcoin.model == "bootstrap":
        if sim.months_per_step != 1:
            raise ScenarioError("bootstrap resamples monthly returns and needs simulation.steps_per_year: 12",
                                keypath="drivers.bitcoin.model")
        monthly_log_returns(d.bitcoin.data, "drivers.bitcoin.data")
    if d.rates.model == "replay":
        replay_path(d.rates.data, sim.n_steps, sim.months_per_step, "drivers.rates.data", positive=False)


def _advise(scenario, sources: Sources, fallback: str) -> None:
    """Warnings for allowed but doubtful settings (:class:`ScenarioWarning`)."""
    import warnings

    from simulator.errors import ScenarioWarning

    problem = scenario.drivers.rates.feller_problem()
    if problem:
        file, line = _locate(("drivers", "rates", "sigma"), sources, fallback)
        warnings.warn(ScenarioWarning(problem, file, line, "drivers.rates"), stacklevel=3)


def load_scenario(path: str | os.PathLike, overrides: Iterable[str] = (), **run: Any):
    """Load, resolve and validate a scenario file; see :func:`resolve_dict`.

    Also checks the correlation matrix and the data files the scenario names,
    and warns (:class:`~simulator.errors.ScenarioWarning`) about allowed but
    doubtful settings (a CIR rate that breaks the Feller condition).

    Raises
    ------
    ScenarioError
        Anything that would stop the run, located at file:line and key path.
    """
    from simulator.scenario.correlation import correlation_matrix

    data, sources = resolve_dict(path, overrides, **run)
    scenario = validate(data, sources, str(path))
    try:
        correlation_matrix(scenario.correlation)  # fail early on a bad matrix
        _check_references(scenario)
    except ScenarioError as e:
        if e.file is None and e.keypath:
            e.file, e.line = _locate(tuple(e.keypath.split(".")), sources, str(path))
        raise
    _advise(scenario, sources, str(path))
    return scenario


def scenario_from_json(text: str, origin: str):
    """The resolved scenario stored in a results file -> :class:`Scenario`."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise ScenarioError("stored scenario is not valid JSON", origin) from None
    if not isinstance(data, dict):
        raise ScenarioError("stored scenario is not a mapping", origin)
    return validate(data, {}, origin)


def scenario_sha256(scenario) -> str:
    """SHA-256 of the fully resolved scenario as canonical JSON."""
    # key order is kept, not sorted: the order of companies decides which random streams each draws
    text = json.dumps(scenario.model_dump(mode="json"), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
