"""Importing this module registers every lesson, topic by topic, in the lecture's order."""
from . import embeddings  # noqa: F401
