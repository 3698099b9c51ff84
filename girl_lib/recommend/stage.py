"""The ``recommend`` stage (:func:`run_recommend`) and its steps: embed every text of the run
(:func:`embed_everything`), the test subsets, Tables III-IV (:func:`_train_tables`), Fig. 5's curves
(:func:`generation_number_curves`), then ``metrics.json`` and ``tables.md``."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import names, paper
from ..config import validate_profile
from ..data import load_data
from ..extract import FEATURE_NAMES
from ..generate import generated_models, load_generations
from ..jd_fields import JD_PAIR_FEATURE_NAMES
from ..names import MODEL_NAMES
from ..report import render_recommend_tables
from ..runio import GirlError, atomic_write_json, atomic_write_text, clear_done, mark_done, require_stage
from .embeddings import EmbeddingTable, _default_encode_fn, cached_embeddings, stack_generations
from .features import Features, cold_start_mask, enhanced_splits, generation_alternatives, split_features
from .paired import _summarise, paired_diffs
from .retrieval import _add_retrieved, _retrieval_study, sft_matched_pairs, zero_shot_aucs
from .train import (
    ExperimentOptions,
    _has_both_classes,
    generation_number_curve,
    restrict_seeds,
    run_experiment,
    select_dot_jp_skip,
)

PREDICTORS, MODEL_ORDER, SUBSETS = names.PREDICTORS, names.REC_MODEL_ORDER, names.REC_SUBSETS
"""Recommenders, rows of Tables III-IV and test subsets -> ``metrics.json`` keys (:mod:`girl_lib.names`)."""

PAPER_TABLE_III, PAPER_TABLE_IV = paper.TABLE_III, paper.TABLE_IV
"""Paper Tables III (all test rows) and IV (cold start), from :mod:`girl_lib.paper`."""


def _split_columns(data, split: str, test: bool) -> dict:
    need = ["seeker_id", "cv", "job_id", "jd", "label"]
    if split not in data:
        raise GirlError(f"the data has no '{split}' split; rerun `girl data`")
    ds = data[split]
    cols = set(getattr(ds, "column_names", None) or ds.keys())
    missing = [c for c in need if c not in cols]
    if missing:
        raise GirlError(f"split '{split}' lacks columns {missing}; the recommender needs {need}")
    flags = [c for c in ("cold_start", "same_occupation") if test and c in cols]  # evaluation only
    out = {c: list(ds[c]) for c in need + flags}
    out["seeker_id"] = [str(s) for s in out["seeker_id"]]
    out["job_id"] = [str(j) for j in out["job_id"]]
    out["label"] = [int(v) for v in out["label"]]
    if not out["label"]:
        raise GirlError(f"split '{split}' is empty")
    return out


def embed_everything(cfg, run_dir: Path, cols: dict, encode_fn, notes: list, sft: dict | None = None) -> dict:
    """Step 1: frozen-encoder embeddings (cached in ``recommend/``) of every seeker's CV, every job's JD and
    every generated JD (Eq. 12; ``[seekers, N, d]`` per generator that exists); with ``sft``
    (:func:`sft_matched_pairs`), also the Retrieved control (:func:`_add_retrieved`). Returns ``{"cv", "job",
    "generated": {table name: EmbeddingTable}, "generated_texts": {table name: {seeker: [JD texts]}},
    "retrieved_neighbour", "seekers", "jobs", "n_encoded"}``."""
    cv_of, jd_of = {}, {}  # texts of every seeker and job (first occurrence wins)
    for split in cols.values():
        for s, cv in zip(split["seeker_id"], split["cv"]):
            cv_of.setdefault(s, cv)
        for j, jd in zip(split["job_id"], split["jd"]):
            jd_of.setdefault(j, jd)
    seekers, jobs = sorted(cv_of), sorted(jd_of)
    n_encoded = [0]
    base_encode = encode_fn or _default_encode_fn(cfg)

    def encode(texts):
        n_encoded[0] += len(texts)
        return base_encode(texts)

    # Cache key: the encoder's identity and the truncation length (a custom encode_fn by its name).
    fn_name = getattr(encode_fn, "__qualname__", type(encode_fn).__name__)
    encoder_name = (cfg.models.encoder if encode_fn is None
                    else f"custom:{getattr(encode_fn, '__module__', '')}.{fn_name}")
    key = f"{encoder_name}|{cfg.recommend.embed_max_length}"
    cv_table = EmbeddingTable(seekers, cached_embeddings(run_dir, "cv", [cv_of[s] for s in seekers], encode, key))
    job_table = EmbeddingTable(jobs, cached_embeddings(run_dir, "jd", [jd_of[j] for j in jobs], encode, key))
    gen_tables: dict[str, EmbeddingTable] = {}
    gen_texts: dict[str, dict] = {}
    for gkey in generated_models(run_dir, cfg.generate.models):  # a recorded model's missing file is an error
        name = MODEL_NAMES[gkey]
        rec_gens = load_generations(run_dir, gkey, "rec")
        if not rec_gens:  # generated only for judge_eval (see generate.rec_models)
            notes.append(f"no rec generations for '{gkey}' ({name}); its rows are skipped")
            continue
        texts, n = stack_generations(rec_gens, seekers)
        vecs = cached_embeddings(run_dir, f"gen_{gkey}", texts, encode, key)
        gen_tables[name] = EmbeddingTable(seekers, vecs.reshape(len(seekers), n, vecs.shape[1]))
        gen_texts[name] = {s: list(rec_gens[s][:n]) for s in seekers}
    if not gen_tables:
        raise GirlError(f"no generated JDs under {run_dir / 'generate'}; run `girl generate` first")
    neighbour = None
    if sft is not None:
        gen_tables["Retrieved"], gen_texts["Retrieved"], neighbour = _add_retrieved(run_dir, sft, seekers,
                                                                                    cv_table, encode, key)
    return {"cv": cv_table, "job": job_table, "generated": gen_tables, "generated_texts": gen_texts,
            "retrieved_neighbour": neighbour, "seekers": seekers, "jobs": jobs, "n_encoded": n_encoded[0]}


def split_test_subsets(cols: dict, test: Features, notes: list) -> tuple[dict, np.ndarray]:
    """Step 2: the test rows' subsets ``{"all", "cold_start", "warm", "within_occupation"}`` (row masks; the last
    from the data's evaluation-only ``same_occupation`` flag, where it exists) and the cold-start mask.
    The data's ``cold_start`` flag wins over the one computed from rec_train (a disagreement is noted)."""
    computed_cold = cold_start_mask(cols["rec_train"]["seeker_id"], cols["rec_test"]["seeker_id"])
    if "cold_start" in cols["rec_test"]:
        cold = np.asarray(cols["rec_test"]["cold_start"], dtype=bool)
        if (cold != computed_cold).any():
            notes.append(f"{int((cold != computed_cold).sum())} rec_test rows have a cold_start flag that "
                         f"disagrees with rec_train; the flag from the data is used")
    else:
        cold = computed_cold
        notes.append("rec_test has no cold_start column; it was computed from rec_train")
    if not _has_both_classes(test.y):
        raise GirlError(f"rec_test holds only label {int(test.y[0])}; AUC needs positives and negatives")
    subsets = {"all": np.ones(len(test), dtype=bool), "cold_start": cold}
    if cold.any() and (~cold).any():
        subsets["warm"] = ~cold
    if "same_occupation" in cols["rec_test"]:  # evaluation only: selects rows, never a model input
        subsets["within_occupation"] = np.asarray(cols["rec_test"]["same_occupation"], dtype=bool)
    else:
        notes.append("rec_test has no same_occupation column; no within-occupation AUC")
    for name, mask in subsets.items():
        if not _has_both_classes(test.y[mask]):
            notes.append(f"test subset '{name}' ({int(mask.sum())} rows) holds one class only; AUC skipped there")
    return subsets, cold


def _train_tables(feats: dict, gen_tables: dict, n_main: dict, rc, subsets: dict, jp_fields: dict | None = None,
                  within: np.ndarray | None = None) -> tuple[dict, dict, dict]:
    """Tables III-IV: every predictor x model, once per seed. Each enhanced Dot model first chooses its gate
    on rec_valid (:func:`select_dot_jp_skip`; the test rows are not passed there) and reuses those runs.
    ``jp_fields``: ``{model: {split: [R, N, G]}}`` (j', j) field features (``None``: off); ``within``: the
    test rows' evaluation-only same-occupation mask.

    Returns ``(results[pred][model], selection[model], the RecommendConfig each Dot model used)``.
    """
    results = {p: {} for p in PREDICTORS}
    selection, dot_rc = {}, {}
    for pred in PREDICTORS:
        results[pred]["Base"] = run_experiment(pred, False, feats["train"], feats["valid"], feats["test"], rc,
                                               options=ExperimentOptions(subsets=subsets, within=within))
        for name, table in gen_tables.items():
            model_fields = (jp_fields or {}).get(name)
            split = enhanced_splits(feats, table, n_main[name], model_fields)
            tr, va, te = split["train"], split["valid"], split["test"]
            model_rc, trained = rc, None
            if pred == "Dot":
                selection[name], trained = select_dot_jp_skip(tr, va, rc)
                model_rc = dot_rc[name] = replace(rc, dot_jp_skip=selection[name]["chosen"])
            alternatives = generation_alternatives(feats["test"], table, n_main[name],
                                                   None if model_fields is None else model_fields["test"])
            options = ExperimentOptions(subsets=subsets, trained=trained, test_alternatives=alternatives, within=within)
            results[pred][name] = run_experiment(pred, True, tr, va, te, model_rc, options=options)
    return results, selection, dot_rc


def generation_number_curves(feats: dict, gen_tables: dict, results: dict, n_main: dict, dot_rc: dict,
                             rc, jp_fields: dict | None = None) -> tuple[dict, list]:
    """Step 4, Fig. 5: MLP and Dot test AUC with j' pooled over n = 1..N generated JDs, on ``curve_seeds``;
    the point n = ``n_generated`` reuses the tables' runs (same seeds). Returns ``(curves, curve_seeds)``."""
    curve_seeds = list(rc.seeds[:1] if rc.curve_seeds is None else rc.curve_seeds)
    curves: dict = {}
    for pred, out_key in (("MLP", "generation_number"), ("Dot", "generation_number_dot")):
        curves[out_key], curves[out_key + "_std"] = {}, {}
        for name in ("GIRL", "GIRL-SFT"):
            if name not in gen_tables:
                continue
            reuse = restrict_seeds(results[pred][name], curve_seeds)
            pre = {n_main[name]: reuse} if reuse and "all" in reuse else {}
            ns = range(1, gen_tables[name].vectors.shape[1] + 1)
            curve = generation_number_curve(pred, feats, gen_tables[name], ns, dot_rc[name] if pred == "Dot" else rc,
                                            seeds=curve_seeds, precomputed=pre,
                                            jp_fields=(jp_fields or {}).get(name))
            curves[out_key][name] = {str(n): r["all"]["auc"] for n, r in curve.items() if "all" in r}
            curves[out_key + "_std"][name] = {str(n): r["all"]["auc_std"] for n, r in curve.items() if "all" in r}
    return curves, curve_seeds


def run_recommend(cfg, run_dir, data=None, encode_fn: Callable[[list[str]], np.ndarray] | None = None) -> dict:
    """The ``recommend`` stage: Tables III-IV, Fig. 5 and retrieval analogues into ``<run_dir>/recommend/``.

    Steps: embed (:func:`embed_everything`, with the Retrieved control where the data has an sft split) ->
    features (:func:`split_features`, field features where ``recommend.field_features``) -> test subsets
    (:func:`split_test_subsets`, within-occupation rows included) -> Tables III-IV
    (:func:`_train_tables`, the Dot gate chosen on rec_valid) -> Fig. 5 (:func:`generation_number_curves`)
    -> retrieval and zero-shot references -> paired seeker-level intervals (:func:`paired_diffs`) -> write.
    ``data`` (a DatasetDict or ``{split: {column: list}}``) defaults to ``girl_lib.data.load_data(run_dir)``;
    ``encode_fn(texts) -> [N, d]`` defaults to the profile's frozen encoder. Both are there for notebooks
    and tests. Returns the dict written to ``metrics.json``.
    """
    validate_profile(cfg)  # before any work, also when a field was set by hand after the profile was built
    t0 = time.time()
    run_dir = Path(run_dir)
    require_stage(run_dir, "generate", "recommend")
    clear_done(run_dir, "recommend")
    rc = cfg.recommend
    if data is None:
        data = load_data(run_dir)
    cols = {s: _split_columns(data, s, s == "rec_test") for s in ("rec_train", "rec_valid", "rec_test")}
    notes: list[str] = []
    emb = embed_everything(cfg, run_dir, cols, encode_fn, notes, sft=sft_matched_pairs(data, notes))
    gen_tables = emb["generated"]
    n_avail = {name: int(t.vectors.shape[1]) for name, t in gen_tables.items()}
    feats, jp_fields = split_features(cols, emb, bool(rc.field_features))
    test = feats["test"]
    subsets, cold = split_test_subsets(cols, test, notes)

    old_threads = torch.get_num_threads()
    if rc.num_threads > 0:
        torch.set_num_threads(rc.num_threads)
    try:
        n_main = {name: min(rc.n_generated, n_avail[name]) for name in gen_tables}
        results, selection, dot_rc = _train_tables(feats, gen_tables, n_main, rc, subsets, jp_fields,
                                                   within=subsets.get("within_occupation"))
        notes += [f"{name}: only {n} generated JD(s) per seeker, fewer than n_generated={rc.n_generated}"
                  for name, n in n_main.items() if n < rc.n_generated]
        curves, curve_seeds = generation_number_curves(feats, gen_tables, results, n_main, dot_rc, rc, jp_fields)
    finally:
        torch.set_num_threads(old_threads)
    retrieval = _retrieval_study(test, set(cols["rec_train"]["seeker_id"]), emb["cv"], emb["job"], gen_tables,
                                 n_avail, rc.retrieval_k, notes)

    metrics = {key: _summarise(results, subset) for subset, key in SUBSETS}
    metrics = {k: v for k, v in metrics.items() if v}
    diffs, boot = paired_diffs(results, test, subsets, cfg.judge.n_bootstrap, cfg.judge.seed, notes)
    for subset, key in SUBSETS:
        for pred, diff in diffs.get(subset, {}).items():
            if pred in metrics.get(key, {}):
                metrics[key][pred]["diff"] = diff
    metrics["recommend_n_seekers"] = {name: int(len(np.unique(test.seeker_ids[m])))  # beside, not in, "recommend"
                                      for name, m in (("all", subsets["all"]), ("cold_start", cold), ("warm", ~cold))}
    metrics.update(curves, recommend_bootstrap=boot, selection={"dot_jp_skip": selection}, retrieval=retrieval,
                   zero_shot_auc=zero_shot_aucs(test, gen_tables, n_main, subsets))
    metrics["n_rows"] = {"rec_train": len(feats["train"]), "rec_valid": len(feats["valid"]), "rec_test": len(test),
                         "rec_test_cold_start": int(cold.sum()), "rec_test_warm": int((~cold).sum()),
                         "rec_test_within_occupation": int(subsets.get("within_occupation", np.zeros(0)).sum()),
                         "seekers": len(emb["seekers"]), "jobs": len(emb["jobs"]), "generated_per_seeker": n_avail}
    metrics["field_features"] = {"enabled": bool(rc.field_features), "cv_jd": list(FEATURE_NAMES),
                                 "jd_jd": list(JD_PAIR_FEATURE_NAMES)}
    if emb["retrieved_neighbour"] is not None:
        metrics["retrieved"] = {"index": "sft", "similarity": "cosine of the frozen encoder's CV embeddings",
                                "n_index_cvs": len(set(map(str, data["sft"]["seeker_id"]))),
                                "n_distinct_neighbours": len(set(emb["retrieved_neighbour"].values()))}
    metrics.update(seeds=list(rc.seeds), curve_seeds=curve_seeds, n_generated=rc.n_generated, notes=notes,
                   best_epochs={p: {m: r["best_epochs"] for m, r in by.items()} for p, by in results.items()},
                   paper={"table_iii": PAPER_TABLE_III, "table_iv": PAPER_TABLE_IV},
                   n_texts_encoded=emb["n_encoded"], seconds=round(time.time() - t0, 2))
    out_dir = run_dir / "recommend"
    atomic_write_json(out_dir / "metrics.json", metrics)
    atomic_write_text(out_dir / "tables.md", render_recommend_tables(metrics))
    mark_done(run_dir, "recommend", {"seconds": metrics["seconds"]}, cfg=cfg)
    return metrics
