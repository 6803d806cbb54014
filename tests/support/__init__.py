"""Shared test helpers: tiny configs, random Google checkpoints, fixtures and serving helpers."""
