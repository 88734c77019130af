"""mitchellh/mapstructure v1.5.1's Decode, as daprd uses it on a transaction operation's
``request`` (an ``any`` from encoding/json) to fill state.SetRequest / DeleteRequest: its rules
(field names matched case-insensitively against the Go field name, no weak typing, unknown keys
ignored) and its texts (``1 error(s) decoding:\n\n* 'Key' expected type 'string', got
unconvertible type 'float64', value: '123'``), with Go's ``%v`` for the value.
"""

from __future__ import annotations

import decimal
from typing import Any

from localdapr.gojson.decode import GoType, zero
from localdapr.gojson.scanner import GoJSONError


def go_value_text(value: Any) -> str:
    """Go's ``fmt`` ``%v`` for what ``encoding/json`` puts in an ``any`` (mapstructure's messages)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    if isinstance(value, list):
        return "[" + " ".join(go_value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value_text(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _go_float(f: float) -> str:
    """Go's ``%v`` of a float64: strconv 'g' with the shortest digits, which switches to the
    exponent form when the exponent is < -4 or >= 6 (``1.23456789e+08``, ``1e+20``, ``123``)."""
    if f == 0:
        return "0"
    sign, digits, exponent = decimal.Decimal(repr(f)).normalize().as_tuple()
    ds = "".join(map(str, digits))
    dp = len(ds) + int(exponent)
    exp = dp - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{prefix}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{prefix}0.{'0' * -dp}{ds}"
    if dp >= len(ds):
        return prefix + ds + "0" * (dp - len(ds))
    return f"{prefix}{ds[:dp]}.{ds[dp:]}"


def _go_type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def _go_kind_of(value: Any) -> str:
    return {"[]interface {}": "slice", "map[string]interface {}": "map"}.get(_go_type_of(value), _go_type_of(value))


def mapstructure_decode(value: Any, target: GoType) -> dict[str, Any]:
    """``mapstructure.Decode(value, &target)`` for a struct of strings, string pointers, string
    maps, ``any`` and nested structs (daprd's state.SetRequest / DeleteRequest)."""
    if value is None:
        return zero(target)
    if not isinstance(value, dict):
        raise GoJSONError(f"'' expected a map, got '{_go_kind_of(value)}'")
    errors: list[str] = []
    out = _ms_struct("", value, target, errors)
    if errors:
        points = sorted(f"* {e}" for e in errors)
        raise GoJSONError(f"{len(errors)} error(s) decoding:\n\n" + "\n".join(points))
    return out


def _ms_struct(name: str, value: dict[str, Any], target: GoType, errors: list[str]) -> dict[str, Any]:
    out = zero(target)
    for _json_name, go_name, ftype in target.fields:
        if go_name in value:
            item = value[go_name]
        else:
            key = next((k for k in value if k.lower() == go_name.lower()), None)
            if key is None:
                continue
            item = value[key]
        fname = f"{name}.{go_name}" if name else go_name
        out[go_name] = _ms_value(fname, item, ftype, errors, out[go_name])
    return out


def _ms_value(name: str, item: Any, target: GoType, errors: list[str], current: Any) -> Any:
    if item is None:
        return current
    kind = target.kind
    if kind == "any":
        return item
    if kind == "ptr":
        assert target.elem is not None
        return _ms_value(name, item, target.elem, errors, "")
    if kind == "string":
        if isinstance(item, str):
            return item
        errors.append(f"'{name}' expected type 'string', got unconvertible type '{_go_type_of(item)}', value: '{go_value_text(item)}'")
        return current
    if kind == "map":
        if not isinstance(item, dict):
            errors.append(f"'{name}' expected a map, got '{_go_kind_of(item)}'")
            return current
        assert target.elem is not None
        return {k: _ms_value(f"{name}[{k}]", v, target.elem, errors, "") for k, v in sorted(item.items())}
    if kind == "struct":
        if not isinstance(item, dict):
            errors.append(f"'{name}' expected a map, got '{_go_kind_of(item)}'")
            return current
        return _ms_struct(name, item, target, errors)
    raise AssertionError(f"mapstructure target kind {kind} not modelled")
