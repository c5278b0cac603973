"""Lessons of the gpt part of the lecture (registered by explorer.lessons.catalog)."""
from __future__ import annotations
