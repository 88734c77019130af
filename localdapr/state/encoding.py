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


def encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def grpc_value(raw: bytes, metadata: dict[str, str]) -> bytes:
    if metadata.get("contentType") == "application/json":
        try:
            return encode_json(json.loads(raw))
        except ValueError:
            return raw
    return raw
