"""Fault injection against kbroker's replicated cluster in network namespaces (compat/faults/campaign.py)."""
