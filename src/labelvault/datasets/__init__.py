"""The database <-> format bridge: dataset export, import, CVAT task/project backups, their API."""
