"""Comparing annotations to ground truth: shape IoU, one-to-one matching per frame, tallies.

Pure functions over plain values (no database). On each frame every ground-truth shape is
paired with at most one annotated shape so that the summed IoU is largest (the Hungarian
method, scipy's linear_sum_assignment, as CVAT does); a pair counts as matched when its IoU
reaches the IoU threshold. A matched pair with the same label is valid (a true positive), with
another label a `mismatching_label` conflict; a valid pair under the low-overlap threshold is
also a `low_overlap` warning; what stays unpaired is `missing_annotation` (ground truth) or
`extra_annotation` (annotated).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

# Shapes compared by area; points, polylines, masks, skeletons and tags are not (yet).
COMPARED_TYPES = frozenset({"rectangle", "polygon", "ellipse"})
# Non-box shapes are compared on a raster this many cells across their joint bounding box.
RASTER = 256
ERRORS = ("missing_annotation", "extra_annotation", "mismatching_label")


@dataclass(frozen=True)
class Shape:
    id: int
    job_id: int
    frame: int
    label_id: int
    type: str
    points: tuple[float, ...]
    rotation: float = 0.0


def _corners(s: Shape) -> list[tuple[float, float]]:
    x1, y1, x2, y2 = s.points[:4]
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    if not s.rotation:
        return corners
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a = math.radians(s.rotation)
    cos, sin = math.cos(a), math.sin(a)
    return [
        (cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos)
        for x, y in corners
    ]


def _outline(s: Shape) -> list[tuple[float, float]]:
    if s.type == "rectangle":
        return _corners(s)
    if s.type == "ellipse":
        cx, cy, px, py = s.points[:4]
        rx, ry = abs(px - cx), abs(cy - py)
        a = math.radians(s.rotation)
        steps = 64
        return [
            (
                cx + rx * math.cos(t) * math.cos(a) - ry * math.sin(t) * math.sin(a),
                cy + rx * math.cos(t) * math.sin(a) + ry * math.sin(t) * math.cos(a),
            )
            for t in (2 * math.pi * i / steps for i in range(steps))
        ]
    return list(zip(s.points[0::2], s.points[1::2], strict=False))


def _box_iou(a: Shape, b: Shape) -> float:
    ax1, ay1, ax2, ay2 = a.points[:4]
    bx1, by1, bx2, by2 = b.points[:4]
    w = min(ax2, bx2) - max(ax1, bx1)
    h = min(ay2, by2) - max(ay1, by1)
    inter = max(w, 0.0) * max(h, 0.0)
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def iou(a: Shape, b: Shape) -> float:
    """Intersection over union of two shapes' areas (exact for upright boxes)."""
    if a.type == b.type == "rectangle" and not a.rotation and not b.rotation:
        return _box_iou(a, b)
    pa, pb = _outline(a), _outline(b)
    xs = [p[0] for p in pa + pb]
    ys = [p[1] for p in pa + pb]
    x0, y0 = min(xs), min(ys)
    scale = RASTER / max(max(xs) - x0, max(ys) - y0, 1e-9)

    def mask(points: list[tuple[float, float]]) -> np.ndarray:
        image = Image.new("1", (RASTER + 1, RASTER + 1), 0)
        ImageDraw.Draw(image).polygon([((x - x0) * scale, (y - y0) * scale) for x, y in points], 1)
        return np.asarray(image, dtype=bool)

    ma, mb = mask(pa), mask(pb)
    union = np.logical_or(ma, mb).sum()
    return float(np.logical_and(ma, mb).sum() / union) if union else 0.0


def _ref(s: Shape) -> dict[str, Any]:
    return {"obj_id": s.id, "job_id": s.job_id, "type": "shape", "shape_type": s.type}


@dataclass
class Tally:
    """Counts over the frames compared so far; `add` is called once per frame."""

    iou_threshold: float = 0.4
    low_overlap_threshold: float = 0.8
    gt: Counter = field(default_factory=Counter)
    ds: Counter = field(default_factory=Counter)
    valid: Counter = field(default_factory=Counter)
    iou_sum: defaultdict = field(default_factory=lambda: defaultdict(float))
    confusion: Counter = field(default_factory=Counter)  # (gt label or None, ds label or None)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    frames: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, frame: int, gt: list[Shape], ds: list[Shape]) -> None:
        gt = [s for s in gt if s.type in COMPARED_TYPES]
        ds = [s for s in ds if s.type in COMPARED_TYPES]
        self.gt.update(s.label_id for s in gt)
        self.ds.update(s.label_id for s in ds)
        pairs: list[tuple[int, int, float]] = []
        if gt and ds:
            # Imported here: scipy.optimize costs every server process ~50 MB resident,
            # and only quality reports need it.
            from scipy.optimize import linear_sum_assignment

            matrix = np.array([[iou(g, d) for d in ds] for g in gt])
            rows, cols = linear_sum_assignment(matrix, maximize=True)
            pairs = [
                (r, c, float(matrix[r, c]))
                for r, c in zip(rows, cols, strict=True)
                if matrix[r, c] >= self.iou_threshold
            ]
        paired_gt = {r for r, _, _ in pairs}
        paired_ds = {c for _, c, _ in pairs}
        conflicts: list[dict[str, Any]] = []
        valid = 0
        for r, c, overlap in pairs:
            g, d = gt[r], ds[c]
            self.confusion[(g.label_id, d.label_id)] += 1
            if g.label_id != d.label_id:
                conflicts.append(self._conflict(frame, "mismatching_label", g, d))
                continue
            valid += 1
            self.valid[g.label_id] += 1
            self.iou_sum[g.label_id] += overlap
            if overlap < self.low_overlap_threshold:
                conflicts.append(self._conflict(frame, "low_overlap", g, d))
        for r, g in enumerate(gt):
            if r not in paired_gt:
                self.confusion[(g.label_id, None)] += 1
                conflicts.append(self._conflict(frame, "missing_annotation", g))
        for c, d in enumerate(ds):
            if c not in paired_ds:
                self.confusion[(None, d.label_id)] += 1
                conflicts.append(self._conflict(frame, "extra_annotation", d))
        self.conflicts.extend(conflicts)
        self.frames[frame] = {
            "gt_count": len(gt),
            "ds_count": len(ds),
            "valid_count": valid,
            "conflict_count": len(conflicts),
            "conflicts": [c["type"] for c in conflicts],
        }

    def _conflict(self, frame: int, kind: str, *shapes: Shape) -> dict[str, Any]:
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
