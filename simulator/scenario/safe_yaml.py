"""Read one YAML document safely: limits checked as it is parsed, then plain values with key lines.

A scenario file is small and plain, so anything else is refused with a
:class:`~simulator.errors.ScenarioError` naming the file and line, before the
document is built:

- files larger than :data:`MAX_BYTES`;
- flow nesting (``[[[...`` / ``{{{...``) or block nesting deeper than
  :data:`MAX_DEPTH` (ruamel's scanner is quadratic in flow depth, so this is
  checked on the raw text first);
- more than :data:`MAX_ALIASES` aliases (``*name``), or a document that would
  expand through aliases to more than :data:`MAX_NODES` values ("billion
  laughs"): the expanded size is computed from the event stream, nothing is
  expanded;
- any explicit tag other than the core ones (``!!str``, ``!!int``, ``!!float``,
  ``!!bool``, ``!!null``, ``!!map``, ``!!seq``): no Python objects, no
  ``!!binary``, no custom ``!tags``;
- duplicate keys (PyYAML would silently keep the last one);
- values that YAML turns into something other than text, numbers, booleans,
  null, lists and mappings (e.g. an unquoted date ``2026-09-01``).

Documents are read as YAML 1.2 (ruamel): ``no``/``on``/``yes``/``off`` are text,
``1e5`` is a number. The schema decides what such values mean.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from simulator.errors import ScenarioError

#: Largest scenario file read, bytes.
MAX_BYTES = 512 * 1024
#: Deepest nesting of mappings and lists.
MAX_DEPTH = 50
#: Most aliases (``*name``) in one file.
MAX_ALIASES = 100
#: Most values (scalars, mappings, lists) after expanding aliases.
MAX_NODES = 20_000

CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")
)

Sources = dict  # keypath tuple -> (file, line or None)

_BRACKETS = re.compile(r"[\[\]{}\n]")


def _yaml(limits: "_Limits | None" = None):
    """A YAML 1.2 round-trip reader; with ``limits``, every parser event is checked
    against them as the document is composed (one pass over the text)."""
    from ruamel.yaml import YAML

    y = YAML(typ="rt", pure=True)
    y.allow_duplicate_keys = False
    if limits is not None:
        y.Parser = _checked_parser_class()
        y.limits = limits
    return y


@functools.lru_cache(maxsize=None)
def _checked_parser_class():
    """ruamel's round-trip parser, checking each event it hands out (``loader.limits``).

    ruamel's composer takes every event through ``get_event``, so the limits see
    the whole document, in order, before anything is constructed from it."""
    from ruamel.yaml.parser import RoundTripParser

    class CheckedParser(RoundTripParser):
        def get_event(self):
            ev = super().get_event()
            if ev is not None:
                self.loader.limits.see(ev)
            return ev

    return CheckedParser


def _check_flow_depth(text: str, file: str) -> None:
    """Refuse more than MAX_DEPTH open brackets (an upper bound of flow depth)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth, line = 0, 1
    for m in _BRACKETS.finditer(text):
        c = m.group()
        if c == "\n":
            line += 1
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ScenarioError(f"nesting deeper than {MAX_DEPTH} levels; refused", file, line)
        else:
            depth = max(0, depth - 1)


class _Limits:
    """The limits and tag rules, checked event by event; raises ScenarioError.

    The expanded size of every anchored value is recorded when it ends, so an
    alias adds the size of what it names without expanding it.
    """

    def __init__(self, file: str):
        self.file = file
        self.sizes: dict[str, int] = {}
        self.stack: list[list] = []  # [anchor, expanded size] of open collections
        self.total = self.aliases = 0

    def _add(self, n: int, line: int | None) -> None:
        self.total += n
        if self.stack:
            self.stack[-1][1] += n
        if self.total > MAX_NODES:
            raise ScenarioError(
                f"document expands to more than {MAX_NODES} values (aliases repeat anchored values); refused",
                self.file, line)

    def see(self, ev) -> None:
        from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent

        file = self.file
        line = ev.start_mark.line + 1 if ev.start_mark is not None else None
        tag = getattr(ev, "tag", None)
        if tag is not None and str(tag) not in CORE_TAGS:
            shown = str(tag).replace("tag:yaml.org,2002:", "!!")
            raise ScenarioError(
                f"YAML tag {shown} is not allowed; a scenario holds only plain text, numbers, true/false, lists "
                "and mappings", file, line)
        if isinstance(ev, CollectionStartEvent):
            if len(self.stack) > MAX_DEPTH:  # the top-level collection is level 0
                raise ScenarioError(f"nesting deeper than {MAX_DEPTH} levels; refused", file, line)
            self.stack.append([ev.anchor, 0])
            self._add(1, line)
        elif isinstance(ev, CollectionEndEvent):
            anchor, size = self.stack.pop()
            if anchor is not None:
                self.sizes[anchor] = size + 1
        elif isinstance(ev, ScalarEvent):
            self._add(1, line)
            if ev.anchor is not None:
                self.sizes[ev.anchor] = 1
        elif isinstance(ev, AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise ScenarioError(f"more than {MAX_ALIASES} aliases (*name); refused", file, line)
            self._add(self.sizes.get(ev.anchor, 1), line)


def load_checked(text: str, file: str) -> Any:
    """Parse a document (ruamel round-trip objects), checking the limits and tags on
    every event as it is composed, before anything is constructed; one pass over
    the text (reading a scenario chain twice cost about 40 % more)."""
    _check_flow_depth(text, file)
    return _yaml(_Limits(file)).load(text)


def _plain(node: Any, file: str, prefix: tuple, line: int | None, sources: Sources) -> Any:
    """ruamel round-trip nodes -> plain Python, recording key lines."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    keypath = ".".join(prefix) or None
    if isinstance(node, CommentedMap):
        out = {}
        for k, v in node.items():
            try:
                kline = node.lc.key(k)[0] + 1
            except Exception:  # merged (<<) keys carry no line of their own
                kline = line
            if not isinstance(k, str):
                raise ScenarioError(f"key {k!r} must be text", file, kline, keypath)
            sources[prefix + (k,)] = (file, kline)
            out[k] = _plain(v, file, prefix + (k,), kline, sources)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, v in enumerate(node):
            try:
                iline = node.lc.item(i)[0] + 1
            except Exception:  # pragma: no cover - ruamel records items it parsed
                iline = line
            out_list.append(_plain(v, file, prefix + (str(i),), iline, sources))
        return out_list
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    import datetime

    if isinstance(node, (datetime.date, datetime.datetime)):
        raise ScenarioError(f"YAML reads {node} as a date; write months as quoted text, e.g. \"2026-09\"",
                            file, line, keypath)
    raise ScenarioError(f"unsupported YAML value of type {type(node).__name__}", file, line, keypath)


def display_path(path: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def parse_value(raw: str, origin: str, keypath: tuple) -> Any:
    """One YAML value given on the command line (``--set``) -> plain Python,
    under the same limits and rules as a file. Raises ruamel's ``YAMLError``
    on a syntax error and :class:`ScenarioError` on anything refused."""
    return _plain(load_checked(raw, origin), origin, keypath, None, {})


def read_yaml(path: Path) -> tuple[dict, Sources]:
    """One YAML file -> (mapping, key sources ``{keypath: (file, line)}``).

    Raises
    ------
    ScenarioError
        Missing or unreadable file, syntax error, duplicate key, a limit or a
        forbidden construct (see the module docstring), or a top level that is
        not a mapping.
    """
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    file = display_path(path)
    try:
        with path.open("rb") as fh:  # read at most the limit, whatever stat says (/dev/zero, pipes)
            raw = fh.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            size = path.stat().st_size
            told = f"{size} bytes" if size > MAX_BYTES else f"over {MAX_BYTES} bytes"
            raise ScenarioError(f"file is {told}; scenario files are limited to {MAX_BYTES} bytes", file)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", file) from None
    except UnicodeDecodeError:
        raise ScenarioError("file is not UTF-8 text", file) from None
    except OSError as e:
        raise ScenarioError(f"cannot read file: {e.strerror or e}", file) from None
    try:
        doc = load_checked(text, file)
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
    data = _plain(doc, file, (), 1, sources)
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a mapping of keys to values", file, 1)
    return data, sources
