"""Beyond the paper, around the recommender: the non-generative ``Retrieved`` control (j' = the real JD
matched to the nearest ``sft`` CV, :func:`retrieve_matched_jds`), retrieval of the job pool by cos(c, j)
or cos(j', j) (:func:`retrieval_metrics`: Recall@k, NDCG@k) and the encoder's zero-shot AUC."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..metrics import auc, mean_ndcg_at_k, mean_recall_at_k
from ..runio import GirlError
from ..names import MODEL_NAMES
from .embeddings import EmbeddingTable, _default_encode_fn, cached_embeddings
from .features import Features
from .train import _has_both_classes


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two [R, d] arrays."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / np.clip(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12, None)


def retrieval_metrics(queries: np.ndarray, pool: np.ndarray, relevant: Sequence[Sequence[int]],
                      ks: Sequence[int] = (5, 10)) -> dict:
    """Rank the job ``pool`` [M, d] for each query vector [Q, d] by cosine similarity; Recall@k, NDCG@k.

    ``relevant[q]`` lists the pool rows that are query q's matched jobs. Returns
    ``{"recall@k": mean, "ndcg@k": mean, ..., "n_queries": Q, "pool_size": M}``.
    """
    queries, pool = np.asarray(queries, dtype=np.float64), np.asarray(pool, dtype=np.float64)
    if queries.ndim != 2 or pool.ndim != 2 or queries.shape[1] != pool.shape[1]:
        raise GirlError(f"retrieval_metrics: query shape {queries.shape} and pool shape {pool.shape} do not match")
    if len(queries) != len(relevant):
        raise GirlError(f"{len(queries)} queries but {len(relevant)} relevant lists")
    q = queries / np.clip(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12, None)
    p = pool / np.clip(np.linalg.norm(pool, axis=1, keepdims=True), 1e-12, None)
    rankings = np.argsort(-(q @ p.T), axis=1, kind="stable")
    out = {}
    for k in ks:
        out[f"recall@{k}"] = mean_recall_at_k(rankings.tolist(), relevant, k)
        out[f"ndcg@{k}"] = mean_ndcg_at_k(rankings.tolist(), relevant, k)
    out.update(n_queries=len(queries), pool_size=len(pool))
    return out


def nearest_rows(queries: np.ndarray, index: np.ndarray) -> np.ndarray:
    """For each query vector ([Q, d]) the row of ``index`` ([M, d]) with the highest cosine similarity
    (the first such row on a tie)."""
    queries, index = np.asarray(queries, dtype=np.float64), np.asarray(index, dtype=np.float64)
    if queries.ndim != 2 or index.ndim != 2 or queries.shape[1] != index.shape[1] or not len(index):
        raise GirlError(f"nearest_rows: query shape {queries.shape} and index shape {index.shape} do not match")
    q = queries / np.clip(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12, None)
    m = index / np.clip(np.linalg.norm(index, axis=1, keepdims=True), 1e-12, None)
    return np.argmax(q @ m.T, axis=1)


def retrieve_matched_jds(query_ids: Sequence[str], query_vecs: np.ndarray, index_ids: Sequence[str],
                         index_vecs: np.ndarray, jd_of: dict) -> tuple[dict, dict]:
    """The non-generative control: for each query seeker, the real JD matched (positive) to the nearest
    index CV by cosine of the CV embeddings. Returns ``({query id: [that JD]}, {query id: index id})``, the
    first shaped like generations (one sample per seeker)."""
    if len(query_ids) != len(query_vecs) or len(index_ids) != len(index_vecs):
        raise GirlError(f"retrieve_matched_jds: {len(query_ids)} query ids for {len(query_vecs)} vectors, "
                        f"{len(index_ids)} index ids for {len(index_vecs)} vectors")
    rows = nearest_rows(query_vecs, index_vecs)
    neighbour = {str(q): str(index_ids[r]) for q, r in zip(query_ids, rows)}
    return {q: [jd_of[n]] for q, n in neighbour.items()}, neighbour


def sft_matched_pairs(data, notes: list) -> dict | None:
    """``{"seeker_id", "cv", "jd"}`` of the ``sft`` split, one row per seeker (its first matched JD in the
    split's order): the index of the retrieved control. ``None`` (and a note) when the data has no sft split."""
    if "sft" not in data:
        notes.append("the data has no 'sft' split: the Retrieved control is skipped")
        return None
    ds = data["sft"]
    out: dict = {"seeker_id": [], "cv": [], "jd": []}
    seen = set()
    for sid, cv, jd in zip(ds["seeker_id"], ds["cv"], ds["jd"]):
        if str(sid) not in seen:
            seen.add(str(sid))
            out["seeker_id"].append(str(sid))
            out["cv"].append(cv)
            out["jd"].append(jd)
    return out if out["seeker_id"] else None


def _add_retrieved(run_dir, sft: dict, seekers: list, cv_table: EmbeddingTable, encode, key: str) -> tuple:
    """The Retrieved control's table ([S, 1, d]), texts and neighbour of each rec seeker
    (:func:`retrieve_matched_jds` over the sft CVs, embedded with the same frozen encoder)."""
    sft_vecs = cached_embeddings(run_dir, "sft_cv", sft["cv"], encode, key)
    texts, neighbour = retrieve_matched_jds(seekers, cv_table.lookup(seekers), sft["seeker_id"], sft_vecs,
                                            dict(zip(sft["seeker_id"], sft["jd"])))
    vecs = cached_embeddings(run_dir, "gen_retrieved", [texts[s][0] for s in seekers], encode, key)
    return EmbeddingTable(seekers, vecs[:, None, :]), texts, neighbour


def _retrieval_study(test: Features, train_seekers: set, cv_table: EmbeddingTable, job_table: EmbeddingTable,
                     gen_tables: dict, n_avail: dict, ks: Sequence[int], notes: list) -> dict:
    """Rank the whole job pool for each test seeker with a positive test job, by cos(c, j) and by
    cos(j', j) of each generator (j' pooled over every available JD); Recall@k / NDCG@k per subset."""
    job_row = {j: i for i, j in enumerate(job_table.ids)}
    positives: dict[str, list[int]] = {}
    for s, j, y in zip(test.seeker_ids, test.job_ids, test.y):
        if y == 1 and job_row[j] not in positives.setdefault(s, []):
            positives[s].append(job_row[j])
    queries = sorted(s for s, rel in positives.items() if rel)
    q_subsets = {"all": np.ones(len(queries), dtype=bool),
                 "cold_start": np.asarray([q not in train_seekers for q in queries], dtype=bool)}
    q_subsets["warm"] = ~q_subsets["cold_start"]
    n_jobs = len(job_table.ids)
    retrieval = {"k": list(ks), "pool_size": n_jobs, "methods": {},
                 "random_recall": {str(k): min(1.0, k / n_jobs) for k in ks}}
    if not queries:
        notes.append("no test seeker has a positive test job; retrieval skipped")
        return retrieval
    query_vecs = {"CV (c)": cv_table.lookup(queries)}
    for name, table in gen_tables.items():
        query_vecs[f"{name} (j', n={n_avail[name]})"] = table.pooled(n_avail[name]).lookup(queries)
    rel = [positives[q] for q in queries]
    for method, vecs in query_vecs.items():
        retrieval["methods"][method] = {
            sub: retrieval_metrics(vecs[m], job_table.vectors, [r for r, keep in zip(rel, m) if keep], ks)
            for sub, m in q_subsets.items() if m.any()}
    return retrieval


def zero_shot_aucs(test: Features, gen_tables: dict, n_main: dict, subsets: dict) -> dict:
    """Beyond the paper: test AUC of the frozen encoder's cosine, cos(c, j) and cos(j', j), no training."""
    scores = {"cos(c, j)": _cosine(test.c, test.j)}
    for name, table in gen_tables.items():
        scores[f"cos(j', j) {name}"] = _cosine(table.pooled(n_main[name]).lookup(test.seeker_ids), test.j)
    return {method: {sub: auc(test.y[m], s[m]) for sub, m in subsets.items() if _has_both_classes(test.y[m])}
            for method, s in scores.items()}


def untrained_cosine_scores(cfg, data_dir, results_dir, encode: Callable[[list[str]], np.ndarray] | None = None,
                            mix: float = 0.5) -> dict[str, list[float]]:
    """Notebook 06, section 2: three untrained scores of a frozen encoder for every ``rec_test`` row, in its
    order: the CV against the JD, cos(c, j); each generator's JD against it, cos(j', j), with j' the mean of
    all the seeker's generated JDs; and the two mixed, cos(c + ``mix`` j'/|j'|, j), the enhanced Dot tower's
    starting mix. Rounded to 6 decimals (the notebook caches them as JSON). ``encode`` maps texts to unit-length
    rows (default: ``cfg``'s encoder, loaded on first use); a generator without JDs for every test seeker is left
    out. Data from ``data_dir``, generated JDs from ``results_dir``."""
    from ..data import load_data  # local: the data stage's imports are not this module's
    from ..generate import generations_path, load_generations

    encode = encode or _default_encode_fn(cfg)
    test = load_data(data_dir)["rec_test"]
    rows = list(test["seeker_id"])
    seekers = sorted(set(rows))
    cv_text = dict(zip(rows, test["cv"]))
    c = dict(zip(seekers, encode([cv_text[s] for s in seekers])))
    cv_rows, j = np.stack([c[s] for s in rows]), encode(list(test["jd"]))
    sims = {"cos(c, j): CV vs JD": _cosine(cv_rows, j)}
    for key, name in MODEL_NAMES.items():
        gens = load_generations(results_dir, key, "rec") if generations_path(results_dir, key).exists() else {}
        if not all(gens.get(s) for s in seekers):
            continue
        jp = {s: encode(gens[s]).mean(0) for s in seekers}
        jp_rows = np.stack([jp[s] / np.linalg.norm(jp[s]) for s in rows])
        sims[f"cos(j', j): {name} JD vs JD"] = _cosine(jp_rows, j)
        sims[f"cos(c + {mix:g} j', j): CV and {name} JD vs JD"] = _cosine(cv_rows + mix * jp_rows, j)
    return {k: [round(float(x), 6) for x in v] for k, v in sims.items()}
