"""Operability: the audit log, health and readiness probes, metrics and structured logs."""
