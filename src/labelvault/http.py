"""Shared HTTP plumbing for every domain's router: DB sessions, paging, sorting, URLs."""

from __future__ import annotations

import asyncio
import ipaddress
import math
import weakref
from typing import Any

import anyio
import anyio.to_thread
from fastapi import Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from labelvault.config import Settings
from labelvault.db import raise_after_commit_error
from labelvault.errors import Invalid, NotFound

_COMMIT_THREADS: weakref.WeakKeyDictionary[Any, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def _commit_threads() -> anyio.CapacityLimiter:
    """Threads for commits alone, apart from the endpoints' pool (one set per event loop).

    Between an endpoint's return and its commit, its session holds what it wrote (on
    SQLite, the file's write lock). From the shared pool, that commit waited for a thread
    while every thread ran an endpoint waiting for that lock: saves stalled for the busy
    timeout (bench/load.py, 50 annotators: p99 15 s). Only one session at a time holds
    SQLite's lock, so these threads are never all waiting.
    """
    loop = asyncio.get_running_loop()
    limiter = _COMMIT_THREADS.get(loop)
    if limiter is None:
        limiter = _COMMIT_THREADS[loop] = anyio.CapacityLimiter(16)
    return limiter


async def db_session(request: Request) -> Session:
    """One session per request, committed when the endpoint returns without error.

    The commit happens *before* the reply is sent: FastAPI ends `yield` dependencies after
    the response by default, so a client could read stale data right after a 2xx (the SDK
    logs in and at once sends the next request) or get a 2xx for a write whose commit then
    failed. The endpoint's own exit stack closes before the response goes out.
    """
    stack = request.scope.get("fastapi_function_astack")
    if stack is None:  # pragma: no cover - guards a FastAPI upgrade that moves this hook
        raise RuntimeError("FastAPI no longer provides the endpoint exit stack")
    session: Session = request.app.state.db.sessionmaker()

    def finish(failed: bool) -> None:
        try:
            if failed:
                session.rollback()
            else:
                session.commit()
                raise_after_commit_error(session)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    async def on_exit(exc_type: Any, exc: Any, tb: Any) -> bool:
        await anyio.to_thread.run_sync(finish, exc_type is not None, limiter=_commit_threads())
        return False

    stack.push_async_exit(on_exit)
    return session


# Ids are INTEGER columns (int4 on PostgreSQL); a bigger one names nothing and would make
# the driver raise (SQLite's OverflowError beyond 2**63, PostgreSQL's out-of-range error).
MAX_ID = 2**31 - 1


def _out_of_range(value: str) -> bool:
    text = value.strip()
    digits = text[1:] if text[:1] in "+-" else text
    # isdecimal, not isdigit: int() refuses superscripts such as "¹" that isdigit admits
    return digits.isdecimal() and abs(int(text)) > MAX_ID


def ids_in_range(request: Request) -> None:
    """Every route's first dependency: a path id no row can have is a 404, a query id a 400.

    The one place ids are bounded, so no endpoint hands such a number to the database.
    """
    for name, value in request.path_params.items():
        if isinstance(value, str) and _out_of_range(value):
            raise NotFound(f"{name} {value} not found: ids are at most {MAX_ID}")
    for name, value in request.query_params.multi_items():
        if (name == "id" or name.endswith("_id")) and _out_of_range(value):
            raise Invalid(f"{name}: {value} is not an id (ids are at most {MAX_ID})")


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def base_url(request: Request) -> str:
    """The scheme://host the client used, honouring a reverse proxy's forwarded headers.

    The SDK hands URLs we return (TUS Location, result_url) straight to urllib3, so they
    must be absolute and reachable from the client.
    """
    # ForwardedHeaders has already put a trusted proxy's X-Forwarded-Host/-Proto in place
    # (and dropped them from anyone else), so the Host header and scheme are the truth.
    host = request.headers.get("host")
    scheme = request.url.scheme
    if not host:
        host = f"{request.url.hostname}:{request.url.port}" if request.url.port else "localhost"
    return f"{scheme}://{host.split(',')[0].strip()}"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> list[Network]:
    """`10.0.0.1, 172.16.0.0/12, ::1` -> networks; a bad entry is a clear startup error."""
    networks = []
    for item in spec.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"LABELVAULT_TRUSTED_PROXIES: {item!r} is not an address or CIDR "
                "(e.g. 10.0.0.5 or 10.0.0.0/8)"
            ) from exc
    return networks


def _in(networks: list[Network], address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in networks)


_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded")


class ForwardedHeaders:
    """Believe X-Forwarded-For/-Proto/-Host only from the configured trusted proxies.

    From a trusted peer they become the client address, the scheme and the Host header of
    the request; from anyone else they are dropped, so a client can neither spoof its
    address (the login throttle and the audit log key on it) nor make us hand out URLs
    to a host of its choosing.
    """

    def __init__(self, app: Any, trusted_proxies: str = "") -> None:
        self.app = app
        self.networks = parse_networks(trusted_proxies)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = scope.get("headers") or []
            if any(name in _FORWARDED for name, _ in headers):
                client = scope.get("client")
                if client and self.networks and _in(self.networks, client[0]):
                    scope = self._apply(scope, headers)
                else:
                    kept = [(n, v) for n, v in headers if n not in _FORWARDED]
                    scope = dict(scope, headers=kept)
        await self.app(scope, receive, send)

    def _apply(self, scope: dict, headers: list[tuple[bytes, bytes]]) -> dict:
        values: dict[bytes, str] = {}
        for name, value in headers:
            if name in _FORWARDED:
                # Repeated headers join as one list, as proxies append.
                text = value.decode("latin-1")
                values[name] = f"{values[name]},{text}" if name in values else text
        scope = dict(scope)
        chain = [a.strip() for a in values.get(b"x-forwarded-for", "").split(",") if a.strip()]
        if chain:
            # The rightmost address no trusted proxy of ours added is the real client.
            client = chain[0]
            for address in reversed(chain):
                if not _in(self.networks, address):
                    client = address
                    break
            scope["client"] = (client, 0)
        proto = values.get(b"x-forwarded-proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = {"http": "http", "https": "https"}[proto]
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if proto == "https" else "ws"
        host = values.get(b"x-forwarded-host", "").split(",")[0].strip()
        if host:
            rest = [(n, v) for n, v in headers if n != b"host"]
            scope["headers"] = [(b"host", host.encode("latin-1")), *rest]
        return scope


def absolute(request: Request, path: str) -> str:
    return base_url(request) + path


def parse_bool(value: str | bool | None, default: bool = False) -> bool:
    """Booleans in query strings arrive as true/false/True/False/1/0 (the SDK sends Python's)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise Invalid(f"'{value}' is not a boolean: use true or false")


MAX_PAGE_SIZE = 1000


def page_params(request: Request) -> tuple[int, int]:
    query = request.query_params
    try:
        page = int(query.get("page", "1") or 1)
        raw_size = query.get("page_size", "10") or "10"
        page_size = 10**9 if raw_size == "all" else int(raw_size)
    except ValueError as exc:
        raise Invalid("page and page_size must be integers") from exc
    if page < 1 or page_size < 1:
        raise Invalid("page and page_size must be positive")
    return page, min(page_size, MAX_PAGE_SIZE)


def paginate(request: Request, session: Session, query: Select, serialize: Any) -> dict[str, Any]:
    """CVAT's paging envelope: count, next, previous (absolute URLs or null), results."""
    page, page_size = page_params(request)
    count = session.execute(select(func.count()).select_from(query.order_by(None).subquery()))
    total = count.scalar_one()
    rows = session.execute(query.limit(page_size).offset((page - 1) * page_size)).scalars().all()
    pages = max(1, math.ceil(total / page_size))

    def link(number: int) -> str:
        # Same origin as every other URL we return (a proxy's forwarded host, not ours).
        url = request.url.include_query_params(page=number)
        return absolute(request, url.path + (f"?{url.query}" if url.query else ""))

    return {
        "count": total,
        "next": link(page + 1) if page < pages else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": serialize(rows),
    }


SORT_SEPARATOR = ","


def apply_sort(query: Select, sort: str | None, columns: dict[str, Any], default: Any) -> Select:
    """`sort=name,-id` as CVAT's UI sends it; unknown fields are a 400 naming them."""
    if not sort:
        return query.order_by(default)
    order = []
    for item in sort.split(SORT_SEPARATOR):
        item = item.strip()
        descending = item.startswith("-")
        key = item.lstrip("-")
        if key not in columns:
            raise Invalid(f"cannot sort by '{key}'; use one of: {', '.join(sorted(columns))}")
        column = columns[key]
        order.append(column.desc() if descending else column.asc())
    return query.order_by(*order, default)


async def raw_body(request: Request) -> bytes:
    """The request body, read before a sync endpoint runs in the thread pool."""
    return await request.body()
