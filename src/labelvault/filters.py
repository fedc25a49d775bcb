"""CVAT's list filters: `filter=` JSON logic and `field__lookup=` parameters, over SQL columns.

The language is CVAT's (cvat/apps/engine/filters.py, JsonLogicFilter._build_Q): `and`, `or`,
`!`, `!!`, `var` (the field is set), `==`, `<`, `>`, `<=`, `>=` (two arguments), `<=` with
three (between), `in` with the field first (one of a list) or second (the field contains a
substring). cvat-sdk 2.80 turns `list(id__in=[...])` into that JSON; a hand-written
`?id__in=1,2` query parameter means the same here. A term or operation the list does not
know is a 400 naming it, never a silent "everything" (a script that filters and then deletes
must not act on every row).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Integer, Select, and_, false, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from labelvault.errors import Invalid

Clause = ColumnElement[bool]
# A derived field (a task's status) answers equality itself: value -> clause.
Equality = Callable[[Any], Clause]


@dataclass(frozen=True)
class Field:
    """One filterable term of a list: the SQL expression it compares, or its own equality."""

    column: Any = None
    equals: Equality | None = None

    def kind(self) -> type:
        if self.column is None:
            return str
        column_type = getattr(self.column, "type", None)
        # A TypeDecorator (UtcDateTime) is judged by the type it stores as.
        column_type = getattr(column_type, "impl", column_type)
        if isinstance(column_type, Boolean):
            return bool
        if isinstance(column_type, Integer):
            return int
        if isinstance(column_type, Float):
            return float
        if isinstance(column_type, DateTime):
            return datetime
        return str


Fields = Mapping[str, Field]

# cvat-sdk's keyword lookups (cvat_sdk/core/filters.py LOOKUPS), as query parameters.
LOOKUPS = ("in", "contains", "lt", "lte", "gt", "gte", "ne", "between", "isset")
_COMPARE = {"==", "<", ">", "<=", ">="}


def _fail(message: str) -> Invalid:
    return Invalid(f"filter: {message}")


def _value(name: str, field: Field, value: Any) -> Any:
    """The JSON value as the column's type; a value of the wrong type is a 400."""
    if value is None:
        return None
    kind = field.kind()
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1"):
                return True
            if text in ("false", "0"):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if kind is float:
            return float(value)
        if kind is datetime:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError) as exc:
        raise _fail(f"'{value}' is not a valid {kind.__name__} for '{name}'") from exc
    return value if isinstance(value, str) else str(value)


class _Builder:
    def __init__(self, fields: Fields) -> None:
        self.fields = fields

    def field(self, term: Any) -> tuple[str, Field]:
        name = term.get("var") if isinstance(term, dict) else term
        if not isinstance(name, str):
            raise _fail(f"expected {{'var': <field>}}, got {term!r}")
        if name not in self.fields:
            raise _fail(
                f"term '{name}' is not supported; use one of: {', '.join(sorted(self.fields))}"
            )
        return name, self.fields[name]

    def compare(self, op: str, term: Any, raw: Any) -> Clause:
        name, field = self.field(term)
        if field.equals is not None:
            if op != "==":
                raise _fail(f"'{name}' can only be compared with == or in")
            return field.equals(raw)
        value = _value(name, field, raw)
        column = field.column
        if value is None:
            if op != "==":
                raise _fail(f"'{name}' cannot be compared with null by {op}")
            return column.is_(None)
        return {
            "==": lambda: column == value,
            "<": lambda: column < value,
            ">": lambda: column > value,
            "<=": lambda: column <= value,
            ">=": lambda: column >= value,
        }[op]()

    def one_of(self, term: Any, values: Any) -> Clause:
        if not isinstance(values, list):
            raise _fail(f"'in' needs a list of values, got {values!r}")
        name, field = self.field(term)
        if not values:
            return false()
        if field.equals is not None:
            return or_(*(field.equals(v) for v in values))
        typed = [_value(name, field, v) for v in values]
        present = [v for v in typed if v is not None]
        clause = field.column.in_(present) if present else false()
        return or_(clause, field.column.is_(None)) if None in typed else clause

    def contains(self, substring: Any, term: Any) -> Clause:
        name, field = self.field(term)
        if field.column is None or field.kind() is not str:
            raise _fail(f"'{name}' is not text, so it cannot contain '{substring}'")
        return field.column.contains(str(substring), autoescape=True)

    def build(self, rules: Any, parent: str | None = None) -> Clause:
        if not isinstance(rules, dict) or len(rules) != 1:
            where = f"operation '{parent}' requires" if parent else "expected"
            raise _fail(f"{where} an object with one operation, got {rules!r}")
        op, args = next(iter(rules.items()))
        if op in ("and", "or"):
            if not isinstance(args, list) or not args:
                raise _fail(f"operation '{op}' requires a non-empty list argument, got {args!r}")
            parts = [self.build(arg, op) for arg in args]
            return and_(*parts) if op == "and" else or_(*parts)
        if op == "!":
            return not_(self.build(args[0] if isinstance(args, list) else args, op))
        if op == "!!":
            return self.build(args[0] if isinstance(args, list) else args, op)
        if op == "var":
            name, field = self.field({"var": args[0] if isinstance(args, list) else args})
            if field.column is None:
                return true()
            return field.column.is_not(None)
        if not isinstance(args, list):
            raise _fail(f"operation '{op}' requires a list argument, got {args!r}")
        if op in _COMPARE and len(args) == 2:
            return self.compare(op, args[0], args[1])
        if op == "in" and len(args) == 2:
            if isinstance(args[0], dict):
                return self.one_of(args[0], args[1])
            return self.contains(args[0], args[1])
        if op == "<=" and len(args) == 3:
            return and_(self.compare(">=", args[1], args[0]), self.compare("<=", args[1], args[2]))
        raise _fail(f"operation '{op}' with arguments {args!r} is not supported")


def parse(text: str) -> Any:
    try:
        rules = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"can't parse filter expression: {exc}") from exc
    if not rules:
        raise _fail("filter shouldn't be empty")
    return rules


def clause(rules: Any, fields: Fields) -> Clause:
    """The SQL condition of a parsed JSON-logic filter over these fields."""
    return _Builder(fields).build(rules)


def _split(raw: str) -> list[str]:
    text = raw.strip()
    if text.startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fail(f"can't parse the list {raw!r}: {exc}") from exc
        if isinstance(values, list):
            return values
    return [part.strip() for part in text.split(",") if part.strip()]


def _lookup(builder: _Builder, name: str, lookup: str, raw: str) -> Clause:
    term = {"var": name}
    if lookup == "in":
        return builder.one_of(term, _split(raw))
    if lookup == "contains":
        return builder.contains(raw, term)
    if lookup == "ne":
        return not_(builder.compare("==", term, raw))
    if lookup == "between":
        bounds = _split(raw)
        if len(bounds) != 2:
            raise _fail(f"{name}__between needs two values, got {raw!r}")
        return and_(builder.compare(">=", term, bounds[0]), builder.compare("<=", term, bounds[1]))
    if lookup == "isset":
        is_set = builder.build({"var": name})
        wanted = str(raw).strip().lower()
        if wanted not in ("true", "false", "1", "0"):
            raise _fail(f"{name}__isset takes true or false, not {raw!r}")
        return is_set if wanted in ("true", "1") else not_(is_set)
    op = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[lookup]
    return builder.compare(op, term, raw)


def apply(query: Select, params: Mapping[str, str], fields: Fields) -> Select:
    """Narrow a list's query by its `filter=` and `field__lookup=` parameters."""
    builder = _Builder(fields)
    text = params.get("filter")
    if text:
        query = query.where(builder.build(parse(text)))
    for key, raw in params.items():
        name, sep, lookup = key.rpartition("__")
        if not sep or not name:
            continue
        if lookup not in LOOKUPS:
            raise _fail(f"'{key}': the lookup '{lookup}' is unknown; use one of {list(LOOKUPS)}")
        query = query.where(_lookup(builder, name, lookup, raw))
    return query
