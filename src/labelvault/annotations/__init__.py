"""Tags, shapes and tracks of jobs and tasks."""
