"""Projects and their label schemas."""
