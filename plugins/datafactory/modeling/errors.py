"""Errors that callers outside modeling catch, in a module light enough for a task to import."""

from __future__ import annotations


class NoChampionError(RuntimeError):
    """The scenario has no champion model to score with."""
