"""Step 2 of the recommender, the model inputs: :class:`Features` (one row per (seeker, job, label)
interaction), the generic field features of (CV, JD) and of (j', j) pairs, the cold-start mask, and the
rows with j' pooled over a draw of generated JDs (:func:`enhanced_splits`, :func:`generation_alternatives`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..extract import FEATURE_NAMES, pair_features
from ..jd_fields import JD_PAIR_FEATURE_NAMES, jd_pair_features
from ..runio import GirlError
from .embeddings import EmbeddingTable, pool_generated


@dataclass
class Features:
    """Row-aligned model inputs: CV ``c`` [R, d], JD ``j`` [R, d], generated JD ``j'`` (``jp``, optional),
    labels ``y`` [R] and the ids of each row. Optional field features (``recommend.field_features``):
    ``fields`` [R, F], :func:`girl_lib.extract.pair_features` of (CV, JD), read by Base and enhanced models
    alike; ``jp_fields`` [R, G], :func:`girl_lib.jd_fields.jd_pair_features` of (j', j), read by enhanced
    models only (set with ``jp`` by :meth:`with_generated`)."""

    c: np.ndarray
    j: np.ndarray
    y: np.ndarray
    jp: np.ndarray | None = None
    seeker_ids: np.ndarray | None = None
    job_ids: np.ndarray | None = None
    fields: np.ndarray | None = None
    jp_fields: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask) -> "Features":
        mask = np.asarray(mask)
        pick = lambda a: None if a is None else a[mask]  # noqa: E731
        return Features(self.c[mask], self.j[mask], self.y[mask], pick(self.jp), pick(self.seeker_ids),
                        pick(self.job_ids), pick(self.fields), pick(self.jp_fields))

    def with_generated(self, gen_table: EmbeddingTable, jp_fields: np.ndarray | None = None) -> "Features":
        """The same rows with ``j'`` looked up by seeker id in a pooled generated-JD table, and the (j', j)
        field features ``jp_fields`` [R, G] of these rows (``None``: none)."""
        if self.seeker_ids is None:
            raise GirlError("these features carry no seeker ids; build them with build_features")
        if jp_fields is not None and len(jp_fields) != len(self):
            raise GirlError(f"with_generated: {len(jp_fields)} rows of (j', j) field features for {len(self)} rows")
        return replace(self, jp=gen_table.lookup(self.seeker_ids), jp_fields=jp_fields)


def build_features(seeker_ids: Sequence, job_ids: Sequence, labels: Sequence, cv_table: EmbeddingTable,
                   job_table: EmbeddingTable, gen_table: EmbeddingTable | None = None,
                   fields: np.ndarray | None = None) -> Features:
    """One row per interaction: ``c`` of the seeker's CV, ``j`` of the job's JD (Eq. 9), optional ``j'``
    of the seeker's (pooled) generated JD (Eq. 12), 0/1 label, optional (CV, JD) field features
    ``fields`` [R, F] (:func:`cv_jd_fields`)."""
    seeker_ids = np.asarray([str(s) for s in seeker_ids])
    job_ids = np.asarray([str(j) for j in job_ids])
    y = np.asarray(labels)
    if not (len(seeker_ids) == len(job_ids) == len(y)):
        raise GirlError(f"build_features: {len(seeker_ids)} seekers, {len(job_ids)} jobs, {len(y)} labels")
    if len(y) and not np.isin(y, (0, 1)).all():
        raise GirlError(f"labels must be 0/1, got {sorted(set(y.tolist()))[:5]}")
    if fields is not None and np.shape(fields)[0] != len(y):
        raise GirlError(f"build_features: {np.shape(fields)[0]} rows of field features for {len(y)} labels")
    feats = Features(cv_table.lookup(seeker_ids), job_table.lookup(job_ids), y.astype(np.float32),
                     seeker_ids=seeker_ids, job_ids=job_ids,
                     fields=None if fields is None else np.asarray(fields, dtype=np.float32))
    return feats.with_generated(gen_table) if gen_table is not None else feats


def cv_jd_fields(cvs: Sequence[str], jds: Sequence[str]) -> np.ndarray:
    """[R, len(FEATURE_NAMES)]: :func:`girl_lib.extract.pair_features` of each (CV, JD) row: years short or in
    excess, pay against the ask, same place, degree short, and which facts the JD leaves out."""
    if len(cvs) != len(jds):
        raise GirlError(f"cv_jd_fields: {len(cvs)} CVs but {len(jds)} JDs")
    return np.asarray([pair_features(cv, jd) for cv, jd in zip(cvs, jds)], dtype=np.float32).reshape(
        len(cvs), len(FEATURE_NAMES))


def jd_jd_fields(seeker_ids: Sequence[str], jds: Sequence[str], gen_texts: dict[str, list[str]],
                 n_samples: int) -> np.ndarray:
    """[R, n_samples, G]: :func:`girl_lib.jd_fields.jd_pair_features` of (j', j) for each row's seeker's
    first ``n_samples`` generated (or retrieved) JDs j' and the row's JD j. Pool with
    :func:`pool_generated`, as the embeddings (Fig. 5)."""
    if len(seeker_ids) != len(jds):
        raise GirlError(f"jd_jd_fields: {len(seeker_ids)} seekers but {len(jds)} JDs")
    short = [s for s in set(seeker_ids) if len(gen_texts.get(s, ())) < n_samples]
    if short:
        raise GirlError(f"{len(short)} seekers have fewer than {n_samples} generated JDs (first: {sorted(short)[:5]})")
    out = [[jd_pair_features(gen, jd) for gen in gen_texts[s][:n_samples]] for s, jd in zip(seeker_ids, jds)]
    return np.asarray(out, dtype=np.float32).reshape(len(jds), n_samples, len(JD_PAIR_FEATURE_NAMES))


def cold_start_mask(train_seeker_ids: Sequence, seeker_ids: Sequence) -> np.ndarray:
    """True for rows whose seeker never appears in the training rows (paper Sec. VI-F)."""
    seen = {str(s) for s in train_seeker_ids}
    return np.asarray([str(s) not in seen for s in seeker_ids], dtype=bool)


REC_SPLITS = (("train", "rec_train"), ("valid", "rec_valid"), ("test", "rec_test"))
"""Feature split -> data split."""


def split_features(cols: dict, emb: dict, field_features: bool) -> tuple[dict, dict | None]:
    """Step 1b: ``{"train", "valid", "test"}`` :class:`Features` (with the (CV, JD) fields when
    ``field_features``) and the (j', j) fields of every generated or retrieved JD table,
    ``{model: {split: [R, N, G]}}`` (``None`` when off). Only the texts are read: no flag of the data."""
    feats, jp_fields = {}, ({} if field_features else None)
    for key, split in REC_SPLITS:
        c = cols[split]
        fields = cv_jd_fields(c["cv"], c["jd"]) if field_features else None
        feats[key] = build_features(c["seeker_id"], c["job_id"], c["label"], emb["cv"], emb["job"], fields=fields)
    if field_features:
        for name, table in emb["generated"].items():
            n = int(table.vectors.shape[1])
            jp_fields[name] = {key: jd_jd_fields(cols[split]["seeker_id"], cols[split]["jd"],
                                                 emb["generated_texts"][name], n) for key, split in REC_SPLITS}
    return feats, jp_fields


def enhanced_splits(feats: dict, table: EmbeddingTable, n: int, jp_fields: dict | None = None,
                    start: int = 0) -> dict:
    """``feats`` (``{split: Features}``) with ``j'`` mean-pooled over samples ``[start, start + n)`` of
    ``table`` ([S, N, d]) and, where ``jp_fields`` (``{split: [R, N, G]}``) is given, the (j', j) field
    features pooled over the same samples."""
    pooled = EmbeddingTable(table.ids, pool_generated(table.vectors[:, start:], n))
    return {k: f.with_generated(pooled, None if jp_fields is None else pool_generated(jp_fields[k][:, start:], n))
            for k, f in feats.items()}


def generation_alternatives(test: Features, table: EmbeddingTable, n: int,
                            jp_fields: np.ndarray | None = None) -> list[Features] | None:
    """The test rows with each disjoint draw of ``n`` generated JDs as ``j'`` (samples ``[a n, (a + 1) n)``,
    pooled, with the (j', j) field features ``jp_fields`` [R, N, G] of the same draw; the first is the
    tables' own), or ``None`` when a seeker has fewer than ``2 n`` samples."""
    k = table.vectors.shape[1] // n
    if k < 2:
        return None
    fields = None if jp_fields is None else {"test": jp_fields}
    return [enhanced_splits({"test": test}, table, n, fields, start=a * n)["test"] for a in range(k)]
