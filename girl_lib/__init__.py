"""GIRL: generative job recommendation with LLMs (Zheng et al., 2023), as a runnable course.

Modules, one concept each: ``config`` (profiles), ``data`` (synthetic world, loaders, splits),
``prompts``, ``models``, ``losses`` (paper Eq. 1-8), ``sft``, ``reward``, ``ppo``, ``generate``,
``judge``, ``recommend`` and ``metrics`` (Eq. 9-15), ``plots``, ``pipeline`` and ``cli``.
"""

import os as _os
import warnings as _warnings

# On a GPU, variable-length batches fragment PyTorch's caching allocator (far more memory reserved than
# allocated in SFT: benchmarks/README.md, section 4); expandable segments let it grow blocks in place. A default only: an explicit
# setting wins, and it must be in place before CUDA starts, hence here.
_os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")

# tqdm.auto warns once per kernel that ipywidgets is missing and falls back to text bars, which is what the
# course wants; the warning would otherwise print a local path into every committed notebook's outputs.
_warnings.filterwarnings("ignore", message=r"IProgress not found")

__version__ = "0.1.0"
