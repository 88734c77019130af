"""``python -m localdapr`` / ``localdapr``: the daprd-compatible entry point."""

from __future__ import annotations

import asyncio
import sys

from localdapr import logs
from localdapr.options import parse_args
from localdapr.server import serve


def main(argv: list[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    logs.configure(options.log_level, options.app_id)
    return asyncio.run(serve(options))
