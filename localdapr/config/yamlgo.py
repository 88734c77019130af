"""Read a YAML document the way ``gopkg.in/yaml.v3`` decodes it into a Go struct.

daprd loads a Configuration file with ``yaml.Unmarshal(bytes, &config.Configuration{})``, so
what it accepts and the errors it prints are yaml.v3's: plain scalars resolved by YAML 1.2 rules
(``yes`` is a string, but a ``bool`` field takes it), a value of the wrong shape collected as
``line N: cannot unmarshal !!str `abc` into []config.SecretsScope``, all of them reported
together after ``yaml: unmarshal errors:``; unknown keys ignored; a duplicate key refused.
The syntax errors are PyYAML's problem text in yaml.v3's shape ``yaml: line N: ...`` (listed
in DIFFERENCES.md: libyaml words some problems differently).
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STR_TAG = "tag:yaml.org,2002:str"
_SHORT = {"str", "int", "float", "bool", "null", "map", "seq", "binary", "timestamp", "merge"}
_INT = re.compile(r"^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_TRUE_11 = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"}
_FALSE_11 = {"n", "N", "no", "No", "NO", "off", "Off", "OFF"}
_BOUNDS = {"int": 63, "int32": 31, "int64": 63}


class YamlGoError(Exception):
    """The text daprd prints after ``error loading configuration: ``."""


class _PlainLoader(yaml.SafeLoader):
    """No implicit resolvers: every plain scalar stays a string, resolved below as yaml.v3 does."""

    yaml_implicit_resolvers: dict = {}


def _libyaml_problem(exc: yaml.YAMLError) -> str:
    """libyaml's wording for the problems PyYAML words differently (the common ones)."""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None) or ""
    if problem.startswith("expected ',' or '}'"):
        return "did not find expected ',' or '}'"
    if problem.startswith("expected ',' or ']'"):
        return "did not find expected ',' or ']'"
    if problem.startswith("expected <block end>"):
        return "did not find expected '-' indicator" if "block collection" in context and "mapping" not in context else "did not find expected key"
    if problem.startswith("found character") and problem.endswith("that cannot start any token"):
        return "found character that cannot start any token"
    if problem.startswith("mapping values are not allowed here"):
        return "mapping values are not allowed in this context"
    return problem


def _syntax_error(exc: yaml.YAMLError) -> YamlGoError:
    """yaml.v3's ``parser.fail``: ``yaml: line N: <problem>`` where N is libyaml's 0-based
    context line (else problem line), plus one for a scanner error."""
    scanner = isinstance(exc, yaml.scanner.ScannerError)
    line = 0
    for mark in (getattr(exc, "context_mark", None), getattr(exc, "problem_mark", None)):
        if mark is not None and mark.line != 0:
            line = mark.line + (1 if scanner else 0)
            break
    where = f"line {line}: " if line else ""
    return YamlGoError(f"yaml: {where}{_libyaml_problem(exc)}")


def compose(text: str) -> Node | None:
    """The first document's node tree (yaml.v3's Unmarshal reads only the first document)."""
    try:
        for node in yaml.compose_all(text, Loader=_PlainLoader):
            return node
    except yaml.YAMLError as exc:
        raise _syntax_error(exc) from None
    return None


def resolve(node: ScalarNode) -> tuple[str, Any]:
    """(short tag, value) of a scalar, by yaml.v3's resolver (YAML 1.2 core schema)."""
    if node.tag != STR_TAG:  # an explicit tag
        return "!!" + node.tag.rsplit(":", 1)[-1] if node.tag.startswith("tag:yaml.org,2002:") else node.tag, node.value
    if node.style:  # quoted or block scalar
        return "!!str", node.value
    text = node.value
    if text in ("", "~", "null", "Null", "NULL"):
        return "!!null", None
    if text in ("true", "True", "TRUE"):
        return "!!bool", True
    if text in ("false", "False", "FALSE"):
        return "!!bool", False
    if _INT.match(text):
        plain = text.replace("_", "")
        sign = -1 if plain.startswith("-") else 1
        digits = plain.lstrip("+-")
        try:
            if digits.startswith("0o"):
                return "!!int", sign * int(digits[2:], 8)
            if len(digits) > 1 and digits[0] == "0" and digits[1] not in "bx":
                return "!!int", sign * int(digits, 8)  # Go's base-0 ParseInt: a leading 0 is octal
            return "!!int", sign * int(digits, 0)
        except ValueError:
            pass
    if _FLOAT.match(text):
        return "!!float", float(text.replace("_", ""))
    if text.lower() in (".inf", "+.inf", "-.inf", ".nan"):
        return "!!float", float(text.lower().replace(".", ""))
    return "!!str", text


def _type_name(typ: tuple) -> str:
    kind = typ[0]
    if kind in ("str", "int", "float"):
        return typ[1] if len(typ) > 1 else kind
    if kind == "bool":
        return "bool"
    if kind == "duration":
        return "time.Duration"
    if kind == "slice":
        return "[]" + _type_name(typ[1])
    if kind in ("map", "struct"):
        return typ[2] if kind == "map" else typ[1]
    return "interface {}"


def _terror(node: Node, tag: str, typ: tuple) -> str:
    value = ""
    if tag not in ("!!seq", "!!map"):
        value = f" `{node.value[:7]}...`" if len(node.value) > 10 else f" `{node.value}`"
    return f"line {node.start_mark.line + 1}: cannot unmarshal {tag}{value} into {_type_name(typ)}"


def _scalar(node: ScalarNode, typ: tuple, errors: list[str]) -> Any:
    tag, value = resolve(node)
    kind = typ[0]
    if value is None and tag == "!!null" or kind == "any":
        return value
    if kind == "str":
        return node.value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and (value in _TRUE_11 or value in _FALSE_11):
            return value in _TRUE_11
    elif kind == "int":
        bits = _BOUNDS.get(typ[1], 63)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not (isinstance(value, float) and math.isnan(value)):
            if -(2**bits) <= value < 2**bits:
                return int(value)
    elif kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind == "duration":
        if isinstance(value, str):
            from localdapr.options import go_parse_duration

            try:
                return go_parse_duration(value)
            except ValueError:
                pass
    errors.append(_terror(node, tag, typ))
    return None


def decode(node: Node | None, typ: tuple, errors: list[str]) -> Any:
    """The Python value of ``node`` read as Go type ``typ``; problems appended to ``errors``."""
    if node is None:
        return None
    kind = typ[0]
    if isinstance(node, ScalarNode):
        if kind in ("slice", "map", "struct") and resolve(node)[0] != "!!null":
            errors.append(_terror(node, resolve(node)[0], typ))
            return None
        return _scalar(node, typ, errors)
    if isinstance(node, SequenceNode):
        if kind == "any":
            return [decode(item, typ, errors) for item in node.value]
        if kind != "slice":
            errors.append(_terror(node, "!!seq", typ))
            return None
        return [decode(item, typ[1], errors) for item in node.value]
    assert isinstance(node, MappingNode)
    if kind not in ("map", "struct", "any"):
        errors.append(_terror(node, "!!map", typ))
        return None
    out: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, ScalarNode) else str(key_node)
        if key in seen:
            errors.append(f'line {key_node.start_mark.line + 1}: mapping key "{key}" already defined at line {seen[key]}')
            continue
        seen[key] = key_node.start_mark.line + 1
        if kind == "struct":
            field = typ[2].get(key)
            if field is not None:
                out[key] = decode(value_node, field, errors)
        else:
            out[key] = decode(value_node, typ[1] if kind == "map" else typ, errors)
    return out
