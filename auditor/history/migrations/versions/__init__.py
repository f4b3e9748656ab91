"""History schema revisions, oldest first (see ../__init__.py)."""
