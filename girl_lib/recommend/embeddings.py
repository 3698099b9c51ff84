"""Step 1 of the recommender, the frozen encoder's vectors (Eq. 9, 12): :class:`EmbeddingTable` (ids and
vectors, looked up by id), mean pooling of several generated JDs (:func:`pool_generated`, Fig. 5), the
seeker-major stacking of generations and the on-disk cache ``<run_dir>/recommend/emb_*.npy``."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..models import encode_texts, load_encoder
from ..runio import GirlError, atomic_write_text, check_finite


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
