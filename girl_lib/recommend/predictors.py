"""Step 3 of the recommender, the predictors (Eq. 10, 11, 13-15): :class:`MLPPredictor` and the two-tower
:class:`DotPredictor`, Base and enhanced, with z-scored inputs and optional field features
(:class:`FieldDims`); :func:`make_predictor` builds either from a ``RecommendConfig``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..names import PREDICTORS
from ..runio import GirlError

if TYPE_CHECKING:
    from .features import Features


def _rcfg(cfg):
    """Accept a whole :class:`~girl_lib.config.Profile` or its ``RecommendConfig``."""
    return cfg.recommend if hasattr(cfg, "recommend") else cfg


@dataclass(frozen=True)
class FieldDims:
    """Widths of a predictor's field-feature blocks (0: none): ``field_dim``, the (CV, JD) facts read by Base
    and enhanced models alike, and ``jp_field_dim``, the (j', j) comparisons read by enhanced models only."""

    field_dim: int = 0
    jp_field_dim: int = 0


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

    With field features (``fields.field_dim`` > 0) the (CV, JD) fields ``f`` join the input of Base and enhanced
    models alike, ``MLP([c; j; f])``; an enhanced model with ``fields.jp_field_dim`` > 0 also reads the (j', j)
    comparisons ``g``: ``MLP([c; j; j'; f; g])``. Returns logits; ``sigmoid(score)`` is the match
    probability. Inputs are z-scored (see :class:`_Predictor`).
    """

    def __init__(self, c_dim: int, j_dim: int, hidden_dim: int, dropout: float = 0.0, enhanced: bool = False,
                 jp_dim: int | None = None, fields: FieldDims = FieldDims()):
        super().__init__()
        self.enhanced = enhanced
        jp_dim = jp_dim or j_dim
        self._init_stats({"c": c_dim, "j": j_dim} | ({"jp": jp_dim} if enhanced else {}))
        self._init_field_stats(fields.field_dim, fields.jp_field_dim)
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
                 jp_dim: int | None = None, jp_skip: float = 0.5, fields: FieldDims = FieldDims()):
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
        self._init_field_stats(fields.field_dim, fields.jp_field_dim)
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
                   fields: FieldDims = FieldDims()) -> nn.Module:
    """``kind`` is ``"MLP"`` or ``"Dot"``; sizes from ``cfg.recommend`` (or a ``RecommendConfig``);
    ``fields``: widths of the (CV, JD) and (j', j) field blocks (:class:`FieldDims`; default none)."""
    rc = _rcfg(cfg)
    kind = _kind(kind)
    if kind == "MLP":
        return MLPPredictor(c_dim, j_dim, rc.hidden_dim, rc.dropout, enhanced, jp_dim, fields)
    return DotPredictor(c_dim, j_dim, rc.proj_dim, rc.dropout, enhanced, jp_dim, jp_skip=rc.dot_jp_skip,
                        fields=fields)


def _kind(kind: str) -> str:
    for name in PREDICTORS:
        if str(kind).lower() == name.lower():
            return name
    raise GirlError(f"unknown predictor {kind!r}: choose one of {', '.join(PREDICTORS)}")
