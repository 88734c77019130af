"""How a value becomes the bytes in Redis ``data`` (spec C1.3).

HTTP values arrive as JSON and are re-encoded compactly (daprd decodes into Go ``any`` and the
store re-encodes): strings keep their quotes, non-ASCII stays raw UTF-8, no HTML escaping.
gRPC values are stored verbatim unless the item says ``contentType=application/json``.
Not reproduced: Go's random map key order and jsoniter's 6-decimal float rounding; tests compare
JSON semantically, as the spec recommends.
"""

from __future__ import annotations

import json
from typing import Any

from localdapr.gojson import deep_values, unmarshal_any


def encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def grpc_value(raw: bytes, metadata: dict[str, str]) -> bytes:
    """A gRPC SaveState value: with ``contentType: application/json`` daprd json.Unmarshals it
    (a value that is not JSON fails the call with Go's text, raised here as GoJSONError) and
    the store re-encodes it; otherwise the bytes are stored as they are."""
    if metadata.get("contentType") == "application/json":
        value = unmarshal_any(raw)
        with deep_values():
            return encode_json(value)
    return raw
