"""Generate docs/scenario-reference.md from the pydantic scenario schema.

Every key of every model reachable from :class:`simulator.scenario.schema.Scenario`:
its type, default, range constraints and description; one section per nested
model, in the order they are first reached. ``tests/test_scenario_resolution.py``
checks that the committed file equals :func:`render`'s output.
Run from the project root: ``python scripts/make_reference.py``.
"""

from __future__ import annotations

import inspect
import sys
import typing
from pathlib import Path

import annotated_types as at
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's simulator, not an installed one
DST = ROOT / "docs" / "scenario-reference.md"

_SCALARS = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _anchor(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def _type(ann, found: list) -> str:
    """Readable type of an annotation; nested models are collected in ``found``."""
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        if ann not in found:
            found.append(ann)
        return f"[{ann.__name__}](#{_anchor(ann)})"
    if ann in _SCALARS:
        return _SCALARS[ann]
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [_type(a, found) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is tuple:
        return "list of " + _type(args[0], found) if args else "list"
    if origin is dict:
        return f"mapping of {_type(args[0], found)} to {_type(args[1], found)}"
    return getattr(ann, "__name__", str(ann))


def _value(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, BaseModel):
        return "all defaults"
    if v == "":
        return '""'
    return str(v)


def _default(field) -> str:
    if field.default_factory is not None:
        return f"`{_value(field.default_factory())}`"
    if field.default is PydanticUndefined:
        return "**required**"
    return f"`{_value(field.default)}`"


def _range(field) -> str:
    ops = {at.Gt: ("gt", ">"), at.Ge: ("ge", ">="), at.Lt: ("lt", "<"), at.Le: ("le", "<=")}
    out = []
    for m in field.metadata:
        for cls, (attr, sym) in ops.items():
            if isinstance(m, cls):
                out.append(f"{sym} {_value(getattr(m, attr))}")
    return ", ".join(out)


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _uses(root: type[BaseModel]) -> dict:
    """Model -> key paths where it appears (``<name>`` for mapping keys)."""
    uses: dict = {root: ["(top level)"]}
    stack = [(root, "")]
    while stack:
        model, prefix = stack.pop(0)
        for key, field in model.model_fields.items():
            path = f"{prefix}{key}"
            for sub, suffix in _models_in(field.annotation):
                full = path + suffix
                if full not in uses.setdefault(sub, []):
                    uses[sub].append(full)
                    stack.append((sub, full + "."))
    return uses


def _models_in(ann, suffix=""):
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [(ann, suffix)]
    out = []
    origin = typing.get_origin(ann)
    for i, a in enumerate(typing.get_args(ann)):
        if origin is dict and i == 0:
            continue
        out += _models_in(a, suffix + (".<name>" if origin is dict else ""))
    return out


def _depth_first(model: type[BaseModel], order: list) -> list:
    """Models in the order a reader meets them: each followed by its nested models."""
    order.append(model)
    for field in model.model_fields.values():
        for sub, _ in _models_in(field.annotation):
            if sub not in order:
                _depth_first(sub, order)
    return order


def _describe(field) -> str:
    """The field's description, else the first line of its model's docstring."""
    if field.description:
        return field.description
    models = _models_in(field.annotation)
    if models and models[0][0].__doc__:
        return inspect.cleandoc(models[0][0].__doc__).splitlines()[0]
    return ""


def render() -> str:
    """The reference as markdown."""
    from simulator.scenario.schema import Scenario

    lines = [
        "# Scenario file reference",
        "",
        "Generated from `simulator/scenario/schema.py` by `python scripts/make_reference.py`; do not edit by hand.",
        "",
        "Units: rates, spreads, growth and volatilities are decimals per year (0.05 = 5 %/yr; volatilities per",
        "sqrt(year)); prices are USD. Unknown keys are errors. A file may `extends:` another file (or a list of",
        "files, later ones winning) and any key can be overridden with `--set key.path=value`.",
        "",
    ]
    uses = _uses(Scenario)
    for model in _depth_first(Scenario, []):
        lines += [f"## {model.__name__}", ""]
        where = ", ".join(f"`{u}`" if u != "(top level)" else u for u in uses.get(model, []))
        lines += [f"Key path: {where}." if where else "", ""]
        doc = inspect.cleandoc(model.__doc__ or "")
        if doc:
            lines += [doc, ""]
        lines += ["| key | type | default | range | description |", "|---|---|---|---|---|"]
        for key, field in model.model_fields.items():
            lines.append(f"| `{key}` | {_cell(_type(field.annotation, []))} | {_cell(_default(field))} | "
                         f"{_cell(_range(field))} | {_cell(_describe(field))} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    DST.parent.mkdir(parents=True, exist_ok=True)
    DST.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
