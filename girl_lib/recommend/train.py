"""Steps 4-5 of the recommender, training and evaluation: :func:`train_predictor` (BCE, AdamW, early stopping
on validation AUC), scoring rows (AUC, LogLoss, GAUC, within-occupation AUC), :func:`run_experiment` (one
predictor over seeds and test subsets), the Dot gate chosen on rec_valid (:func:`select_dot_jp_skip`) and
the generation-number curve (Fig. 5)."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..metrics import auc, gauc, logloss, mean_std
from ..runio import GirlError, check_finite, set_seed
from .embeddings import EmbeddingTable
from .features import Features, enhanced_splits
from .predictors import FieldDims, _rcfg, make_predictor


def _tensors(feats: Features, model: nn.Module) -> list:
    """``[c, j, jp, f, g]`` as tensors (``None`` where ``model`` does not read the block)."""
    def t(x, used):
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) if used and x is not None else None
    return [t(feats.c, True), t(feats.j, True), t(feats.jp, model.enhanced),
            t(feats.fields, getattr(model, "field_dim", 0)), t(feats.jp_fields, getattr(model, "jp_field_dim", 0))]


def _rows(tensors: list, idx) -> list:
    return [None if x is None else x[idx] for x in tensors]


@torch.no_grad()
def predict_logits(model: nn.Module, feats: Features, batch_size: int = 4096) -> np.ndarray:
    """Scores (logits) of every row, in eval mode."""
    model.eval()
    enhanced = getattr(model, "enhanced", False)
    if enhanced and feats.jp is None:
        raise GirlError("this enhanced model needs features with j' (Features.with_generated)")
    tensors = _tensors(feats, model)
    out = [model(*_rows(tensors, slice(i, i + batch_size))) for i in range(0, len(feats), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)


def predict(model: nn.Module, feats: Features) -> np.ndarray:
    """Match probabilities ``sigmoid(score)``."""
    return 1.0 / (1.0 + np.exp(-predict_logits(model, feats).astype(np.float64)))


def evaluate(model: nn.Module, feats: Features, mask=None) -> dict:
    """AUC and LogLoss (paper Tables III-IV) on all rows or the rows of ``mask``; with seeker ids, also GAUC
    (see :func:`score_rows`)."""
    if mask is not None:
        feats = feats.subset(mask)
    return score_rows(feats.y, predict(model, feats), feats.seeker_ids)


def score_rows(y, probs, seeker_ids=None, within=None) -> dict:
    """``{"auc", "logloss", "n", "n_pos"}`` of probabilities against labels; with ``seeker_ids`` also ``gauc``
    (the platform's AUC per seeker, averaged over seekers with both labels) and ``n_gauc_seekers`` (how
    many such seekers; ``gauc`` is None when there is none). ``within``: a row mask (the evaluation-only
    ``same_occupation`` flag); adds ``auc_within_occupation``, the AUC over those rows only (None when they
    hold one class), and ``n_within``."""
    y, probs = np.asarray(y), np.asarray(probs)
    out = {"auc": auc(y, probs), "logloss": logloss(y, probs), "n": len(y), "n_pos": int(y.sum())}
    if within is not None:
        within = np.asarray(within, dtype=bool)
        out["auc_within_occupation"] = auc(y[within], probs[within]) if _has_both_classes(y[within]) else None
        out["n_within"] = int(within.sum())
    if seeker_ids is not None:
        try:
            out["gauc"], out["n_gauc_seekers"] = gauc(y, probs, seeker_ids, return_n=True)
        except GirlError:  # no seeker with both labels in these rows
            out["gauc"], out["n_gauc_seekers"] = None, 0
    return out


def train_predictor(kind: str, enhanced: bool, feats_train: Features, feats_valid: Features, cfg,
                    seed: int = 0) -> tuple[nn.Module, dict]:
    """Train one predictor with binary cross-entropy and AdamW; early stopping on validation AUC.

    Training stops after ``patience`` epochs without a better validation AUC (validation BCE when the
    validation rows hold one class only) and the weights of the best epoch are restored.
    Returns ``(model in eval mode, history)``; ``history["epochs"]`` has one dict per epoch.
    """
    rc = _rcfg(cfg)
    if rc.epochs < 1 or rc.patience < 1 or rc.batch_size < 1:
        raise GirlError(f"recommend.epochs, .patience and .batch_size must be >= 1, got {rc.epochs}, "
                        f"{rc.patience}, {rc.batch_size}")
    if len(feats_train) == 0 or len(feats_valid) == 0:
        raise GirlError(f"train_predictor needs rows: {len(feats_train)} train, {len(feats_valid)} valid")
    if enhanced and (feats_train.jp is None or feats_valid.jp is None):
        raise GirlError("an enhanced predictor needs j' in the train and valid features")
    set_seed(seed)
    jp_dim = feats_train.jp.shape[1] if enhanced else None
    model = make_predictor(kind, enhanced, feats_train.c.shape[1], feats_train.j.shape[1], rc, jp_dim,
                           _field_dims(feats_train, enhanced))
    model.init_from_data(feats_train)
    opt = torch.optim.AdamW(model.parameters(), lr=rc.learning_rate, weight_decay=rc.weight_decay, foreach=True)
    loss_fn = nn.BCEWithLogitsLoss()
    tensors = _tensors(feats_train, model)
    y = torch.from_numpy(feats_train.y.astype(np.float32))
    y_valid = feats_valid.y
    use_auc = len(np.unique(y_valid)) == 2
    gen = torch.Generator().manual_seed(seed)
    history = {"epochs": [], "criterion": "valid_auc" if use_auc else "valid_loss", "best_epoch": 0,
               "stopped_early": False}
    best_score, best_state, bad = -math.inf, copy.deepcopy(model.state_dict()), 0
    for epoch in range(1, rc.epochs + 1):
        model.train()
        perm, total = torch.randperm(len(y), generator=gen), 0.0
        for start in range(0, len(y), rc.batch_size):
            idx = perm[start:start + rc.batch_size]
            loss = loss_fn(model(*_rows(tensors, idx)), y[idx])
            check_finite(loss, f"{kind} predictor loss (epoch {epoch})")
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        logits = predict_logits(model, feats_valid)
        valid_loss = float(loss_fn(torch.from_numpy(logits), torch.from_numpy(y_valid.astype(np.float32))))
        valid_auc = auc(y_valid, logits) if use_auc else None
        history["epochs"].append({"epoch": epoch, "train_loss": total / len(y), "valid_loss": valid_loss,
                                  "valid_auc": valid_auc})
        score = valid_auc if use_auc else -valid_loss
        if score > best_score:
            best_score, best_state, bad = score, copy.deepcopy(model.state_dict()), 0
            history["best_epoch"] = epoch
        else:
            bad += 1
            if bad >= rc.patience:
                history["stopped_early"] = True
                break
    model.load_state_dict(best_state)
    model.eval()
    history["best_valid_auc"] = history["epochs"][history["best_epoch"] - 1]["valid_auc"]
    return model, history


def _field_dims(feats: Features, enhanced: bool) -> FieldDims:
    """Widths of the field blocks a predictor trained on ``feats`` reads: (CV, JD) fields for every model,
    (j', j) fields for enhanced ones only (a base model never sees j')."""
    field_dim = 0 if feats.fields is None else int(feats.fields.shape[1])
    jp_field_dim = int(feats.jp_fields.shape[1]) if enhanced and feats.jp_fields is not None else 0
    return FieldDims(field_dim, jp_field_dim)


def _has_both_classes(y) -> bool:
    return len(np.unique(np.asarray(y))) == 2


@dataclass(frozen=True)
class ExperimentOptions:
    """The optional parts of one :func:`run_experiment` (its docstring says what each does); the default
    trains every seed afresh and scores all test rows."""

    subsets: dict | None = None
    """``{name: test row mask}``; default all rows."""
    trained: dict | None = None
    """``{seed: (model, history)}`` already trained with these very settings."""
    test_alternatives: Sequence[Features] | None = None
    """The test rows again with other generated JDs as ``j'``."""
    within: np.ndarray | None = None
    """The test rows' evaluation-only ``same_occupation`` mask."""


def run_experiment(kind: str, enhanced: bool, train: Features, valid: Features, test: Features, cfg,
                   seeds: Sequence[int] | None = None, options: ExperimentOptions | None = None) -> dict:
    """Train once per seed and evaluate on each test subset (``options.subsets``: ``{name: row mask}``, default
    all rows). ``options`` (:class:`ExperimentOptions`) holds the optional parts below.

    ``trained`` maps a seed to an already trained ``(model, history)`` of :func:`train_predictor` with these
    very settings (e.g. from :func:`select_dot_jp_skip`); it is evaluated instead of training again.
    ``test_alternatives``: the test rows again with other generated JDs as ``j'``; their predictions go to
    ``test_probs_alt`` [seeds, alternatives, rows] (the paired intervals then cover which JD was drawn).
    ``within``: the test rows' evaluation-only ``same_occupation`` mask (each subset then also reports
    ``auc_within_occupation``); it only selects rows to score, the model never reads it.
    Returns ``{subset: {"auc", "auc_std", "logloss", "logloss_std", "gauc", ..., "per_seed": [...]},
    "best_epochs": [...], "valid_aucs": [...], "test_probs": [seeds, test rows]}``; a subset whose labels
    hold one class only is left out (AUC is undefined there).
    """
    seeds = list(_rcfg(cfg).seeds if seeds is None else seeds)
    if not seeds:
        raise GirlError("run_experiment needs at least one seed")
    options = options or ExperimentOptions()
    subsets, trained, test_alternatives, within = (options.subsets, options.trained, options.test_alternatives,
                                                   options.within)
    subsets = {"all": np.ones(len(test), dtype=bool)} if subsets is None else subsets
    subsets = {k: np.asarray(m, dtype=bool) for k, m in subsets.items()}
    subsets = {k: m for k, m in subsets.items() if _has_both_classes(test.y[m])}
    per_seed = {k: [] for k in subsets}
    best_epochs, valid_aucs, test_probs, alt_probs = [], [], [], []
    for seed in seeds:
        model, hist = (trained or {}).get(seed) or train_predictor(kind, enhanced, train, valid, cfg, seed)
        best_epochs.append(hist["best_epoch"])
        valid_aucs.append(hist["best_valid_auc"])
        probs = predict(model, test)
        test_probs.append(probs)
        if test_alternatives:
            alt_probs.append(np.stack([predict(model, alt) for alt in test_alternatives]))
        for name, mask in subsets.items():
            ids = None if test.seeker_ids is None else test.seeker_ids[mask]
            per_seed[name].append(score_rows(test.y[mask], probs[mask], ids,
                                             None if within is None else np.asarray(within, dtype=bool)[mask]))
    out = {"best_epochs": best_epochs, "seeds": seeds, "valid_aucs": valid_aucs, "test_probs": np.stack(test_probs)}
    if alt_probs:
        out["test_probs_alt"] = np.stack(alt_probs)
    for name, rows in per_seed.items():
        out[name] = _aggregate(rows, rows[0]["n"])
    return out


def _aggregate(rows: list[dict], n: int) -> dict:
    auc_m, auc_s = mean_std([r["auc"] for r in rows])
    ll_m, ll_s = mean_std([r["logloss"] for r in rows])
    out = {"auc": auc_m, "auc_std": auc_s, "logloss": ll_m, "logloss_std": ll_s, "n": n,
           "per_seed": [{k: r[k] for k in ("auc", "logloss", "gauc", "auc_within_occupation") if k in r}
                        for r in rows]}
    if rows and all(r.get("auc_within_occupation") is not None for r in rows):
        out["auc_within_occupation"], out["auc_within_occupation_std"] = mean_std(
            [r["auc_within_occupation"] for r in rows])
    if all(r.get("gauc") is not None for r in rows):
        out["gauc"], out["gauc_std"] = mean_std([r["gauc"] for r in rows])
        out["n_gauc_seekers"] = rows[0].get("n_gauc_seekers")
    return out


def select_dot_jp_skip(train: Features, valid: Features, cfg, seeds: Sequence[int] | None = None
                       ) -> tuple[dict, dict]:
    """Choose the enhanced Dot tower's initial gate ``g`` from ``recommend.dot_jp_skip_grid`` on ``rec_valid``.

    Every grid value is trained with each of the configured seeds (all of ``recommend.seeds``, not just the
    first: the chosen value's models are the ones the tables then evaluate, so only the other grid values
    cost extra training); the value with the best mean validation AUC (each seed's early-stopped best)
    wins, the first one on a tie. The test rows are not an argument: they cannot be read here.

    Returns ``({"grid", "valid_auc", "chosen"}, {seed: (model, history)} of the chosen value)``; pass the
    latter to :func:`run_experiment` as ``trained`` with ``dot_jp_skip`` set to the chosen value.
    """
    rc = _rcfg(cfg)
    grid = [float(g) for g in rc.dot_jp_skip_grid]
    if not grid:
        raise GirlError("recommend.dot_jp_skip_grid is empty; give at least one value")
    seeds = list(rc.seeds if seeds is None else seeds)
    best, best_runs, scores = 0, None, []
    for i, g in enumerate(grid):
        runs = {s: train_predictor("Dot", True, train, valid, replace(rc, dot_jp_skip=g), s) for s in seeds}
        aucs = [hist["best_valid_auc"] for _, hist in runs.values()]
        if any(a is None for a in aucs):
            raise GirlError("rec_valid holds one class, so no validation AUC can choose dot_jp_skip; give "
                            "recommend.dot_jp_skip_grid a single value")
        scores.append(float(np.mean(aucs)))
        if best_runs is None or scores[-1] > scores[best]:
            best, best_runs = i, runs
    return {"grid": grid, "valid_auc": scores, "chosen": grid[best]}, best_runs


def restrict_seeds(result: dict, seeds: Sequence[int]) -> dict | None:
    """A :func:`run_experiment` result re-aggregated over a subset of its seeds (None if one is missing)."""
    if not seeds or any(s not in result["seeds"] for s in seeds):
        return None
    idx = [result["seeds"].index(s) for s in seeds]
    out = {"seeds": list(seeds), "best_epochs": [result["best_epochs"][i] for i in idx]}
    for name, r in result.items():
        if isinstance(r, dict) and "per_seed" in r:
            out[name] = _aggregate([r["per_seed"][i] for i in idx], r["n"])
            if "gauc" in out[name]:
                out[name]["n_gauc_seekers"] = r.get("n_gauc_seekers")
    return out


def generation_number_curve(kind: str, splits: dict[str, Features], gen_table: EmbeddingTable, ns: Sequence[int],
                            cfg, seeds: Sequence[int] | None = None, precomputed: dict | None = None,
                            jp_fields: dict | None = None) -> dict:
    """Paper Fig. 5: test AUC of the enhanced predictor with j' mean-pooled over n generated JDs.

    ``splits`` holds ``train``/``valid``/``test`` features (any ``jp`` is replaced); ``gen_table`` holds
    [seekers, N, d] generated-JD embeddings. ``precomputed`` maps an n to an existing
    :func:`run_experiment` result (reused, not retrained). ``jp_fields``: ``{split: [R, N, G]}`` (j', j)
    field features, pooled like the embeddings. Returns ``{n: run_experiment result}``. A descriptive
    curve on the test rows: the tables' n is ``recommend.n_generated``, never read off this curve.
    """
    curve = {}
    for n in ns:
        if precomputed and n in precomputed:
            curve[n] = precomputed[n]
            continue
        split = enhanced_splits({k: splits[k] for k in ("train", "valid", "test")}, gen_table, n, jp_fields)
        curve[n] = run_experiment(kind, True, split["train"], split["valid"], split["test"], cfg, seeds)
    return curve
