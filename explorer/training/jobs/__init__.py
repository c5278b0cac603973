"""Concrete training jobs; importing this package registers them."""
from . import word2vec_job  # noqa: F401
from . import conv_job  # noqa: F401
from . import svd_job  # noqa: F401
from . import rnn_job  # noqa: F401
from . import rnn_sweep_job  # noqa: F401
from . import gpt_job  # noqa: F401
from . import rnn_compare_job  # noqa: F401
from . import embedding_compare_job  # noqa: F401
from . import pretrain_job  # noqa: F401
from . import finetune_job  # noqa: F401
from . import finetune_sweep_job  # noqa: F401
