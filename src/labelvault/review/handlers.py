"""Background work of review: computing quality reports with progress."""

from __future__ import annotations

from labelvault.background.service import JobContext, handler
from labelvault.review import project_quality, quality

CALCULATE = "calculate:quality"


@handler(CALCULATE)
def calculate_quality(ctx: JobContext) -> None:
    with ctx.db.session() as session:
        if ctx.task_id is None:  # a project's report (target "project")
            assert ctx.project_id is not None
            report = project_quality.compute_project_report(session, ctx.project_id, ctx.progress)
        else:
            report = quality.compute_reports(session, ctx.task_id, ctx.progress)
        ctx.result["result_id"] = report.id
