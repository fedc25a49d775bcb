"""LabelVault: a self-hosted image annotation server speaking CVAT's REST API."""

__version__ = "0.1.0"

# The version we report at /api/server/about: cvat-sdk/cvat-cli 2.80 accept 2.80.x and 2.81.x
# without a warning, and crash on a version string they cannot parse.
CVAT_COMPAT_VERSION = "2.80.0"
