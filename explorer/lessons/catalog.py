"""Importing this module registers every lesson, topic by topic, in the lecture's order."""
from . import attention, convolution, embeddings, gpt, recurrent  # noqa: F401
