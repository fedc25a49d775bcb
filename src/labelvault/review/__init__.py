"""Review: issues and comments on jobs, ground truth and quality reports."""
