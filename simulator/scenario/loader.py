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
from pathlib import Path
from typing import Any, Iterable

from simulator.errors import ScenarioError

Sources = dict  # keypath tuple -> (file, line or None)

MAX_EXTENDS_DEPTH = 16


def _yaml():
    from ruamel.yaml import YAML

    y = YAML(typ="rt", pure=True)
    y.allow_duplicate_keys = False
    return y


def _plain(node: Any, file: str, prefix: tuple, sources: Sources) -> Any:
    """ruamel round-trip nodes -> plain Python, recording key lines."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        out = {}
        for k, v in node.items():
            if not isinstance(k, str):
                raise ScenarioError(f"key {k!r} must be a string", file, node.lc.line + 1, ".".join(prefix) or None)
            try:
                line = node.lc.key(k)[0] + 1
            except Exception:  # pragma: no cover - ruamel always records keys it parsed
                line = None
            sources[prefix + (k,)] = (file, line)
            out[k] = _plain(v, file, prefix + (k,), sources)
        return out
    if isinstance(node, CommentedSeq):
        return [_plain(v, file, prefix + (str(i),), sources) for i, v in enumerate(node)]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    raise ScenarioError(f"unsupported YAML value {node!r}", file, None, ".".join(prefix) or None)


def read_yaml(path: Path) -> tuple[dict, Sources]:
    """One YAML file -> (mapping, key sources)."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", file) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"cannot read file: {e}", file) from None
    try:
        doc = _yaml().load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(x) for x in (e.context, e.problem) if x)
        raise ScenarioError(f"YAML error: {problem}".strip(), file, line) from None
    except YAMLError as e:
        raise ScenarioError(f"YAML error: {e}", file) from None
    if doc is None:
        doc = {}
    sources: Sources = {}
    data = _plain(doc, file, (), sources)
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a mapping of keys to values", file, 1)
    return data, sources


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
        raise ScenarioError(f"`extends` forms a cycle: {chain}", str(seen[-1]))
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"`extends` chain deeper than {MAX_EXTENDS_DEPTH} files", str(path))
    data, sources = read_yaml(path)
    parents = data.pop("extends", None)
    if parents is None:
        return data, sources
    where = sources.get(("extends",), (str(path), None))
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
        base, base_sources = _read_chain(parent_path, seen + (path,))
        base.pop("name", None)  # a scenario is named by its own file unless it says otherwise
        merged = _merge(merged, base)
        merged_sources.update(base_sources)
    merged_sources.update(sources)
    return _merge(merged, data), merged_sources


def parse_override(item: str) -> tuple[tuple[str, ...], Any]:
    """``'a.b.c=value'`` -> (('a','b','c'), value); the value is read as YAML."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if "=" not in item:
        raise ScenarioError(f"--set {item!r}: expected KEY.PATH=VALUE")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"--set {item!r}: empty key path")
    try:
        value = YAML(typ="safe", pure=True).load(raw) if raw.strip() else None
    except YAMLError as e:
        raise ScenarioError(f"--set {item!r}: cannot parse value: {str(e).splitlines()[0]}", keypath=key) from None
    if raw.strip() == "":
        raise ScenarioError(f"--set {item!r}: missing value", keypath=key)
    return tuple(key.split(".")), value


def _apply(data: dict, keys: tuple[str, ...], value: Any, sources: Sources, origin: str) -> None:
    node = data
    for i, k in enumerate(keys[:-1]):
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        if not isinstance(nxt, dict):
            raise ScenarioError(f"cannot set below {'.'.join(keys[:i + 1])}: it is a value, not a mapping",
                                origin, None, ".".join(keys))
        node = nxt
    node[keys[-1]] = value
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


def validate(data: dict, sources: Sources, fallback_file: str):
    """Plain mapping -> frozen :class:`Scenario`, or :class:`ScenarioError`."""
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
        keypath = ".".join(loc) or None
        file, line = _locate(loc, sources, fallback_file)
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _did_you_mean(loc[-1], _fields_at(loc[:-1]))
            valid = _fields_at(loc[:-1])
            if valid and "did you mean" not in msg:
                msg += f" (valid keys: {', '.join(valid)})"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            if "input" in err and err["type"] not in ("model_type", "dict_type") and not isinstance(err["input"], dict):
                msg += f" (got {err['input']!r})"
        more = len(e.errors()) - 1
        if more:
            msg += f" [+{more} more problem{'s' if more > 1 else ''}]"
        raise ScenarioError(msg, file, line, keypath) from None


def load_scenario(path: str | os.PathLike, overrides: Iterable[str] = (), **run: Any):
    """Load, resolve and validate a scenario file; see :func:`resolve_dict`."""
    data, sources = resolve_dict(path, overrides, **run)
    scenario = validate(data, sources, str(path))
    from simulator.scenario.correlation import correlation_matrix

    correlation_matrix(scenario.correlation, source=str(path))  # fail early on a bad matrix
    return scenario


def scenario_sha256(scenario) -> str:
    """SHA-256 of the fully resolved scenario as canonical JSON."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
