"""Comparing annotations to ground truth: one-to-one matching per frame and kind, tallies.

Pure functions over plain values (no database). On each frame the shapes of each kind (boxes;
segments: polygons, ellipses, masks; points; polylines; skeletons) are paired one to one so
that the summed similarity is largest (the Hungarian method, scipy's linear_sum_assignment,
as CVAT does); a pair counts as matched when its similarity (IoU, or OKS for points, lines and
skeletons; see similarity.py) reaches the IoU threshold. Tags are matched by label per frame.
A matched pair with the same label is valid (a true positive), with another label a
`mismatching_label` conflict; what stays unpaired is `missing_annotation` (ground truth) or
`extra_annotation` (annotated). Valid pairs are checked further, as CVAT lists it: under the
low-overlap threshold `low_overlap`, a polyline drawn the other way `mismatching_direction`,
other attribute values `mismatching_attributes`, groups that do not correspond
`mismatching_groups`, and an annotated shape hidden under others `covered_annotation`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelvault.review import similarity
from labelvault.review.similarity import Shape

__all__ = ["Shape", "Tally", "Tag", "KINDS"]

# CVAT's kinds of compared annotations; shapes match only within their kind.
KINDS = {
    "rectangle": "box",
    "polygon": "segment",
    "ellipse": "segment",
    "mask": "segment",
    "points": "points",
    "polyline": "polyline",
    "skeleton": "skeleton",
}
COMPARED_TYPES = frozenset(KINDS)
AREA_KINDS = {"box", "segment"}
ERRORS = ("missing_annotation", "extra_annotation", "mismatching_label")


@dataclass(frozen=True)
class Tag:
    id: int
    job_id: int
    frame: int
    label_id: int
    attributes: tuple[tuple[int, str], ...] = ()


def _ref(s: Shape | Tag) -> dict[str, Any]:
    if isinstance(s, Tag):
        return {"obj_id": s.id, "job_id": s.job_id, "type": "tag", "shape_type": None}
    kind = "track" if s.track else "shape"
    return {"obj_id": s.id, "job_id": s.job_id, "type": kind, "shape_type": s.type}


@dataclass
class Tally:
    """Counts over the frames compared so far; `add` is called once per frame."""

    iou_threshold: float = 0.4
    low_overlap_threshold: float = 0.8
    # CVAT's defaults for what the task's settings do not hold.
    oks_sigma: float = 0.09
    line_thickness: float = 0.01
    line_orientation_threshold: float = 0.1
    group_match_threshold: float = 0.5
    object_visibility_threshold: float = 0.05
    compare_attributes: bool = True
    compare_groups: bool = True
    compare_line_orientation: bool = True
    check_covered_annotations: bool = True
    gt: Counter = field(default_factory=Counter)
    ds: Counter = field(default_factory=Counter)
    valid: Counter = field(default_factory=Counter)
    iou_sum: defaultdict = field(default_factory=lambda: defaultdict(float))
    confusion: Counter = field(default_factory=Counter)  # (gt label or None, ds label or None)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    frames: dict[int, dict[str, Any]] = field(default_factory=dict)

    def parameters(self) -> dict[str, Any]:
        names = (
            "iou_threshold",
            "low_overlap_threshold",
            "oks_sigma",
            "line_thickness",
            "line_orientation_threshold",
            "group_match_threshold",
            "object_visibility_threshold",
            "compare_attributes",
            "compare_groups",
            "compare_line_orientation",
            "check_covered_annotations",
        )
        return {name: getattr(self, name) for name in names}

    def similarity(self, g: Shape, d: Shape, image_area: float) -> tuple[float, bool]:
        """(similarity, drawn the other way) of two shapes of one kind."""
        kind = KINDS[g.type]
        if kind in AREA_KINDS:
            return similarity.area_iou(g, d), False
        if kind == "points":
            return similarity.points_similarity(g, d, self.oks_sigma, image_area), False
        if kind == "skeleton":
            return similarity.skeleton_similarity(g, d, self.oks_sigma, image_area), False
        forward, backward = similarity.line_similarity(g, d, self.line_thickness, image_area)
        reversed_ = backward - forward > self.line_orientation_threshold
        return max(forward, backward), reversed_

    def add(
        self,
        frame: int,
        gt: list[Shape],
        ds: list[Shape],
        gt_tags: list[Tag] | None = None,
        ds_tags: list[Tag] | None = None,
        image_size: tuple[int, int] = (0, 0),
    ) -> None:
        gt = [s for s in gt if s.type in COMPARED_TYPES]
        ds = [s for s in ds if s.type in COMPARED_TYPES]
        gt_tags, ds_tags = gt_tags or [], ds_tags or []
        self.gt.update(s.label_id for s in [*gt, *gt_tags])
        self.ds.update(s.label_id for s in [*ds, *ds_tags])
        image_area = float(image_size[0] * image_size[1]) or 1.0
        conflicts: list[dict[str, Any]] = []
        valid = 0
        pairs: list[tuple[Shape, Shape, float, bool]] = []
        unmatched_gt: list[Shape] = []
        unmatched_ds: list[Shape] = []
        for kind in dict.fromkeys(KINDS.values()):
            kg = [s for s in gt if KINDS[s.type] == kind]
            kd = [s for s in ds if KINDS[s.type] == kind]
            found: list[tuple[int, int, float, bool]] = []
            if kg and kd:
                # Imported here: scipy.optimize costs every server process ~50 MB resident,
                # and only quality reports need it.
                from scipy.optimize import linear_sum_assignment

                scored = [[self.similarity(g, d, image_area) for d in kd] for g in kg]
                matrix = np.array([[value for value, _ in row] for row in scored])
                rows, cols = linear_sum_assignment(matrix, maximize=True)
                found = [
                    (r, c, float(matrix[r, c]), scored[r][c][1])
                    for r, c in zip(rows, cols, strict=True)
                    if matrix[r, c] >= self.iou_threshold
                ]
            pairs += [(kg[r], kd[c], value, flipped) for r, c, value, flipped in found]
            unmatched_gt += [g for r, g in enumerate(kg) if r not in {f[0] for f in found}]
            unmatched_ds += [d for c, d in enumerate(kd) if c not in {f[1] for f in found}]
        matched = {(g.id, g.track): d for g, d, _, _ in pairs}
        for g, d, overlap, flipped in pairs:
            self.confusion[(g.label_id, d.label_id)] += 1
            if g.label_id != d.label_id:
                conflicts.append(self._conflict(frame, "mismatching_label", g, d))
                continue
            valid += 1
            self.valid[g.label_id] += 1
            self.iou_sum[g.label_id] += overlap
            if overlap < self.low_overlap_threshold:
                conflicts.append(self._conflict(frame, "low_overlap", g, d))
            if flipped and self.compare_line_orientation:
                conflicts.append(self._conflict(frame, "mismatching_direction", g, d))
            if self.compare_attributes and dict(g.attributes) != dict(d.attributes):
                conflicts.append(self._conflict(frame, "mismatching_attributes", g, d))
            if self.compare_groups and not self._groups_agree(g, d, gt, ds, matched):
                conflicts.append(self._conflict(frame, "mismatching_groups", g, d))
            if self.check_covered_annotations and KINDS[d.type] in AREA_KINDS:
                above = [
                    o
                    for o in ds
                    if o is not d and KINDS[o.type] in AREA_KINDS and o.z_order > d.z_order
                ]
                share = similarity.visible_share(d, above)
                if share < self.object_visibility_threshold:
                    conflicts.append(self._conflict(frame, "covered_annotation", d))
        for g in unmatched_gt:
            self.confusion[(g.label_id, None)] += 1
            conflicts.append(self._conflict(frame, "missing_annotation", g))
        for d in unmatched_ds:
            self.confusion[(None, d.label_id)] += 1
            conflicts.append(self._conflict(frame, "extra_annotation", d))
        valid += self._add_tags(frame, gt_tags, ds_tags, conflicts)
        self.conflicts.extend(conflicts)
        self.frames[frame] = {
            "gt_count": len(gt) + len(gt_tags),
            "ds_count": len(ds) + len(ds_tags),
            "valid_count": valid,
            "conflict_count": len(conflicts),
            "conflicts": [c["type"] for c in conflicts],
        }

    def _groups_agree(
        self,
        g: Shape,
        d: Shape,
        gt: list[Shape],
        ds: list[Shape],
        matched: dict[tuple[int, bool], Shape],
    ) -> bool:
        """Whether the ground-truth group of `g`, seen through the matches, is `d`'s group.

        Group 0 means "alone". The agreement is the Jaccard index of the annotated shapes
        matched to g's group and d's group; under the group threshold they differ.
        """
        if not g.group and not d.group:
            return True
        g_group = [s for s in gt if s.group == g.group] if g.group else [g]
        d_group = (
            {(s.id, s.track) for s in ds if s.group == d.group} if d.group else {(d.id, d.track)}
        )
        found = [matched.get((s.id, s.track)) for s in g_group]
        mapped = {(m.id, m.track) for m in found if m is not None}
        unmapped = sum(1 for m in found if m is None)
        union = len(mapped | d_group) + unmapped
        return (len(mapped & d_group) / union if union else 1.0) >= self.group_match_threshold

    def _add_tags(
        self, frame: int, gt: list[Tag], ds: list[Tag], conflicts: list[dict[str, Any]]
    ) -> int:
        """Tags match by label on their frame (CVAT's label comparison); returns valid ones."""
        left = list(ds)
        valid = 0
        for g in gt:
            d = next((t for t in left if t.label_id == g.label_id), None)
            if d is None:
                self.confusion[(g.label_id, None)] += 1
                conflicts.append(self._conflict(frame, "missing_annotation", g))
                continue
            left.remove(d)
            valid += 1
            self.valid[g.label_id] += 1
            self.iou_sum[g.label_id] += 1.0
            self.confusion[(g.label_id, d.label_id)] += 1
            if self.compare_attributes and dict(g.attributes) != dict(d.attributes):
                conflicts.append(self._conflict(frame, "mismatching_attributes", g, d))
        for d in left:
            self.confusion[(None, d.label_id)] += 1
            conflicts.append(self._conflict(frame, "extra_annotation", d))
        return valid

    def _conflict(self, frame: int, kind: str, *shapes: Shape | Tag) -> dict[str, Any]:
        severity = "error" if kind in ERRORS else "warning"
        return {
            "frame": frame,
            "type": kind,
            "severity": severity,
            "annotation_ids": [_ref(s) for s in shapes],
        }

    def merge(self, other: Tally) -> None:
        """Fold a job's tally into a task's."""
        for mine, theirs in (
            (self.gt, other.gt),
            (self.ds, other.ds),
            (self.valid, other.valid),
            (self.confusion, other.confusion),
        ):
            mine.update(theirs)
        for label, value in other.iou_sum.items():
            self.iou_sum[label] += value
        self.conflicts.extend(other.conflicts)
        for frame, result in other.frames.items():
            self.frames.setdefault(frame, result)

    def summary(self, total_frames: int) -> dict[str, Any]:
        valid, gt, ds = sum(self.valid.values()), sum(self.gt.values()), sum(self.ds.values())
        total = gt + ds - valid
        by_type = Counter(c["type"] for c in self.conflicts)
        errors = sum(1 for c in self.conflicts if c["severity"] == "error")
        frames = len(self.frames)
        return {
            "total_frames": total_frames,
            "frame_count": frames,
            "validation_frames": frames,
            "frame_share": frames / total_frames if total_frames else 0.0,
            "validation_frame_share": frames / total_frames if total_frames else 0.0,
            "conflict_count": len(self.conflicts),
            "warning_count": len(self.conflicts) - errors,
            "error_count": errors,
            "conflicts_by_type": dict(by_type),
            "valid_count": valid,
            "ds_count": ds,
            "gt_count": gt,
            "total_count": total,
            "accuracy": _ratio(valid, total),
            "precision": _ratio(valid, ds),
            "recall": _ratio(valid, gt),
        }

    def per_label(self, names: dict[int, str]) -> list[dict[str, Any]]:
        """Precision, recall and mean IoU (over its valid matches) of each label."""
        out = []
        for label in sorted(set(self.gt) | set(self.ds), key=lambda i: names.get(i, str(i))):
            valid = self.valid[label]
            out.append(
                {
                    "label_id": label,
                    "name": names.get(label, str(label)),
                    "gt_count": self.gt[label],
                    "ds_count": self.ds[label],
                    "valid_count": valid,
                    "precision": _ratio(valid, self.ds[label]),
                    "recall": _ratio(valid, self.gt[label]),
                    "mean_iou": self.iou_sum[label] / valid if valid else 0.0,
                }
            )
        return out

    def confusion_matrix(self, names: dict[int, str]) -> dict[str, Any]:
        """CVAT's layout: rows are annotated labels (+ none), columns ground truth (+ none)."""
        labels: list[int | None] = sorted(set(self.gt) | set(self.ds))
        labels.append(None)
        rows = [[self.confusion[(g, d)] for g in labels] for d in labels]
        return {
            "labels": [names.get(x, str(x)) if x is not None else "unmatched" for x in labels],
            "rows": rows,
        }


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0
