"""Visitscore: an open-source mystery-shopping platform (the server package)."""
