"""Imports every tab's state so that each registers the kinds of run it shows."""
from . import convolution  # noqa: F401
from . import measurements  # noqa: F401
from . import finetune, gpt  # noqa: F401
from . import recurrent, recurrent_distance  # noqa: F401
from . import embedding_compare, embeddings  # noqa: F401
from . import attention  # noqa: F401
