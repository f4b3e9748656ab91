"""Jinja templates and CSS for the reports (shipped as package data)."""
