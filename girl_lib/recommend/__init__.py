"""Generation-enhanced job recommendation (paper Sec. V, Eq. 9-15; experiments Sec. VI-D/E/F).

The pipeline, one pure piece per step (the notebook calls them one by one):

1. **Encode** (Eq. 9, 12): a frozen text encoder turns every CV into ``c``, every JD into ``j`` and every
   generated JD into ``j'``. Embeddings are computed once and cached in ``<run_dir>/recommend/emb_*.npy``
   (:func:`cached_embeddings`); several generated JDs per seeker are mean-pooled (:func:`pool_generated`,
   paper Fig. 5).
2. **Features** (:func:`build_features`, :func:`split_features`): one row per (seeker, job, label) interaction;
   with ``recommend.field_features`` also generic field features, the same for every model: (CV, JD) facts
   (:func:`cv_jd_fields`, :func:`girl_lib.extract.pair_features`) for all, and the field-by-field comparison of
   j' with j (:func:`jd_jd_fields`, :mod:`girl_lib.jd_fields`) for the enhanced models.
3. **Predictors** (:class:`MLPPredictor`, :class:`DotPredictor`): Base MLP ``MLP([c; j])`` (Eq. 10) and
   Dot ``c . j`` (Eq. 11); enhanced MLP ``MLP([c; j; j'])`` (Eq. 13) and Dot ``c' = MLP([c; j'])``,
   ``score = c' . j`` (Eq. 14-15). Inputs are z-scored with training statistics; the Dot towers are
   residual, so training starts from the encoder's own cosine similarity.
4. **Train** (:func:`train_predictor`): binary cross-entropy, AdamW, early stopping on validation AUC.
5. **Evaluate** (:func:`evaluate`, :func:`run_experiment`): AUC / LogLoss (and GAUC, the per-seeker AUC)
   on the test rows, their cold-start and warm subsets, mean +- std over seeds; :func:`paired_diffs`: the
   differences GIRL - Base, GIRL - GIRL-SFT, GIRL-SFT - Base on the seeds' ensemble with 95% intervals from
   a seeker-level paired bootstrap; :func:`generation_number_curve` (Fig. 5); :func:`retrieval_metrics`
   (beyond the paper: rank the job pool by ``cos(j', j)`` against ``cos(c, j)``). Beside AUC and GAUC, the
   within-occupation AUC: the test rows whose job is in the seeker's occupation (the data's evaluation-only
   ``same_occupation`` flag selects rows to score; no model reads it).

A non-generative control runs beside the generators: ``Retrieved`` (:func:`retrieve_matched_jds`), whose j' is
the real JD matched to the nearest ``sft`` CV by cosine of the frozen encoder's CV embeddings; GIRL - Retrieved
gets a paired interval like GIRL - Base.

Every design choice is made on ``rec_valid`` only: early stopping, and the enhanced Dot tower's initial
gate (:func:`select_dot_jp_skip`, from ``recommend.dot_jp_skip_grid``); the number of generated JDs pooled for
the tables is ``recommend.n_generated``, fixed in the profile (Fig. 5's curve is descriptive); the test rows
are never read to choose.

:func:`run_recommend` chains them into the ``recommend`` stage and writes ``metrics.json`` and
``tables.md`` (Tables III-IV beside the paper's numbers).

The package, one job a module: :mod:`.embeddings` (step 1: tables, pooling, the cache), :mod:`.features`
(step 2: rows and field features), :mod:`.predictors` (step 3), :mod:`.train` (steps 4-5: training,
evaluation, the Dot gate, Fig. 5's curve), :mod:`.retrieval` (the Retrieved control, retrieval, zero-shot
AUC), :mod:`.paired` (Tables III-IV's summaries and paired intervals) and :mod:`.stage` (the stage). Every
name is importable from ``girl_lib.recommend``.
"""

from ..names import pair_models  # re-exported (notebook 06)
from .embeddings import EmbeddingTable, cached_embeddings, pool_generated, stack_generations
from .features import (REC_SPLITS, Features, build_features, cold_start_mask, cv_jd_fields, enhanced_splits,
                       generation_alternatives, jd_jd_fields, split_features)
from .paired import DIFF_PAIRS, paired_diffs
from .predictors import DotPredictor, FieldDims, MLPPredictor, make_predictor
from .retrieval import (nearest_rows, retrieval_metrics, retrieve_matched_jds, sft_matched_pairs,
                        untrained_cosine_scores, zero_shot_aucs)
from .stage import (MODEL_ORDER, PAPER_TABLE_III, PAPER_TABLE_IV, PREDICTORS, SUBSETS, embed_everything,
                    generation_number_curves, run_recommend, split_test_subsets)
from .train import (ExperimentOptions, evaluate, generation_number_curve, predict, predict_logits, restrict_seeds,
                    run_experiment, score_rows, select_dot_jp_skip, train_predictor)

__all__ = [
    "DIFF_PAIRS", "MODEL_ORDER", "PAPER_TABLE_III", "PAPER_TABLE_IV", "PREDICTORS", "REC_SPLITS", "SUBSETS",
    "DotPredictor", "EmbeddingTable", "ExperimentOptions", "Features", "FieldDims", "MLPPredictor",
    "build_features", "cached_embeddings", "cold_start_mask", "cv_jd_fields", "embed_everything",
    "enhanced_splits", "evaluate", "generation_alternatives", "generation_number_curve", "generation_number_curves",
    "jd_jd_fields", "make_predictor", "nearest_rows", "pair_models", "paired_diffs", "pool_generated", "predict",
    "predict_logits", "restrict_seeds", "retrieval_metrics", "retrieve_matched_jds", "run_experiment",
    "run_recommend", "score_rows", "select_dot_jp_skip", "sft_matched_pairs", "split_features",
    "split_test_subsets", "stack_generations", "train_predictor", "untrained_cosine_scores", "zero_shot_aucs",
]
