"""Caching: strategies, the request builder, prefix map, ledger, prediction and explanations."""
