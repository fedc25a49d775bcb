"""Rules of projects and label schemas: defaults, uniqueness and CVAT's update rules."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from labelvault.db.base import utcnow
from labelvault.errors import Invalid
from labelvault.projects.models import AttributeSpec, Label, Project
from labelvault.projects.schemas import INPUT_TYPES, LABEL_TYPES, AttributeWrite, LabelWrite

# CVAT's default palette, so labels without a colour look as users expect.
PALETTE = [
    "#33ddff",
    "#fa3253",
    "#34d1b7",
    "#ff007c",
    "#ff6037",
    "#ddff33",
    "#24b353",
    "#b83df5",
    "#66ff66",
    "#32b7fa",
    "#ffcc33",
    "#83e070",
    "#fafa37",
    "#5986b3",
    "#8c78f0",
    "#ff6a4d",
    "#f078f0",
    "#2a7dd1",
    "#b25050",
    "#cc3366",
]
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_NAME = 64  # label and attribute names (the columns' width)
MAX_DEFAULT = 128  # an attribute's default value


class LabelError(Invalid):
    """A label schema rule was broken; the message names the label and what to fix (a 400)."""


@dataclass
class AttributeInfo:
    id: int
    name: str
    input_type: str
    mutable: bool
    values: list[str]
    default_value: str


@dataclass
class LabelInfo:
    """What annotation validation needs to know about one label."""

    id: int
    name: str
    type: str
    parent_id: int | None
    attributes: dict[int, AttributeInfo] = field(default_factory=dict)
    sublabel_ids: set[int] = field(default_factory=set)


def _normalise_attribute(label: str, spec: AttributeWrite) -> tuple[list[str], str]:
    where = f"label '{label}', attribute '{spec.name}'"
    if not spec.name.strip():
        raise LabelError(f"label '{label}': an attribute has an empty name")
    if len(spec.name) > MAX_NAME:
        raise LabelError(
            f"label '{label}', attribute '{spec.name[:20]}…': "
            f"attribute names are at most {MAX_NAME} characters"
        )
    if spec.input_type not in INPUT_TYPES:
        raise LabelError(f"{where}: input_type must be one of {', '.join(INPUT_TYPES)}")
    values = [str(v) for v in spec.values]
    default = spec.default_value
    if spec.input_type in ("select", "radio"):
        values = [v for v in values if v != ""]
        if not values:
            raise LabelError(f"{where}: a {spec.input_type} needs at least one value")
        if len(set(values)) != len(values):
            raise LabelError(f"{where}: values must be unique")
        if default in (None, ""):
            default = values[0]
        elif default not in values:
            raise LabelError(f"{where}: default value '{default}' is not one of the values")
    elif spec.input_type == "checkbox":
        values = ["false"] if not values else [values[0].lower()]
        default = (default or values[0]).lower()
        if default not in ("true", "false") or values[0] not in ("true", "false"):
            raise LabelError(f"{where}: a checkbox value is 'true' or 'false'")
    elif spec.input_type == "number":
        # The UI sends "min;max;step" as one value, the API a list of three.
        if len(values) == 1 and ";" in values[0]:
            values = values[0].split(";")
        try:
            low, high, step = (float(v) for v in values)
        except ValueError as exc:
            raise LabelError(f"{where}: a number needs three values: min, max, step") from exc
        if low >= high or step <= 0 or step > high - low:
            raise LabelError(f"{where}: need min < max and 0 < step <= max - min")
        if default in (None, ""):
            default = values[0]
        try:
            value = float(default)
        except ValueError as exc:
            raise LabelError(f"{where}: default value '{default}' is not a number") from exc
        if not low <= value <= high:
            raise LabelError(f"{where}: default value {default} is outside [{low}, {high}]")
    else:  # text
        default = default if default is not None else (values[0] if values else "")
        values = [default] if default else []
    if default is not None and len(default) > MAX_DEFAULT:
        raise LabelError(f"{where}: the default value is longer than {MAX_DEFAULT} characters")
    return values, default or ""


def _clean_name(name: str | None) -> str:
    """The name a label is stored under; "car" and " car " are the same label."""
    name = (name or "").strip()
    if not name:
        raise LabelError("every label needs a name")
    if len(name) > MAX_NAME:
        raise LabelError(f"label '{name[:20]}…': names are at most {MAX_NAME} characters")
    return name


def _check_names(specs: list[LabelWrite], where: str) -> None:
    names = [s.name.strip() for s in specs if not s.deleted and s.name is not None]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LabelError(f"{where}: label names must be unique, repeated: {', '.join(dupes)}")


def _add_attributes(session: Session, label: Label, specs: list[AttributeWrite]) -> None:
    names = [a.name for a in specs]
    if len(set(names)) != len(names):
        raise LabelError(f"label '{label.name}': attribute names must be unique")
    for spec in specs:
        values, default = _normalise_attribute(label.name, spec)
        session.add(
            AttributeSpec(
                label_id=label.id,
                name=spec.name,
                mutable=spec.mutable,
                input_type=spec.input_type,
                default_value=default,
                values=json.dumps(values),
            )
        )


def _create_label(
    session: Session,
    spec: LabelWrite,
    owner: dict[str, int | None],
    parent: Label | None,
    color_index: int,
) -> Label:
    name = _clean_name(spec.name)
    kind = spec.type or ("points" if parent is not None else "any")
    if kind not in LABEL_TYPES:
        raise LabelError(f"label '{name}': type must be one of {', '.join(LABEL_TYPES)}")
    color = spec.color or PALETTE[color_index % len(PALETTE)]
    if not COLOR_RE.match(color):
        raise LabelError(f"label '{name}': color must look like #rrggbb, not '{color}'")
    label = Label(
        name=name, color=color, type=kind, svg="", parent_id=parent.id if parent else None, **owner
    )
    session.add(label)
    session.flush()
    _add_attributes(session, label, spec.attributes)
    if kind == "skeleton":
        if not spec.sublabels:
            raise LabelError(f"skeleton '{name}' needs at least one point (sublabels)")
        _check_names(spec.sublabels, f"skeleton '{name}'")
        svg = spec.svg or ""
        for index, sub in enumerate(spec.sublabels):
            child = _create_label(session, sub, owner, label, color_index + index + 1)
            # The SVG names its points by label name (CVAT backups) or by client-side id;
            # store it keyed by our ids so it survives renames.
            svg = svg.replace(f'data-label-name="{child.name}"', f'data-label-id="{child.id}"')
            if sub.id is not None:
                svg = svg.replace(f'data-label-id="{sub.id}"', f'data-label-id="{child.id}"')
        label.svg = svg
    elif spec.sublabels:
        raise LabelError(f"label '{name}': only skeleton labels have sublabels")
    return label


def _existing(session: Session, owner: dict[str, int | None]) -> list[Label]:
    column = Label.project_id if owner.get("project_id") else Label.task_id
    value = owner.get("project_id") or owner.get("task_id")
    return list(session.scalars(select(Label).where(column == value).order_by(Label.id)))


def create_labels(
    session: Session,
    specs: list[LabelWrite],
    *,
    project_id: int | None = None,
    task_id: int | None = None,
) -> None:
    """Add new labels to a project or task (names must stay unique among its labels)."""
    owner = {"project_id": project_id, "task_id": task_id}
    existing = _existing(session, owner)
    taken = {lbl.name for lbl in existing if lbl.parent_id is None}
    _check_names(specs, "labels")
    for index, spec in enumerate(specs):
        if (spec.name or "").strip() in taken:
            raise LabelError(f"label '{spec.name}' already exists")
        _create_label(session, spec, owner, None, len(existing) + index)


def update_labels(
    session: Session,
    specs: list[LabelWrite],
    *,
    project_id: int | None = None,
    task_id: int | None = None,
) -> None:
    """Apply a PATCH's labels: with an id update (or delete), without an id create."""
    owner = {"project_id": project_id, "task_id": task_id}
    existing = {lbl.id: lbl for lbl in _existing(session, owner)}
    new_specs = []
    for spec in specs:
        if spec.id is None:
            if spec.deleted:
                continue
            new_specs.append(spec)
            continue
        label = existing.get(spec.id)
        if label is None:
            raise LabelError(
                f"label id {spec.id} does not belong to this {'project' if project_id else 'task'}"
            )
        if spec.deleted:
            session.delete(label)
            continue
        _update_label(session, label, spec, existing)
    session.flush()
    if new_specs:
        create_labels(session, new_specs, project_id=project_id, task_id=task_id)


def _update_label(
    session: Session, label: Label, spec: LabelWrite, existing: dict[int, Label]
) -> None:
    if spec.name is not None and spec.name.strip() != label.name:
        name = _clean_name(spec.name)
        clash = [
            lbl
            for lbl in existing.values()
            if lbl.name == name and lbl.parent_id == label.parent_id
        ]
        if clash:
            raise LabelError(f"label '{name}' already exists")
        label.name = name
    if spec.color is not None:
        if not COLOR_RE.match(spec.color):
            raise LabelError(f"label '{label.name}': color must look like #rrggbb")
        label.color = spec.color
    if spec.type is not None and spec.type != label.type:
        if spec.type not in LABEL_TYPES or "skeleton" in (spec.type, label.type):
            raise LabelError(f"label '{label.name}': type cannot change to '{spec.type}'")
        label.type = spec.type
    if spec.svg is not None and label.type == "skeleton":
        label.svg = spec.svg
    current = {
        a.id: a
        for a in session.scalars(select(AttributeSpec).where(AttributeSpec.label_id == label.id))
    }
    by_name = {a.name: a for a in current.values()}
    added = []
    for attr in spec.attributes:
        if attr.id is not None and attr.id not in current:
            raise LabelError(
                f"label '{label.name}': attribute id {attr.id} is not one of its attributes; "
                "leave the id out to add a new attribute"
            )
        old = current.get(attr.id) if attr.id is not None else by_name.get(attr.name)
        if old is None:
            added.append(attr)
            continue
        if attr.name != old.name and attr.name in by_name:
            raise LabelError(f"label '{label.name}': attribute '{attr.name}' already exists")
        where = f"label '{label.name}', attribute '{old.name}'"
        if attr.input_type != old.input_type or attr.mutable != old.mutable:
            raise LabelError(f"{where}: input_type and mutable cannot change")
        values, default = _normalise_attribute(label.name, attr)
        old_values = json.loads(old.values)
        if old.input_type in ("select", "radio") and values[: len(old_values)] != old_values:
            raise LabelError(f"{where}: values can only be appended, existing ones kept in order")
        if old.input_type == "number" and [float(v) for v in values] != [
            float(v) for v in old_values
        ]:
            raise LabelError(f"{where}: the range of a number cannot change")
        old.name = attr.name
        old.values = json.dumps(values)
        old.default_value = default
    if added:
        session.flush()
        _add_attributes(session, label, added)
    for sub in spec.sublabels:
        child = existing.get(sub.id) if sub.id else None
        if child is not None:
            _update_label(session, child, sub, existing)


def _attributes_by_label(session: Session, label_ids: list[int]) -> dict[int, list[AttributeSpec]]:
    result: dict[int, list[AttributeSpec]] = {i: [] for i in label_ids}
    if label_ids:
        rows = session.scalars(
            select(AttributeSpec)
            .where(AttributeSpec.label_id.in_(label_ids))
            .order_by(AttributeSpec.id)
        )
        for attr in rows:
            result[attr.label_id].append(attr)
    return result


def labels_of(
    session: Session, *, project_id: int | None = None, task_id: int | None = None
) -> list[Label]:
    return _existing(session, {"project_id": project_id, "task_id": task_id})


def attribute_json(attr: AttributeSpec) -> dict[str, Any]:
    return {
        "id": attr.id,
        "name": attr.name,
        "mutable": attr.mutable,
        "input_type": attr.input_type,
        "default_value": attr.default_value,
        "values": json.loads(attr.values),
    }


def labels_json(session: Session, labels: list[Label]) -> list[dict[str, Any]]:
    """Top-level labels with their sublabels nested, as /api/labels returns them."""
    attrs = _attributes_by_label(session, [lbl.id for lbl in labels])
    children: dict[int, list[Label]] = {}
    for lbl in labels:
        if lbl.parent_id is not None:
            children.setdefault(lbl.parent_id, []).append(lbl)
    out = []
    for lbl in labels:
        if lbl.parent_id is not None:
            continue
        out.append(_label_json(lbl, attrs, children))
    return out


def label_json(session: Session, label: Label) -> dict[str, Any]:
    """One label as /api/labels/{id} returns it; a sublabel comes with its parent_id."""
    children = list(
        session.scalars(select(Label).where(Label.parent_id == label.id).order_by(Label.id))
    )
    attrs = _attributes_by_label(session, [label.id] + [c.id for c in children])
    return _label_json(label, attrs, {label.id: children})


def _label_json(
    lbl: Label, attrs: dict[int, list[AttributeSpec]], children: dict[int, list[Label]]
) -> dict[str, Any]:
    return {
        "id": lbl.id,
        "name": lbl.name,
        "color": lbl.color,
        "attributes": [attribute_json(a) for a in attrs.get(lbl.id, [])],
        "type": lbl.type,
        "svg": lbl.svg,
        "sublabels": [
            {
                "id": c.id,
                "name": c.name,
                "color": c.color,
                "type": c.type,
                "attributes": [attribute_json(a) for a in attrs.get(c.id, [])],
                "has_parent": True,
            }
            for c in children.get(lbl.id, [])
        ],
        "project_id": lbl.project_id,
        "task_id": lbl.task_id,
        "parent_id": lbl.parent_id,
        "has_parent": lbl.parent_id is not None,
    }


def label_infos(
    session: Session, *, project_id: int | None = None, task_id: int | None = None
) -> dict[int, LabelInfo]:
    """Every label (and sublabel) with its attribute specs, keyed by id, for validation."""
    labels = labels_of(session, project_id=project_id, task_id=task_id)
    attrs = _attributes_by_label(session, [lbl.id for lbl in labels])
    infos = {
        lbl.id: LabelInfo(id=lbl.id, name=lbl.name, type=lbl.type, parent_id=lbl.parent_id)
        for lbl in labels
    }
    for lbl in labels:
        info = infos[lbl.id]
        for a in attrs[lbl.id]:
            info.attributes[a.id] = AttributeInfo(
                a.id, a.name, a.input_type, a.mutable, json.loads(a.values), a.default_value
            )
        if lbl.parent_id is not None and lbl.parent_id in infos:
            infos[lbl.parent_id].sublabel_ids.add(lbl.id)
    return infos


def create_project(
    session: Session,
    name: str,
    owner_id: int,
    labels: list[LabelWrite],
    bug_tracker: str = "",
    assignee_id: int | None = None,
) -> Project:
    name = name.strip()
    if not name:
        raise LabelError("a project needs a name")
    now = utcnow()
    project = Project(
        name=name,
        owner_id=owner_id,
        assignee_id=assignee_id,
        bug_tracker=bug_tracker or "",
        created_date=now,
        updated_date=now,
        assignee_updated_date=now if assignee_id else None,
    )
    session.add(project)
    session.flush()
    create_labels(session, labels, project_id=project.id)
    return project


def delete_project(session: Session, project: Project) -> None:
    session.execute(delete(Label).where(Label.project_id == project.id))
    session.delete(project)


def touch(project: Project) -> None:
    project.updated_date = utcnow()


@dataclass
class LabelMapping:
    """Which label (and attribute spec) of one schema each of another's becomes; what the
    target lacks is kept by id with the name to show."""

    labels: dict[int, int]
    attributes: dict[int, int]
    missing_labels: dict[int, str] = field(default_factory=dict)
    missing_attributes: dict[int, str] = field(default_factory=dict)

    def check(self, label_ids: set[int], spec_ids: set[int]) -> None:
        """Refuse, naming each one, when objects use labels or attributes the target lacks."""
        labels = sorted({self.missing_labels[i] for i in label_ids if i in self.missing_labels})
        attributes = sorted(
            {self.missing_attributes[i] for i in spec_ids if i in self.missing_attributes}
        )
        problems = []
        if labels:
            problems.append("labels " + ", ".join(labels))
        if attributes:
            problems.append(
                "labels " + ", ".join(attributes) + " (same name, input type and values)"
            )
        if problems:
            raise LabelError(
                "the target project has no "
                + "; and no ".join(problems)
                + ", which this task's annotations use: add them to the project first"
            )


def map_labels(source: dict[int, LabelInfo], target: dict[int, LabelInfo]) -> LabelMapping:
    """Match labels by name (sublabels by name within their skeleton's name) and attributes by
    name, input type and values, as CVAT does when a task moves into a project."""

    def key(info: LabelInfo, infos: dict[int, LabelInfo]) -> tuple[str, str | None]:
        parent = infos.get(info.parent_id) if info.parent_id is not None else None
        return (info.name, parent.name if parent else None)

    by_key = {key(info, target): info for info in target.values()}
    mapping = LabelMapping({}, {})
    for info in source.values():
        name, parent = key(info, source)
        shown = f"'{parent}.{name}'" if parent else f"'{name}'"
        match = by_key.get((name, parent))
        if match is None:
            mapping.missing_labels[info.id] = shown
            continue
        mapping.labels[info.id] = match.id
        specs = {(a.name, a.input_type, tuple(a.values)): a for a in match.attributes.values()}
        for attr in info.attributes.values():
            found = specs.get((attr.name, attr.input_type, tuple(attr.values)))
            if found is None:
                mapping.missing_attributes[attr.id] = f"{shown} with attribute '{attr.name}'"
            else:
                mapping.attributes[attr.id] = found.id
    return mapping
