"""API tests of dataset import/export and CVAT backups."""
