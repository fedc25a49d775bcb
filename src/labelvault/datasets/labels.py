"""A task's or project's label schema as formats and backups see it: names, not ids."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.formats.base import AttributeDef, LabelDef
from labelvault.projects import service as projects
from labelvault.projects.models import AttributeSpec, Label
from labelvault.projects.schemas import AttributeWrite, LabelWrite


@dataclass
class Schema:
    """A task's or project's labels, by id and by name, with attribute specs."""

    labels: list[Label]
    attrs: dict[int, list[AttributeSpec]]

    @classmethod
    def load(cls, session: Session, *, project_id: int | None, task_id: int | None) -> Schema:
        if project_id is not None:
            labels = projects.labels_of(session, project_id=project_id)
        else:
            labels = projects.labels_of(session, task_id=task_id)
        attrs: dict[int, list[AttributeSpec]] = {lb.id: [] for lb in labels}
        if labels:
            for a in session.scalars(
                select(AttributeSpec)
                .where(AttributeSpec.label_id.in_([lb.id for lb in labels]))
                .order_by(AttributeSpec.id)
            ):
                attrs[a.label_id].append(a)
        return cls(labels, attrs)

    @property
    def names(self) -> dict[int, str]:
        return {lb.id: lb.name for lb in self.labels}

    @property
    def attr_names(self) -> dict[int, str]:
        return {a.id: a.name for specs in self.attrs.values() for a in specs}

    def top(self) -> dict[str, Label]:
        return {lb.name: lb for lb in self.labels if lb.parent_id is None}

    def children(self, parent_id: int) -> list[Label]:
        return [lb for lb in self.labels if lb.parent_id == parent_id]

    def svg_with_names(self, label: Label) -> str:
        # Stored SVGs name points by our label ids; formats and backups need names.
        names = self.names
        return re.sub(
            r'data-label-id="(\d+)"',
            lambda m: f'data-label-name="{names.get(int(m.group(1)), m.group(1))}"',
            label.svg or "",
        )

    def label_defs(self) -> list[LabelDef]:
        def one(lb: Label) -> LabelDef:
            return LabelDef(
                name=lb.name,
                type=lb.type,
                color=lb.color,
                attributes=[
                    AttributeDef(
                        a.name, a.input_type, a.mutable, json.loads(a.values), a.default_value
                    )
                    for a in self.attrs.get(lb.id, [])
                ],
                sublabels=[one(c) for c in self.children(lb.id)],
                svg=self.svg_with_names(lb) if lb.type == "skeleton" else "",
            )

        return [one(lb) for lb in self.labels if lb.parent_id is None]

    def labels_backup_json(self) -> list[dict[str, Any]]:
        """Labels as CVAT's backup task.json/project.json writes them (names, no ids)."""

        def attrs(lb: Label) -> list[dict[str, Any]]:
            return [
                {
                    "name": a.name,
                    "mutable": a.mutable,
                    "input_type": a.input_type,
                    "default_value": a.default_value,
                    "values": json.loads(a.values),
                }
                for a in self.attrs.get(lb.id, [])
            ]

        out = []
        for lb in self.labels:
            if lb.parent_id is not None:
                continue
            out.append(
                {
                    "name": lb.name,
                    "color": lb.color,
                    "attributes": attrs(lb),
                    "type": lb.type,
                    "svg": self.svg_with_names(lb) if lb.type == "skeleton" else "",
                    "sublabels": [
                        {
                            "name": c.name,
                            "color": c.color,
                            "attributes": attrs(c),
                            "type": c.type,
                            "has_parent": True,
                        }
                        for c in self.children(lb.id)
                    ],
                }
            )
        return out


def label_writes(labels: Iterable[dict[str, Any] | LabelDef]) -> list[LabelWrite]:
    """LabelWrite specs from backup JSON or format LabelDefs (both keyed by names)."""

    def attr(a: dict[str, Any] | AttributeDef) -> AttributeWrite:
        if isinstance(a, AttributeDef):
            a = {
                "name": a.name,
                "mutable": a.mutable,
                "input_type": a.input_type,
                "values": a.values,
                "default_value": a.default_value,
            }
        values = a.get("values") or []
        if isinstance(values, str):  # CVAT XML and old backups join values with newlines
            values = values.split("\n")
        return AttributeWrite(
            name=str(a.get("name", "")),
            mutable=bool(a.get("mutable", False)),
            input_type=str(a.get("input_type") or "text"),
            default_value=None if a.get("default_value") is None else str(a["default_value"]),
            values=[str(v) for v in values],
        )

    def one(lb: dict[str, Any] | LabelDef, is_sub: bool) -> LabelWrite:
        if isinstance(lb, LabelDef):
            lb = {
                "name": lb.name,
                "color": lb.color,
                "type": lb.type,
                "attributes": lb.attributes,
                "sublabels": lb.sublabels,
                "svg": lb.svg,
            }
        kind = lb.get("type") or ("points" if is_sub else "any")
        subs = [one(s, True) for s in lb.get("sublabels") or ()]
        if subs and kind != "skeleton":
            kind = "skeleton"
        return LabelWrite(
            name=lb.get("name"),
            color=lb.get("color") or None,
            type=kind,
            attributes=[attr(a) for a in lb.get("attributes") or ()],
            sublabels=subs,
            svg=lb.get("svg") or None,
        )

    return [one(lb, False) for lb in labels]
