"""Tests of task data: sources, bad input, serving, editing, recovery and the SDK."""
