"""The base of every scenario model: frozen, closed, finite, and strict about
what a number or a true/false is.

pydantic's lax mode would quietly read ``"100"`` as 100, ``true`` as 1.0 and
the text ``"no"`` as ``False``. In a scenario those are nearly always
mistakes (a quoted number, a YAML 1.1 habit), so fields declared as numbers
refuse text and booleans, and fields declared as booleans accept only
``true``/``false``. A float with no fractional part is a valid integer
(``paths: 1e5`` is 100000); ``paths: 1.5`` is an error.
"""

from __future__ import annotations

import typing
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


def _scalar_kind(annotation: Any) -> type | None:
    """``int``, ``float`` or ``bool`` if the field holds that scalar (possibly Optional), else None."""
    if annotation in (int, float, bool):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is Union or str(origin) == "<class 'types.UnionType'>":
        kinds = {_scalar_kind(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    if origin is typing.Annotated:
        return _scalar_kind(typing.get_args(annotation)[0])
    if origin is typing.Literal:  # Literal[1, 2, 3]: True == 1 must not pass
        kinds = {type(a) for a in typing.get_args(annotation)}
        return kinds.pop() if kinds in ({int}, {float}) else None
    return None


def check_scalar(kind: type | None, value: Any) -> Any:
    """Refuse text or booleans for numbers, and anything but true/false for booleans."""
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError("must be true or false (YAML 1.2 reads yes/no/on/off as text)")
    elif kind in (int, float):
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        if isinstance(value, str):
            raise ValueError("must be a number, not text; write it without quotes")
    return value


class Frozen(BaseModel):
    """Base: immutable, unknown keys rejected, numbers finite and never read from text."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name) if info.field_name else None
        return check_scalar(_scalar_kind(field.annotation) if field else None, value)
