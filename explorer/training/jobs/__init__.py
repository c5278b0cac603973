"""Concrete training jobs; importing this package registers them."""
from . import word2vec_job  # noqa: F401
from . import conv_job  # noqa: F401
