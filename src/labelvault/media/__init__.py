"""Data ingestion, frames and frame serving."""
