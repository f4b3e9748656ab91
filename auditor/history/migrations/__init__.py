"""Alembic migrations of the history database, shipped in the package.

`auditor.history.store` runs them programmatically (no alembic.ini): every `--history`
target is created or upgraded to `head` before it is used. A new migration goes in
`versions/` with `down_revision` set to the current head; `script.py.mako` is the
template `alembic revision` uses.
"""
