"""Annotation guides: a project's or task's markdown instructions and their images (CVAT's)."""
