"""Cloud storages attached to the instance (S3, Azure Blob, GCS), as CVAT's /api/cloudstorages."""
