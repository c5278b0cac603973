"""Imports every tab's state so that each registers the kinds of run it shows."""
from . import (  # noqa: F401 - imported for their registration
    attention,
    attention_lessons,
    conv_field,
    convolution,
    embedding_compare,
    embedding_cost,
    embeddings,
    finetune,
    generation_cost,
    gpt,
    measurements,
    recurrent,
    recurrent_distance,
    recurrent_scales,
    recurrent_types,
)
