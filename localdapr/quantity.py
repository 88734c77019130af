"""Kubernetes resource quantities (``4Ki``, ``4Mi``, ``1e3``) as daprd reads ``--max-body-size``
and ``--read-buffer-size``: ``resource.ParseQuantity`` then ``getQuantityBytes``.

Why a port and not ``int(float(...))``: daprd refuses some values that look harmless (``1.5Ki``,
``0.5``, ``1.0``: k8s keeps them as decimals and ``AsInt64`` fails) and accepts others
(``1e3``, ``4k``, ``-1``); the dapr CLI always passes ``--read-buffer-size 4Ki``. The rules below
follow apimachinery's ``ParseQuantity`` fast path (int64 amount with a scale) and
``int64Amount.AsInt64``.
"""

from __future__ import annotations

import re

FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_SPLIT = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$")
_REGEX = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_INT64_MAX = 2**63 - 1


class QuantityError(ValueError):
    """The text daprd puts after ``invalid value for '<flag>' option: ``."""


def _suffix(suffix: str) -> tuple[int, int]:
    """(base, exponent) of a suffix, or ErrSuffix."""
    if suffix in _BINARY:
        return 2, _BINARY[suffix]
    if suffix in _DECIMAL:
        return 10, _DECIMAL[suffix]
    if len(suffix) > 1 and suffix[0] in "eE":
        try:
            return 10, int(suffix[1:])
        except ValueError:
            pass
    raise QuantityError("unable to parse quantity's suffix")


def parse_bytes(value: str) -> int:
    """Bytes of a quantity as daprd computes them; QuantityError with daprd's reason otherwise."""
    if not value or not _REGEX.match(value):
        raise QuantityError(FORMAT_ERROR)
    sign, num, denom, suffix = _SPLIT.match(value).groups()  # type: ignore[union-attr]
    denom = denom or ""
    base, exponent = _suffix(suffix)
    digits = (num + denom).lstrip("0")
    if not digits:
        return 0  # getQuantityBytes: a zero quantity is 0 bytes, whatever its form
    cannot = QuantityError(f"cannot get bytes from resource quantity value '{value}'")
    if base == 2:
        # Only a whole positive binary amount takes the int64 fast path.
        precision = 15 - len(num) - int(exponent * 3 / 10) - 1
        if denom or precision < 0:
            raise cannot
        amount = int(num) << exponent
        if amount > _INT64_MAX:
            raise cannot
        return -amount if sign == "-" else amount
    precision = 18 - (len(num) + len(denom))
    scale = exponent - len(denom)
    if precision < 0 or scale < -9:
        raise cannot
    amount = int(num + denom)
    if amount > _INT64_MAX:
        raise QuantityError("unable to parse numeric part of quantity")
    if scale < 0:
        raise cannot  # int64Amount.AsInt64 refuses a negative scale, even for 1.0
    amount *= 10**scale
    if amount > _INT64_MAX:
        raise cannot
    return -amount if sign == "-" else amount
