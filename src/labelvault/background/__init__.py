"""Long-running requests: queue, progress and status."""
