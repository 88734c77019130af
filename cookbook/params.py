"""Validate a notebook's papermill parameters before anything starts.

Why: a bad value used to fail late and far away (``order_count=-1`` as a bare AssertionError
three cells later, ``dapr_runtime=bogus`` after Redis had started, ``llm=bogus`` 28 s in, inside
an agent's log). The cell after ``parameters`` calls :func:`validate` with one rule per
parameter; every broken one is reported at once, each naming the parameter, the value it got and
what is allowed.

A rule is a callable ``value -> str | None``: the problem, or None when the value is fine.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable

Rule = Callable[[Any], "str | None"]


class ParameterError(ValueError):
    """One or more notebook parameters are invalid; the message names each of them."""


def one_of(*allowed: str) -> Rule:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(map(repr, allowed))}"
    return check


def int_between(low: int, high: int) -> Rule:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number from {low} to {high}"
        return None if low <= value <= high else f"must be from {low} to {high}"
    return check


def number_between(low: float, high: float) -> Rule:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number from {low} to {high}"
        return None if low <= value <= high else f"must be from {low} to {high}"
    return check


# Dapr app ids end up in Redis key prefixes, actor types and DNS-like names: keep them simple.
_APP_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def app_id() -> Rule:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and _APP_ID.match(value):
            return None
        return "must be lowercase letters, digits and '-', 1 to 63 characters, not starting or ending with '-'"
    return check


def text(max_length: int = 100) -> Rule:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and value.strip() and len(value) <= max_length and value.isprintable():
            return None
        return f"must be non-empty printable text of at most {max_length} characters"
    return check


def redis_url() -> Rule:
    def check(value: Any) -> str | None:
        if value == "" or (isinstance(value, str) and re.match(r"^rediss?://[^\s]+$", value)):
            return None
        return "must be empty (start a private Redis) or a URL like redis://host:6379"
    return check


def path_like() -> Rule:
    def check(value: Any) -> str | None:
        return None if isinstance(value, (str, os.PathLike)) else "must be a folder path (or empty for build/)"
    return check


def dapr_runtime() -> Rule:
    """auto | daprd | local, and ``daprd`` only where a daprd can be found."""
    from cookbook.sidecar import RUNTIMES, find_daprd  # noqa: PLC0415 - keeps this module light

    allowed = one_of(*RUNTIMES)

    def check(value: Any) -> str | None:
        problem = allowed(value)
        if problem is None and value == "daprd" and find_daprd() is None:
            return ("asks for daprd but none was found (DAPRD, PATH, the project's .dapr/bin, ~/.dapr/bin); "
                    "build it with 'make daprd' or use 'auto' / 'local'")
        return problem
    return check


def llm_choice() -> Rule:
    """The LLM a notebook's agent uses; real ones need their credentials before anything starts."""
    from cookbook.llm import LLM_CHOICES, missing_llm_settings  # noqa: PLC0415

    allowed = one_of(*LLM_CHOICES)

    def check(value: Any) -> str | None:
        return allowed(value) or missing_llm_settings(value)
    return check


def comma_list(allowed: "tuple[str, ...] | list[str]") -> Rule:
    """A comma-separated selection (``"app,sidecar"``): papermill's ``-p`` passes it as one string."""
    def check(value: Any) -> str | None:
        items = value.split(",") if isinstance(value, str) else None
        if items and all(item in allowed for item in items) and len(set(items)) == len(items):
            return None
        return f"must be one or more of {', '.join(map(repr, allowed))}, comma-separated, each once"
    return check


def boolean() -> Rule:
    def check(value: Any) -> str | None:
        return None if isinstance(value, bool) else "must be True or False"
    return check


def validate(**params: tuple[Any, Rule]) -> dict[str, Any]:
    """Check every ``name=(value, rule)``; raise one :class:`ParameterError` listing all problems.

    Returns the values by name, so the cell can print what the run will use.
    """
    problems = []
    for name, (value, rule) in params.items():
        problem = rule(value)
        if problem:
            problems.append(f"parameter {name}={value!r}: {problem}")
    if problems:
        raise ParameterError("invalid notebook parameters:\n  " + "\n  ".join(problems))
    return {name: value for name, (value, _) in params.items()}


def namespace() -> Rule:
    """A sidecar's ``NAMESPACE``: empty (self-hosted default: unset) or a DNS-label-like name."""
    def check(value: Any) -> str | None:
        if value == "" or (isinstance(value, str) and _APP_ID.match(value)):
            return None
        return "must be empty (NAMESPACE unset) or lowercase letters, digits and '-', 1 to 63 characters"
    return check
