"""Spark Structured Streaming compat scenarios (see harness.py)."""
