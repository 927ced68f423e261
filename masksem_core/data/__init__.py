"""Readers of the original skeleton formats, the prepared format, windows and demo data."""
