"""Background work of review: computing quality reports with progress."""

from __future__ import annotations

from labelvault.background.service import JobContext, handler
from labelvault.review import quality

CALCULATE = "calculate:quality"


@handler(CALCULATE)
def calculate_quality(ctx: JobContext) -> None:
    assert ctx.task_id is not None
    with ctx.db.session() as session:
        report = quality.compute_reports(session, ctx.task_id, ctx.progress)
        ctx.result["result_id"] = report.id
