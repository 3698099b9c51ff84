"""GIRL: generative job recommendation with LLMs (Zheng et al., 2023), as a runnable course.

Modules, one concept each: ``config`` (profiles), ``data`` (synthetic world, loaders, splits),
``prompts``, ``models``, ``losses`` (paper Eq. 1-8), ``sft``, ``reward``, ``ppo``, ``generate``,
``judge``, ``recommend`` and ``metrics`` (Eq. 9-15), ``plots``, ``pipeline`` and ``cli``.
"""

__version__ = "0.1.0"
