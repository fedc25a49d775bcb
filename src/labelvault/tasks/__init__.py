"""Tasks, segments and jobs."""
