"""The course notebooks' shared set-up: profile, run dir, reference results, Colab (one tested place).

Every notebook starts with::

    from girl_lib import course
    C = course.setup("ppo")                  # this notebook's pipeline stage
    cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir

``setup`` picks the profile (argument, else ``$GIRL_PROFILE``, else ``colab`` when a GPU is present,
else ``tiny``), the run dir (argument, else ``$GIRL_RUN_DIR``, else ``runs/<profile>`` at the repository
root, or on Google Drive with ``use_drive=True`` on Colab), says which earlier stages the notebook needs
and roughly how long each takes, and then either

- **trains** what is missing (``tiny`` always: it takes seconds), or
- shows the **reference run** shipped in ``reference/<profile>/`` (the ``cpu`` main job's small outputs,
  no weights) when this stage's results are not in the run dir and ``TRAIN`` is not set: the notebook
  then reads its results from ``RESULTS_DIR`` = the reference folder, in seconds.

``RESULTS_DIR`` is where the notebook reads results (metrics, generations, verdicts); datasets are always
read from ``RUN_DIR`` (the data stage takes seconds, so it is built there in every mode).

The repository URL of the Colab badges and the clone cell is :data:`DEFAULT_REPO_URL` (a fork changes it
with ``python -m girl_lib.course set-repo-url https://github.com/ME/girl-course``, which rewrites this
line and every notebook) and ``$GIRL_REPO_URL`` overrides it at run time.

The package, one job a module: :mod:`.plan` (profile, train/read/reference decision, times),
:mod:`.session` (:func:`setup` and :class:`Session`), :mod:`.colab` (Colab, GPU, install, Drive),
:mod:`.reference` (copying and reading reference runs), :mod:`.exercises` (:func:`check`),
:mod:`.notebooks` (jupytext sources, execution, stamps), :mod:`.repo` (root, URL, badges) and :mod:`.cli`
(``python -m girl_lib.course``). Every name is importable from ``girl_lib.course``.
"""

# This package is imported first in every notebook, on Colab before colab_install() has run, and by the
# notebook tools (`python -m girl_lib.course sync`). So what its modules import at their top must be on a bare
# Colab runtime (numpy: yes; transformers, trl, peft, datasets: not yet) and must not need torch (see has_gpu),
# nor load pandas (scikit-learn does) before colab_install may replace it. Those are imported where they are
# used, each with a comment saying so.

from ..pipeline import STAGES  # noqa: F401 - re-exported (tests)
from ..runio import read_json  # noqa: F401 - re-exported (tests, notebook solutions)
from .cli import main
from .colab import (COLAB_DIR, DRIVE_MOUNT, DRIVE_RUNS, EMBEDDED_MODEL_NAMES, colab_install, drive_wanted, gpu_name,
                    has_gpu, install_commands, mount_drive, needs_embedded_models, needs_restart, on_colab)
from .colab import _pin_versions  # noqa: F401 - re-exported (tests)
from .exercises import FUNCTION_EXERCISES, FunctionExercise, check
from .notebooks import (NB_DIR, code_hash, execute_notebook, ipynb_sources, notebook_sources, reference_env,
                        stale_outputs, stamp, sync_notebook, write_notebook)
from .plan import (CARD_SPEEDUP, NOTEBOOKS, STAGE_MINUTES_ESTIMATE, Decision, card_speedup, choose_profile, decide,
                   minutes_to_train, parse_train, plan_lines, stage_done, stage_minutes)
from .reference import (FORBIDDEN_PARTS, FORBIDDEN_SUFFIXES, MAX_FILE_BYTES, MAX_TOTAL_BYTES, REFERENCE_MARKER,
                        REFERENCE_PATTERNS, REFERENCE_PROFILES, SKIPPED_FILES, ReferenceError, check_reference_file,
                        copy_reference, data_matches_reference, reference_covers, reference_dir, reference_files,
                        reference_info, run_hash)
from .repo import BRANCH, DEFAULT_REPO_URL, REPO_URL, ROOT, URL_FILES, badge, colab_url, set_repo_url
from .session import LORA_CONFIG_FIELDS, SFT_CONFIG_FIELDS, Session, config_fields, setup, sft_training_setup

__all__ = [
    "BRANCH", "CARD_SPEEDUP", "COLAB_DIR", "DEFAULT_REPO_URL", "DRIVE_MOUNT", "DRIVE_RUNS", "EMBEDDED_MODEL_NAMES",
    "FORBIDDEN_PARTS", "FORBIDDEN_SUFFIXES", "FUNCTION_EXERCISES", "LORA_CONFIG_FIELDS", "MAX_FILE_BYTES",
    "MAX_TOTAL_BYTES", "NB_DIR", "NOTEBOOKS", "REFERENCE_MARKER", "REFERENCE_PATTERNS", "REFERENCE_PROFILES",
    "REPO_URL", "ROOT", "SFT_CONFIG_FIELDS", "SKIPPED_FILES", "STAGE_MINUTES_ESTIMATE", "URL_FILES",
    "Decision", "FunctionExercise", "ReferenceError", "Session",
    "badge", "card_speedup", "check", "check_reference_file", "choose_profile", "code_hash", "colab_install",
    "colab_url", "config_fields", "copy_reference", "data_matches_reference", "decide", "drive_wanted",
    "execute_notebook", "gpu_name", "has_gpu", "install_commands", "ipynb_sources", "main", "minutes_to_train",
    "mount_drive", "needs_embedded_models", "needs_restart", "notebook_sources", "on_colab", "parse_train",
    "plan_lines", "reference_covers", "reference_dir", "reference_env", "reference_files", "reference_info",
    "run_hash", "set_repo_url", "setup", "sft_training_setup", "stage_done", "stage_minutes", "stale_outputs",
    "stamp", "sync_notebook", "write_notebook",
]
