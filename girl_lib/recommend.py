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
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import names, paper
from .names import MODEL_NAMES
from .names import pair_models  # noqa: F401 - re-exported (notebook 06)
from .data import load_data
from .extract import FEATURE_NAMES, pair_features
from .generate import generated_models, load_generations
from .jd_fields import JD_PAIR_FEATURE_NAMES, jd_pair_features
from .metrics import (auc, gauc, logloss, mean_ndcg_at_k, mean_recall_at_k, mean_std, paired_group_bootstrap,
                      relative_change)
from .models import encode_texts, load_encoder
from .report import render_recommend_tables
from .runio import (GirlError, atomic_write_json, atomic_write_text, check_finite, clear_done, mark_done,
                    require_stage, set_seed)

PREDICTORS, MODEL_ORDER, SUBSETS = names.PREDICTORS, names.REC_MODEL_ORDER, names.REC_SUBSETS
"""Recommenders, rows of Tables III-IV and test subsets -> ``metrics.json`` keys (:mod:`girl_lib.names`)."""

PAPER_TABLE_III, PAPER_TABLE_IV = paper.TABLE_III, paper.TABLE_IV
"""Paper Tables III (all test rows) and IV (cold start), from :mod:`girl_lib.paper`."""


def _rcfg(cfg):
    """Accept a whole :class:`~girl_lib.config.Profile` or its ``RecommendConfig``."""
    return cfg.recommend if hasattr(cfg, "recommend") else cfg


# --------------------------------------------------------------------------- embeddings (Eq. 9, 12)
@dataclass
class EmbeddingTable:
    """Row-aligned ``ids`` and ``vectors`` ([N, d], or [N, n_samples, d] for generated JDs)."""

    ids: list
    vectors: np.ndarray

    def __post_init__(self):
        self.ids = [str(i) for i in self.ids]
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        if len(self.ids) != len(self.vectors):
            raise GirlError(f"EmbeddingTable: {len(self.ids)} ids but {len(self.vectors)} vectors")
        self._index = {i: row for row, i in enumerate(self.ids)}
        if len(self._index) != len(self.ids):
            raise GirlError("EmbeddingTable: duplicate ids")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[-1])

    def lookup(self, ids: Sequence) -> np.ndarray:
        """Vectors of ``ids`` in that order; a clear error names ids that have no embedding."""
        missing = [str(i) for i in ids if str(i) not in self._index]
        if missing:
            raise GirlError(f"{len(missing)} ids have no embedding (first: {missing[:5]}); were the "
                            f"generations made for these seekers / is the data split consistent?")
        return self.vectors[[self._index[str(i)] for i in ids]]

    def pooled(self, n: int) -> "EmbeddingTable":
        """For generated JDs ([S, N, d]): the table of mean-pooled first ``n`` samples (paper Fig. 5)."""
        return EmbeddingTable(self.ids, pool_generated(self.vectors, n))


def pool_generated(vectors: np.ndarray, n: int) -> np.ndarray:
    """Mean-pool the first ``n`` generated-JD embeddings of each seeker: [S, N, d] -> [S, d] (Fig. 5).

    Plain mean pooling as in the paper (no re-normalisation), so n = 1 is exactly Eq. 12's j'.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 3:
        raise GirlError(f"pool_generated expects [seekers, samples, dim], got shape {vectors.shape}")
    if not 1 <= n <= vectors.shape[1]:
        raise GirlError(f"cannot pool n={n} generated JDs: {vectors.shape[1]} samples per seeker are available")
    return vectors[:, :n].mean(axis=1)


def stack_generations(gens: dict[str, list[str]], seeker_ids: Sequence[str],
                      n_max: int | None = None) -> tuple[list[str], int]:
    """Flatten ``{seeker_id: [jd0, jd1, ...]}`` into seeker-major texts with the same count N each.

    N is the smallest number of samples any of ``seeker_ids`` has (capped at ``n_max``), so that every
    seeker can be pooled over 1..N. Returns ``(texts, N)`` with ``len(texts) == len(seeker_ids) * N``.
    """
    missing = [s for s in seeker_ids if not gens.get(s)]
    if missing:
        raise GirlError(f"{len(missing)} of {len(seeker_ids)} seekers have no generated JD (first: "
                        f"{missing[:5]}); rerun `girl generate` so every rec seeker gets one")
    n = min(len(gens[s]) for s in seeker_ids)
    if n_max is not None:
        n = min(n, n_max)
    return [jd for s in seeker_ids for jd in gens[s][:n]], n


def cached_embeddings(run_dir, name: str, texts: Sequence[str], encode_fn: Callable[[list[str]], np.ndarray],
                      key: str = "") -> np.ndarray:
    """Embeddings of ``texts``, cached in ``<run_dir>/recommend/emb_<name>.npy``.

    A sidecar ``emb_<name>.sha256`` holds a hash of ``key`` (encoder name, max length) and the texts, so a
    rerun with the same inputs loads the array (``allow_pickle=False``) and anything else re-encodes.
    """
    out_dir = Path(run_dir) / "recommend"
    path, key_path = out_dir / f"emb_{name}.npy", out_dir / f"emb_{name}.sha256"
    h = hashlib.sha256(key.encode())
    for text in texts:
        h.update(b"\x1e" + str(text).encode())
    digest = h.hexdigest()
    if path.exists() and key_path.exists() and key_path.read_text().strip() == digest:
        arr = np.load(path, allow_pickle=False)
        if arr.shape[0] == len(texts):
            return arr
    arr = np.asarray(encode_fn(list(texts)), dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != len(texts):
        raise GirlError(f"the encoder returned shape {arr.shape} for {len(texts)} texts ({name})")
    check_finite(torch.from_numpy(arr), f"embeddings '{name}'")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        np.save(f, arr, allow_pickle=False)
    os.replace(tmp, path)
    atomic_write_text(key_path, digest + "\n")
    return arr


# --------------------------------------------------------------------------- features
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


# --------------------------------------------------------------------------- predictors (Eq. 10, 11, 13-15)
def _mlp(in_dim: int, hidden_dim: int, out_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden_dim, out_dim))


class _Predictor(nn.Module):
    """Shared plumbing: input standardisation and the output bias, both set from the training rows.

    Frozen sentence embeddings are anisotropic (every text shares a large common direction; per-dimension
    differences are tiny), so each block (c, j, j') is z-scored with training-set statistics held in
    buffers, saved with the model. Without it both predictors idle on a plateau for many epochs.
    """

    enhanced: bool

    def _init_stats(self, dims: dict[str, int]) -> None:
        for name, dim in dims.items():
            self.register_buffer(f"mean_{name}", torch.zeros(dim))
            self.register_buffer(f"std_{name}", torch.ones(dim))

    def _z(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return (x - getattr(self, f"mean_{name}")) / getattr(self, f"std_{name}")

    def _output_bias(self) -> torch.Tensor:
        raise NotImplementedError

    field_dim: int = 0
    jp_field_dim: int = 0

    def _init_field_stats(self, field_dim: int, jp_field_dim: int) -> None:
        """Statistics of the (CV, JD) field block ``f`` and, for enhanced models, the (j', j) block ``g``."""
        if jp_field_dim and not self.enhanced:
            raise GirlError("a base predictor takes no (j', j) field features; set jp_field_dim=0")
        self.field_dim, self.jp_field_dim = int(field_dim), int(jp_field_dim)
        self._init_stats({k: d for k, d in (("f", self.field_dim), ("g", self.jp_field_dim)) if d})

    def _field_parts(self, f, g) -> list:
        """The z-scored field blocks this model reads, checked against what it was built for."""
        parts = []
        for name, x, dim in (("f", f, self.field_dim), ("g", g, self.jp_field_dim)):
            if dim and x is None:
                raise GirlError(f"this {type(self).__name__} was built with {dim} field features '{name}' "
                                f"but got none; build the features the same way for training and test")
            if dim:
                parts.append(self._z(name, x))
        return parts

    @torch.no_grad()
    def init_from_data(self, feats: "Features") -> None:
        """z-score statistics of each input block, and the output bias at the log-odds of the positive
        rate (so the untrained model already predicts the base rate)."""
        blocks = {"c": feats.c, "j": feats.j} | ({"jp": feats.jp} if self.enhanced else {})
        blocks |= {"f": feats.fields} if self.field_dim else {}
        blocks |= {"g": feats.jp_fields} if self.jp_field_dim else {}
        for name, x in blocks.items():
            x = torch.from_numpy(np.asarray(x, dtype=np.float32))
            getattr(self, f"mean_{name}").copy_(x.mean(0))
            getattr(self, f"std_{name}").copy_(x.std(0, unbiased=False).clamp(min=1e-6))
        rate = float(np.clip(np.mean(feats.y), 1e-3, 1 - 1e-3))
        self._output_bias().fill_(math.log(rate / (1 - rate)))


class MLPPredictor(_Predictor):
    """Base: ``score = MLP([c; j])`` (Eq. 10). Enhanced: ``score = MLP([c; j; j'])`` (Eq. 13).

    With field features (``field_dim`` > 0) the (CV, JD) fields ``f`` join the input of Base and enhanced
    models alike, ``MLP([c; j; f])``; an enhanced model with ``jp_field_dim`` > 0 also reads the (j', j)
    comparisons ``g``: ``MLP([c; j; j'; f; g])``. Returns logits; ``sigmoid(score)`` is the match
    probability. Inputs are z-scored (see :class:`_Predictor`).
    """

    def __init__(self, c_dim: int, j_dim: int, hidden_dim: int, dropout: float = 0.0, enhanced: bool = False,
                 jp_dim: int | None = None, field_dim: int = 0, jp_field_dim: int = 0):
        super().__init__()
        self.enhanced = enhanced
        jp_dim = jp_dim or j_dim
        self._init_stats({"c": c_dim, "j": j_dim} | ({"jp": jp_dim} if enhanced else {}))
        self._init_field_stats(field_dim, jp_field_dim)
        in_dim = c_dim + j_dim + (jp_dim if enhanced else 0) + self.field_dim + self.jp_field_dim
        self.net = _mlp(in_dim, hidden_dim, 1, dropout)

    def _output_bias(self) -> torch.Tensor:
        return self.net[-1].bias

    def forward(self, c: torch.Tensor, j: torch.Tensor, jp: torch.Tensor | None = None,
                f: torch.Tensor | None = None, g: torch.Tensor | None = None) -> torch.Tensor:
        parts = [self._z("c", c), self._z("j", j)] + [self._z("jp", x) for x in _generated(self, jp)]
        return self.net(torch.cat(parts + self._field_parts(f, g), dim=-1)).squeeze(-1)


class DotPredictor(_Predictor):
    """Two towers and a dot product.

    Base (Eq. 11): ``score = s * (P_c(c) . P_j(j)) + b``. Enhanced (Eq. 14-15): the seeker tower reads
    ``[c; j']``, ``c' = P_c([c; j'])``, ``score = s * (c' . P_j(j)) + b``. s and b are a learnable scale
    and bias, so ``sigmoid(score)`` is a calibrated probability and LogLoss means something.

    The trainable per-tower projections P are *residual* MLPs in the encoder's space, with the last
    layer initialised to zero and unit-length outputs:
    ``P_c([c; j']) = normalize(z(c) + g * z(j') + MLP([z(c); z(j')]))``, ``P_j(j) = normalize(z(j) +
    MLP(z(j)))``, with z the input standardisation and g a learnable scalar gate (enhanced only, init
    ``jp_skip``). So training *starts* from the frozen encoder's cosine similarity (a strong zero-shot
    matcher on its own) and learns corrections. Randomly initialised towers instead throw that
    similarity away and, on a few thousand rows, never get it back.

    The gate is beyond the paper's ``c' = MLP([c; j'])``: it lets the generated JD enter c' directly,
    as the CV does. With ``jp_skip=0`` the enhanced tower starts equal to the base one and must learn
    to use j' through the zero-initialised MLP alone; on the ``cpu`` run it then never beat Base
    (AUC 0.882 vs 0.884), although cos(normalize(c + 0.5 j'), j) beats cos(c, j) zero-shot (0.865 vs
    0.845 on rec_test). ``s`` is an inverse temperature (init ``SCALE_INIT``). c and j must share the
    encoder dimension.

    Field features (beyond the paper), the same for Base and enhanced models: a linear "wide" term
    ``w . [z(f); z(g)]`` is added to the score, with ``f`` the (CV, JD) fields and ``g`` (enhanced only) the
    (j', j) comparisons; w starts at zero, so training still starts from the encoder's cosine. A pair's
    fields cannot be split into a seeker and a job tower, so this term sits beside the dot product (as in
    wide & deep recommenders); the towers themselves are unchanged.
    """

    SCALE_INIT = 5.0

    def __init__(self, c_dim: int, j_dim: int, hidden_dim: int, dropout: float = 0.0, enhanced: bool = False,
                 jp_dim: int | None = None, jp_skip: float = 0.5, field_dim: int = 0, jp_field_dim: int = 0):
        super().__init__()
        if c_dim != j_dim:
            raise GirlError(f"the Dot predictor needs c and j of one dimension, got {c_dim} and {j_dim}")
        self.enhanced = enhanced
        jp_dim = jp_dim or j_dim
        self._init_stats({"c": c_dim, "j": j_dim} | ({"jp": jp_dim} if enhanced else {}))
        self.seeker_tower = _mlp(c_dim + (jp_dim if enhanced else 0), hidden_dim, c_dim, dropout)  # Eq. 14
        self.job_tower = _mlp(j_dim, hidden_dim, j_dim, dropout)
        for tower in (self.seeker_tower, self.job_tower):
            nn.init.zeros_(tower[-1].weight)
            nn.init.zeros_(tower[-1].bias)
        self.scale = nn.Parameter(torch.tensor(self.SCALE_INIT))
        self.bias = nn.Parameter(torch.tensor(0.0))
        self._init_field_stats(field_dim, jp_field_dim)
        self.field_head = None
        if self.field_dim + self.jp_field_dim:
            self.field_head = nn.Linear(self.field_dim + self.jp_field_dim, 1, bias=False)
            nn.init.zeros_(self.field_head.weight)
        if enhanced:
            if jp_dim != c_dim:
                raise GirlError(f"the enhanced Dot predictor adds z(j') to z(c): j' needs dimension {c_dim}, "
                                f"got {jp_dim}")
            self.jp_gate = nn.Parameter(torch.tensor(float(jp_skip)))  # g, beyond the paper

    def _output_bias(self) -> torch.Tensor:
        return self.bias

    def seeker_embedding(self, c: torch.Tensor, jp: torch.Tensor | None = None) -> torch.Tensor:
        """``c'`` of Eq. 14 (enhanced) or the projected ``c`` (base), unit length."""
        zc = self._z("c", c)
        if not self.enhanced:
            return nn.functional.normalize(zc + self.seeker_tower(zc), dim=-1)
        zjp = self._z("jp", _generated(self, jp)[0])
        x = torch.cat([zc, zjp], dim=-1)
        return nn.functional.normalize(zc + self.jp_gate * zjp + self.seeker_tower(x), dim=-1)

    def job_embedding(self, j: torch.Tensor) -> torch.Tensor:
        """The projected ``j``, unit length."""
        zj = self._z("j", j)
        return nn.functional.normalize(zj + self.job_tower(zj), dim=-1)

    def forward(self, c: torch.Tensor, j: torch.Tensor, jp: torch.Tensor | None = None,
                f: torch.Tensor | None = None, g: torch.Tensor | None = None) -> torch.Tensor:
        dot = (self.seeker_embedding(c, jp) * self.job_embedding(j)).sum(-1)  # Eq. 11 / Eq. 15
        score = self.scale * dot + self.bias
        fields = self._field_parts(f, g)
        if self.field_head is not None:
            score = score + self.field_head(torch.cat(fields, dim=-1)).squeeze(-1)
        return score


def _generated(model: nn.Module, jp) -> list:
    if model.enhanced and jp is None:
        raise GirlError(f"the enhanced {type(model).__name__} needs the generated-JD embedding j'")
    if not model.enhanced and jp is not None:
        raise GirlError(f"the base {type(model).__name__} takes no j'; build it with enhanced=True")
    return [jp] if model.enhanced else []


def make_predictor(kind: str, enhanced: bool, c_dim: int, j_dim: int, cfg, jp_dim: int | None = None,
                   field_dim: int = 0, jp_field_dim: int = 0) -> nn.Module:
    """``kind`` is ``"MLP"`` or ``"Dot"``; sizes from ``cfg.recommend`` (or a ``RecommendConfig``);
    ``field_dim`` / ``jp_field_dim``: widths of the (CV, JD) and (j', j) field blocks (0: none)."""
    rc = _rcfg(cfg)
    kind = _kind(kind)
    if kind == "MLP":
        return MLPPredictor(c_dim, j_dim, rc.hidden_dim, rc.dropout, enhanced, jp_dim, field_dim, jp_field_dim)
    return DotPredictor(c_dim, j_dim, rc.proj_dim, rc.dropout, enhanced, jp_dim, jp_skip=rc.dot_jp_skip,
                        field_dim=field_dim, jp_field_dim=jp_field_dim)


def _kind(kind: str) -> str:
    for name in PREDICTORS:
        if str(kind).lower() == name.lower():
            return name
    raise GirlError(f"unknown predictor {kind!r}: choose one of {', '.join(PREDICTORS)}")


# --------------------------------------------------------------------------- training and evaluation
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
    field_dim, jp_field_dim = _field_dims(feats_train, enhanced)
    model = make_predictor(kind, enhanced, feats_train.c.shape[1], feats_train.j.shape[1], rc, jp_dim,
                           field_dim, jp_field_dim)
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


def _field_dims(feats: Features, enhanced: bool) -> tuple[int, int]:
    """Widths of the field blocks a predictor trained on ``feats`` reads: (CV, JD) fields for every model,
    (j', j) fields for enhanced ones only (a base model never sees j')."""
    field_dim = 0 if feats.fields is None else int(feats.fields.shape[1])
    jp_field_dim = int(feats.jp_fields.shape[1]) if enhanced and feats.jp_fields is not None else 0
    return field_dim, jp_field_dim


def _has_both_classes(y) -> bool:
    return len(np.unique(np.asarray(y))) == 2


def run_experiment(kind: str, enhanced: bool, train: Features, valid: Features, test: Features, cfg,
                   seeds: Sequence[int] | None = None, subsets: dict | None = None,
                   trained: dict | None = None, test_alternatives: Sequence[Features] | None = None,
                   within: np.ndarray | None = None) -> dict:
    """Train once per seed and evaluate on each test subset (``{name: row mask}``, default all rows).

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


# --------------------------------------------------------------------------- retrieval (beyond the paper)
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


# --------------------------------------------------------------------------- the stage
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


def _default_encode_fn(cfg) -> Callable[[list[str]], np.ndarray]:
    """Load the frozen encoder on first use (a fully cached rerun never loads it)."""
    state = {}

    def encode(texts: list[str]) -> np.ndarray:
        if "model" not in state:
            state["model"], state["tok"] = load_encoder(cfg)
        rc = cfg.recommend
        return encode_texts(state["model"], state["tok"], texts, batch_size=rc.embed_batch_size,
                            max_length=rc.embed_max_length, progress=len(texts) > 256)

    return encode


def _summarise(results: dict, subset: str) -> dict:
    """{pred: {model: {auc, logloss, gauc, stds, rels vs Base, per_seed}}} for one test subset (the paired
    differences, ``diff``, are added by :func:`run_recommend`)."""
    out = {}
    for pred, by_model in results.items():
        if subset not in by_model["Base"]:
            return {}
        base = by_model["Base"][subset]
        out[pred] = {}
        for name in MODEL_ORDER:
            if name not in by_model or subset not in by_model[name]:
                continue
            r = by_model[name][subset]
            out[pred][name] = {"auc": r["auc"], "logloss": r["logloss"], "auc_std": r["auc_std"],
                               "logloss_std": r["logloss_std"],
                               "auc_rel": relative_change(r["auc"], base["auc"]),
                               "logloss_rel": relative_change(r["logloss"], base["logloss"], lower_is_better=True),
                               "gauc": r.get("gauc"), "gauc_std": r.get("gauc_std"),
                               "auc_within_occupation": r.get("auc_within_occupation"),
                               "auc_within_occupation_std": r.get("auc_within_occupation_std"),
                               "n_gauc_seekers": r.get("n_gauc_seekers"), "n": r["n"], "per_seed": r["per_seed"]}
    return out


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


def enhanced_splits(feats: dict, table: EmbeddingTable, n: int, jp_fields: dict | None = None,
                    start: int = 0) -> dict:
    """``feats`` (``{split: Features}``) with ``j'`` mean-pooled over samples ``[start, start + n)`` of
    ``table`` ([S, N, d]) and, where ``jp_fields`` (``{split: [R, N, G]}``) is given, the (j', j) field
    features pooled over the same samples."""
    pooled = EmbeddingTable(table.ids, pool_generated(table.vectors[:, start:], n))
    return {k: f.with_generated(pooled, None if jp_fields is None else pool_generated(jp_fields[k][:, start:], n))
            for k, f in feats.items()}


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
                                               subsets=subsets, within=within)
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
            results[pred][name] = run_experiment(pred, True, tr, va, te, model_rc, subsets=subsets, trained=trained,
                                                 test_alternatives=alternatives, within=within)
    return results, selection, dot_rc


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


DIFF_PAIRS = names.REC_DIFF_PAIRS
"""The paired differences ``a - b`` of Tables III-IV's rows that get a bootstrap interval."""


def paired_diffs(results: dict, test: Features, subsets: dict, n_boot: int, seed: int,
                 notes: list | None = None) -> tuple[dict, dict]:
    """Paired differences of AUC, GAUC and LogLoss (``DIFF_PAIRS``) with 95% seeker-level bootstrap intervals.

    Each model's test probabilities are first averaged over its seeds (the seeds' ensemble); then whole
    seekers are resampled, the same resample for every model (:func:`girl_lib.metrics.paired_group_bootstrap`,
    seed ``seed``, ``n_boot`` resamples, one-class resamples skipped and counted). Where the seekers have more
    generated JDs than ``n_generated`` (``test_probs_alt``, :func:`generation_alternatives`), each resample
    also draws which of the disjoint draws of JDs each seeker brings, so the interval covers generation
    noise as well as the draw of test seekers (the point values then average the draws); with one JD per
    seeker it covers the seekers only. Through the ensemble it does not cover the seeds.

    Returns ``({subset: {pred: {"a-b": {metric: {"mean", "ci95"}}}}}, bootstrap facts per subset)``.
    """
    diffs: dict = {}
    boot: dict = {"n_boot": n_boot, "seed": seed, "unit": "seeker", "predictions": "mean over seeds",
                  "subsets": {}}
    for subset, mask in subsets.items():
        if not _has_both_classes(test.y[mask]):
            continue
        for pred, by_model in results.items():
            probs = {m: (r["test_probs_alt"].mean(axis=0)[:, mask] if "test_probs_alt" in r
                         else r["test_probs"].mean(axis=0)[mask]) for m, r in by_model.items() if subset in r}
            boot.setdefault("generated_draws", {}).setdefault(pred, {m: int(np.atleast_2d(p).shape[0])
                                                                     for m, p in probs.items()})
            pairs = [(a, b) for a, b in DIFF_PAIRS if a in probs and b in probs]
            if not pairs:
                continue
            try:
                out = paired_group_bootstrap(test.y[mask], probs, pairs, test.seeker_ids[mask], n=n_boot, seed=seed)
            except GirlError as err:
                if notes is not None:
                    notes.append(f"no paired intervals on '{subset}' ({pred}): {err}")
                continue
            diffs.setdefault(subset, {})[pred] = out["diff"]
            facts = boot["subsets"].setdefault(subset, {k: out[k] for k in ("n_groups", "n_gauc_groups",
                                                                            "n_resamples", "n_skipped")})
            facts.setdefault("ensemble", {})[pred] = out["point"]
    return diffs, boot


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


def zero_shot_aucs(test: Features, gen_tables: dict, n_main: dict, subsets: dict) -> dict:
    """Beyond the paper: test AUC of the frozen encoder's cosine, cos(c, j) and cos(j', j), no training."""
    scores = {"cos(c, j)": _cosine(test.c, test.j)}
    for name, table in gen_tables.items():
        scores[f"cos(j', j) {name}"] = _cosine(table.pooled(n_main[name]).lookup(test.seeker_ids), test.j)
    return {method: {sub: auc(test.y[m], s[m]) for sub, m in subsets.items() if _has_both_classes(test.y[m])}
            for method, s in scores.items()}


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
