"""Concrete training jobs; importing this package registers them."""
from . import (
    attention_cost_job,
    conv_field_job,
    conv_job,
    embedding_compare_job,
    finetune_job,
    finetune_sweep_job,
    gpt_job,
    pretrain_job,
    rnn_compare_job,
    rnn_job,
    rnn_sweep_job,
    svd_job,
    word2vec_job,
)

__all__ = [
    "attention_cost_job",
    "conv_field_job",
    "conv_job",
    "embedding_compare_job",
    "finetune_job",
    "finetune_sweep_job",
    "gpt_job",
    "pretrain_job",
    "rnn_compare_job",
    "rnn_job",
    "rnn_sweep_job",
    "svd_job",
    "word2vec_job",
]
