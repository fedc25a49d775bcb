"""Tests of the media domain: sources, ingest, frames, uploads, codecs and the SDK."""
