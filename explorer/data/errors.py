"""Errors the data layer raises: a message for the user, or the user's own cancel."""
from __future__ import annotations


class CorpusError(ValueError):
    """A corpus or file cannot be used; str(error) is a message meant for the user."""


class Cancelled(Exception):
    """The user cancelled a long read."""
