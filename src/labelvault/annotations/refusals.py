"""Why a save was refused: each refused object with its place in the request (a 400 body)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labelvault.errors import Invalid


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused object: where it is in the request, which field, and why.

    `text` is the line the joined message shows ("shapes[3].label_id: ..."); `kind` and
    `index` are None for faults of the request as a whole (bad JSON, an unknown action).
    """

    text: str
    reason: str
    kind: str | None = None
    index: int | None = None
    field: str | None = None
    id: int | None = None
    client_id: str | int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "index": self.index,
            "id": self.id,
            "client_id": self.client_id,
            "field": self.field,
            "reason": self.reason,
        }


def refusal(kind: str, index: int, field_path: str | None, reason: str, obj: Any = None) -> Refusal:
    """A refusal of `kind[index]` (its `field_path` inside it, if any), naming its ids."""
    where = f"{kind}[{index}]" + (f".{field_path}" if field_path else "")
    object_id = client_id = None
    if type(obj) is dict:
        value = obj.get("id")
        is_int = type(value) is int or (type(value) is float and value.is_integer())
        object_id = int(value) if is_int else None
        # A client's own handle for an object it has not saved yet; echoed, never stored.
        value = obj.get("client_id")
        client_id = value if type(value) in (str, int) else None
    return Refusal(f"{where}: {reason}", reason, kind, index, field_path, object_id, client_id)


class AnnotationError(Invalid):
    """A payload was refused: a 400 naming each refused object, and nothing is written.

    `errors` are the lines of the message (what the CLI prints); the reply's `errors` key
    lists the same refusals as objects a client can match to what it sent.
    """

    def __init__(self, errors: list[Refusal] | list[str]) -> None:
        self.refusals = [e if isinstance(e, Refusal) else Refusal(e, e) for e in errors]
        self.errors = [r.text for r in self.refusals]
        super().__init__(
            "Annotations were not saved: " + "; ".join(self.errors),
            errors=[r.as_json() for r in self.refusals],
        )
