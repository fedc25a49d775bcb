"""Logical, portable database dump (gzipped JSON lines per table) and its loader."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    Table,
    func,
    inspect,
    select,
    text,
)

import labelvault.backups.models  # noqa: F401  (the catalog is part of an instance)
import labelvault.models  # noqa: F401  (registers every table on Base.metadata)
from labelvault.db.base import Base

DUMP_FORMAT = 1
BATCH = 2000


class DumpError(Exception):
    """A dump cannot be loaded; the message says why and what to do."""


@dataclass
class DumpInfo:
    """What a dump holds: the schema revision and, per table in load order, its row count."""

    revision: str | None
    tables: dict[str, int] = field(default_factory=dict)


def current_revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at, or None for a database never migrated."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def dump_order(metadata: MetaData = Base.metadata) -> list[Table]:
    """Tables parents-first, so loading them in this order satisfies every foreign key."""
    return list(metadata.sorted_tables)


def _self_fk_columns(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        # SQLite hands back naive datetimes that were stored as UTC; PostgreSQL aware ones
        # in the session's zone. UTC with an offset reads the same into either.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    return value


def dump(engine: Engine, out: IO[bytes]) -> DumpInfo:
    """Write every table of Base.metadata, in dependency order, as one consistent read.

    Line 1 is a header with the format and revision; each table starts with a line naming
    it and its columns, followed by one JSON array per row.
    """
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        # One snapshot of every table, while writers carry on.
        options["isolation_level"] = "REPEATABLE READ"
    with (
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6) as gz,
        engine.connect().execution_options(**options) as conn,
        conn.begin(),
    ):
        revision = current_revision(conn)
        info = DumpInfo(revision=revision)
        gz.write(orjson.dumps({"format": DUMP_FORMAT, "revision": revision}) + b"\n")
        for table in dump_order():
            columns = [c.name for c in table.columns]
            gz.write(orjson.dumps({"table": table.name, "columns": columns}) + b"\n")
            order = [table.c[n].is_not(None) for n in _self_fk_columns(table)]
            order += list(table.primary_key.columns)
            query = select(*table.columns).order_by(*order)
            count = 0
            result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
            for row in result:
                gz.write(orjson.dumps([_encode(v) for v in row]) + b"\n")
                count += 1
            info.tables[str(table.name)] = count
    return info


def read_header(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rb") as gz:
        return orjson.loads(gz.readline())


def _iter_dump(path: Path) -> Iterator[tuple[str, list[str], list[list[Any]]]]:
    """(table, columns, batch of rows) in file order."""
    with gzip.open(path, "rb") as gz:
        gz.readline()
        table: str | None = None
        columns: list[str] = []
        batch: list[list[Any]] = []
        for line in gz:
            item = orjson.loads(line)
            if isinstance(item, dict):
                if table is not None:
                    yield table, columns, batch
                table, columns, batch = item["table"], item["columns"], []
                continue
            batch.append(item)
            if len(batch) >= BATCH:
                assert table is not None
                yield table, columns, batch
                batch = []
        if table is not None:
            yield table, columns, batch


def _decoder(column_type: Any) -> Any:
    # A TypeDecorator (UtcDateTime) is decoded as the type it stores.
    column_type = getattr(column_type, "impl", column_type)
    if isinstance(column_type, DateTime):
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if isinstance(column_type, Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if isinstance(column_type, LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v["$b64"])
    return None


def table_counts(engine: Engine, metadata: MetaData = Base.metadata) -> dict[str, int]:
    """Rows per table of the metadata that exists in the database."""
    existing = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
            if t.name in existing
        }


def load(engine: Engine, path: Path, metadata: MetaData) -> dict[str, int]:
    """Insert the dump's rows into the (empty) tables of `metadata`; one transaction.

    `metadata` describes the database as it is now (reflected at the dump's revision), so
    columns the dump has but the database lacks are refused rather than silently dropped.
    """
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for name, columns, rows in _iter_dump(path):
            table = metadata.tables.get(name)
            if table is None:
                raise DumpError(f"the dump has a table '{name}' this schema does not know")
            unknown = [c for c in columns if c not in table.c]
            if unknown:
                raise DumpError(f"the dump has columns {unknown} that table '{name}' lacks")
            # Types of our models where they exist; the reflected ones otherwise.
            model = Base.metadata.tables.get(name)
            decoders = []
            for c in columns:
                source = model.c[c].type if model is not None and c in model.c else table.c[c].type
                decoders.append(_decoder(source))
            if rows:
                values = [
                    {
                        c: (d(v) if d is not None else v)
                        for c, d, v in zip(columns, decoders, row, strict=True)
                    }
                    for row in rows
                ]
                conn.execute(table.insert(), values)
            counts[name] = counts.get(name, 0) + len(rows)
        if engine.dialect.name == "postgresql":
            reset_sequences(conn, [metadata.tables[n] for n in counts])
    return counts


def reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Move PostgreSQL id sequences past the restored ids, or the next insert would collide."""
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1:
            continue
        column = pk[0].name
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column}
        ).scalar()
        if not sequence:
            continue
        conn.execute(
            text(
                f'SELECT setval(:s, COALESCE((SELECT MAX("{column}") FROM "{table.name}"), 1), '
                f'(SELECT MAX("{column}") IS NOT NULL FROM "{table.name}"))'
            ),
            {"s": sequence},
        )
    # Tags, shapes and tracks draw ids from one range (the shapes sequence).
    from labelvault.annotations.service import sync_id_range

    sync_id_range(conn)
