"""Step 2: the reward model U(C, J) -> scalar (paper Sec. IV-B, Eq. 2).

U is a cross-encoder: the CV and the JD go in as one sentence pair, a linear head on top outputs one
number. On ``cpu`` it is all-MiniLM-L6-v2 (22M parameters, far smaller than the 135M generator, as the
paper asks). It is trained with the pairwise ranking loss of Eq. 2 on (CV, matched JD, mismatched JD)
triples of the same CV, with a plain PyTorch loop so every line is visible.

One file on purpose (~530 lines): scoring, training, the held-out evaluation and the stage share the
scorer's batching and feature plumbing (``score_batch``): step 2 of the paper as one readable piece.
"""

from __future__ import annotations

import copy
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as tdist
from sklearn.metrics import roc_auc_score
from torch.nn.utils.rnn import pad_sequence
from tqdm.auto import tqdm

from . import distributed as dist
from .config import validate_profile
from .data import held_out_split, oracle_for
from .extract import FEATURE_NAMES, MISSING_GROUPS, pair_features
from .losses import pairwise_ranking_loss
from .models import DualEncoderScorer, TopLayersCache, encode_texts, load_sequence_scorer, maxsim
from .runio import GirlError, check_finite, require_stage, save_stage, set_seed
from .world.fit import fit_terms
from .world.oracle import _cv_facts, _jd_facts

REQUIRED_COLUMNS = ("cv", "chosen", "rejected")


def _encode(tokenizer, cvs, jds, max_length, device):
    """Tokenise (CV, JD) pairs, or single texts when ``jds`` is ``None``. In a pair the CV is truncated
    first, so the JD is always seen whole if possible."""
    if jds is None:
        enc = tokenizer(list(cvs), truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    else:
        enc = tokenizer(list(cvs), list(jds), truncation="only_first", max_length=max_length, padding=True,
                        return_tensors="pt")
    return {k: v.to(device) for k, v in enc.items()}


def _distinct(texts) -> tuple[list[str], list[int]]:
    """The distinct ``texts`` in order of first appearance, and each input's position among them."""
    distinct = list(dict.fromkeys(texts))
    position = {t: i for i, t in enumerate(distinct)}
    return distinct, [position[t] for t in texts]


def _is_dual(model) -> bool:
    return isinstance(getattr(model, "module", model), DualEncoderScorer)


def _n_features(model) -> int:
    """Size of the model's feature head (0: none, or not a dual scorer)."""
    return getattr(getattr(model, "module", model), "n_features", 0) if _is_dual(model) else 0


def pair_feature_tensor(cvs, jds, device=None) -> torch.Tensor:
    """:func:`girl_lib.extract.pair_features` of each (CV, JD) pair from the raw texts, [B, n_features]
    float32 (each text's facts are read once and cached by :mod:`girl_lib.extract`)."""
    rows = [pair_features(c, j) for c, j in zip(cvs, jds)]
    return torch.tensor(rows, dtype=torch.float32, device=device).reshape(len(rows), len(FEATURE_NAMES))


def _features_for(model, cvs, jds, device=None) -> torch.Tensor | None:
    """The pair features the model's feature head reads, or ``None`` when it has none."""
    return pair_feature_tensor(cvs, jds, device) if _n_features(model) else None


def score_batch(model, tokenizer, cvs, jds, max_length: int = 384, grad: bool = False) -> torch.Tensor:
    """U(C, J) for a batch of pairs, shape [B]. No gradients unless ``grad=True``.

    A cross-encoder reads each (CV, JD) pair as one sequence of at most ``max_length`` tokens (the CV
    truncated first); a dual encoder embeds CV and JD separately, each up to ``max_length`` tokens."""
    device = next(model.parameters()).device
    with torch.set_grad_enabled(grad):
        if _is_dual(model):  # both dual kinds (with or without the late-interaction term)
            return model.score(_encode(tokenizer, cvs, None, max_length, device),
                               _encode(tokenizer, jds, None, max_length, device),
                               features=_features_for(model, list(cvs), list(jds), device)).float()
        return model(**_encode(tokenizer, cvs, jds, max_length, device)).logits[:, 0].float()


def preference_scores(model, tokenizer, cvs, chosen, rejected, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(U(C, J+), U(C, J-)) with gradients, for one training batch. The cross-encoder scores
    [chosen; rejected] in one forward (both halves share the batch); the dual encoder embeds each distinct
    CV and JD of the batch once."""
    device = next(model.parameters()).device
    n = len(cvs)
    if _is_dual(model):
        m = getattr(model, "module", model)
        # Each distinct text is embedded once: rows that share a CV (or a matched JD) share its embedding.
        cv_texts, cv_pos = _distinct(list(cvs))
        jd_texts, jd_pos = _distinct(list(chosen) + list(rejected))
        cv_pos, jd_pos = torch.tensor(cv_pos, device=device), torch.tensor(jd_pos, device=device)
        feats = _features_for(model, list(cvs) + list(cvs), list(chosen) + list(rejected), device)
        if m.late:  # token states too, for the MaxSim of each (CV, JD) pair
            c, c_tok, c_mask = m.embed_tokens(_encode(tokenizer, cv_texts, None, max_length, device))
            j, j_tok, j_mask = m.embed_tokens(_encode(tokenizer, jd_texts, None, max_length, device))
            rows = cv_pos.repeat(2)
            late = maxsim(c_tok[rows], c_mask[rows], j_tok[jd_pos], j_mask[jd_pos])
            scores = m.head(c[rows], j[jd_pos], late, features=feats)
        else:
            c = m.embed(_encode(tokenizer, cv_texts, None, max_length, device))[cv_pos]
            j = m.embed(_encode(tokenizer, jd_texts, None, max_length, device))[jd_pos]
            scores = m.head(c.repeat(2, 1), j, features=feats)
    else:
        scores = model(**_encode(tokenizer, list(cvs) + list(cvs), list(chosen) + list(rejected), max_length,
                                 device)).logits[:, 0]
    return scores[:n], scores[n:]


def score_pairs(model_dir, cvs: list[str], jds: list[str], batch_size: int = 32, max_length: int = 384,
                progress: bool | None = None) -> list[float]:
    """Public, batched U(C, J) for lists of CVs and JDs (a progress bar for long lists).

    ``model_dir`` is a folder written by :func:`run_reward` (``<run_dir>/reward/model``), or an already
    loaded ``(model, tokenizer)`` pair.
    """
    if len(cvs) != len(jds):
        raise GirlError(f"score_pairs got {len(cvs)} CVs but {len(jds)} JDs; pass one JD per CV")
    cvs, jds = list(cvs), list(jds)
    if isinstance(model_dir, tuple):
        model, tok = model_dir
    else:
        if not (Path(model_dir) / "config.json").exists():
            raise GirlError(f"no reward model at {model_dir}; run `girl reward --run-dir DIR` first")
        model, tok = load_sequence_scorer(str(model_dir))
    model.eval()
    progress = len(cvs) > 4 * batch_size if progress is None else progress
    scores: list[float] = []
    for start in tqdm(range(0, len(cvs), batch_size), desc="reward", disable=not progress, leave=False):
        scores += score_batch(model, tok, cvs[start:start + batch_size], jds[start:start + batch_size],
                              max_length).tolist()
    return scores


def held_out_scores(model, tokenizer, pairs: dict, max_length: int, batch_size: int = 32,
                    cache=None) -> tuple[np.ndarray, np.ndarray]:
    """(U(C, J+), U(C, J-)) as arrays for ``pairs`` (columns ``cv``, ``chosen``, ``rejected``), in eval
    mode without gradients. The dual encoder embeds each distinct text once
    (:func:`girl_lib.models.encode_texts`: length-sorted batches), then applies its head; the
    cross-encoder scores pair by pair. ``cache``: a :class:`girl_lib.models.TopLayersCache` of the dual
    encoder (scoring the same pairs again runs only its trainable top layers)."""
    was_training = model.training
    model.eval()
    if _is_dual(model):
        m = getattr(model, "module", model)
        n = len(pairs["cv"])
        texts, pos = _distinct(list(pairs["cv"]) + list(pairs["chosen"]) + list(pairs["rejected"]))
        emb = encode_texts(m.encoder, tokenizer, texts, batch_size, max_length, cache=cache, tokens=m.late)
        emb, token_vectors = emb if m.late else (emb, None)
        emb = torch.from_numpy(emb)[torch.tensor(pos)]  # rows: the CVs, then the chosen JDs, then the rejected
        with torch.no_grad():
            c, chosen, rejected = emb[:n], emb[n:2 * n], emb[2 * n:]
            late_c = late_r = None
            if m.late:
                late_c = _maxsim_rows(token_vectors, pos[:n], pos[n:2 * n])
                late_r = _maxsim_rows(token_vectors, pos[:n], pos[2 * n:])
            f_c = _features_for(model, pairs["cv"], pairs["chosen"])
            f_r = _features_for(model, pairs["cv"], pairs["rejected"])
            out = (m.head(c, chosen, late_c, features=f_c).float().numpy(),
                   m.head(c, rejected, late_r, features=f_r).float().numpy())
        model.train(was_training)
        return out
    chosen, rejected = [], []
    with torch.no_grad():
        for start in range(0, len(pairs["cv"]), batch_size):
            part = slice(start, start + batch_size)
            c, r = preference_scores(model, tokenizer, pairs["cv"][part], pairs["chosen"][part],
                                     pairs["rejected"][part], max_length)
            chosen += c.float().tolist()
            rejected += r.float().tolist()
    model.train(was_training)
    return np.array(chosen), np.array(rejected)


def _maxsim_rows(token_vectors: list, cv_pos: list[int], jd_pos: list[int], batch_size: int = 64) -> torch.Tensor:
    """:func:`girl_lib.models.maxsim` of the (CV, JD) pairs ``(token_vectors[cv_pos[i]],
    token_vectors[jd_pos[i]])``, padded per batch of pairs; [N]."""
    out = []
    for s in range(0, len(cv_pos), batch_size):
        cvs = [token_vectors[i] for i in cv_pos[s:s + batch_size]]
        jds = [token_vectors[i] for i in jd_pos[s:s + batch_size]]
        mask = lambda xs: pad_sequence([torch.ones(len(x)) for x in xs], batch_first=True)  # noqa: E731
        out.append(maxsim(pad_sequence(cvs, batch_first=True), mask(cvs), pad_sequence(jds, batch_first=True),
                          mask(jds)))
    return torch.cat(out) if out else torch.zeros(0)


def pairwise_metrics(chosen: np.ndarray, rejected: np.ndarray) -> dict:
    """Pairwise accuracy (U(C,J+) > U(C,J-)) and the AUC of matched vs mismatched scores."""
    chosen, rejected = np.asarray(chosen, float), np.asarray(rejected, float)
    labels = np.r_[np.ones(len(chosen)), np.zeros(len(rejected))]
    return {"pairwise_accuracy": float((chosen > rejected).mean()),
            "auc": float(roc_auc_score(labels, np.r_[chosen, rejected])),
            "margin_mean": float((chosen - rejected).mean())}


def accuracy_by_kind(chosen, rejected, fit_chosen, fit_rejected, kinds) -> dict:
    """Held-out results by where the rejected JD came from (``same`` occupation, ``related``, ``random``):
    ``accuracy_by_kind[kind]`` (U ranks the logged choice first), ``n_by_kind[kind]`` and
    ``same_occupation_oracle_agreement``: on same-occupation pairs whose noiseless fits differ, the share
    where U orders the two JDs as the noiseless recruiter does (``same_occupation_n`` such pairs). Empty
    when the split has no ``rejected_kind`` column."""
    if kinds is None:
        return {}
    kinds = np.asarray(kinds)
    right = np.asarray(chosen) > np.asarray(rejected)
    agree = right == (np.asarray(fit_chosen) > np.asarray(fit_rejected))
    same = (kinds == "same") & (np.asarray(fit_chosen) != np.asarray(fit_rejected))
    return {"accuracy_by_kind": {str(k): float(right[kinds == k].mean()) for k in sorted(set(kinds.tolist()))},
            "n_by_kind": {str(k): int((kinds == k).sum()) for k in sorted(set(kinds.tolist()))},
            "same_occupation_oracle_agreement": float(agree[same].mean()) if same.any() else None,
            "same_occupation_n": int(same.sum())}


FACTORS = {"skills": ("cov", "nice"), "level": ("under", "over"), "education": ("edu_short",),
           "salary": ("over_budget", "short_pay"), "city": ("away",)}
"""What can decide a pair, by the hidden fit's terms (:mod:`girl_lib.world.fit`) that express it."""


def deciding_factors(cv: str, jd_a: str, jd_b: str) -> list[str]:
    """The :data:`FACTORS` on which two JDs for one CV differ, as the oracle recruiter reads the texts
    (e.g. ``["skills", "salary"]``): what a reward model must see to order the pair."""
    seeker = _cv_facts(cv)
    a, b = fit_terms(seeker, _jd_facts(jd_a)), fit_terms(seeker, _jd_facts(jd_b))
    return [name for name, terms in FACTORS.items()
            if any(abs(getattr(a, t) - getattr(b, t)) > 1e-9 for t in terms)]


def accuracy_by_factor(pairs: dict, chosen_scores, rejected_scores) -> dict:
    """Pairwise accuracy over the held-out pairs on which each factor differs (a pair may count for several):
    ``{factor: {"accuracy", "n"}}``; ``pairs`` has columns ``cv``, ``chosen``, ``rejected``."""
    right = np.asarray(chosen_scores) > np.asarray(rejected_scores)
    hits: dict[str, list] = {name: [] for name in FACTORS}
    for i, (cv, a, b) in enumerate(zip(pairs["cv"], pairs["chosen"], pairs["rejected"])):
        for name in deciding_factors(cv, a, b):
            hits[name].append(bool(right[i]))
    return {name: {"accuracy": float(np.mean(v)) if v else None, "n": len(v)} for name, v in hits.items()}


def cv_groups(cvs) -> list[list[int]]:
    """Row indices grouped by CV text, in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i, cv in enumerate(cvs):
        groups.setdefault(cv, []).append(i)
    return list(groups.values())


def grouped_permutation(groups: list[list[int]], rng: np.random.Generator) -> np.ndarray:
    """All rows, the groups in random order, each group's rows kept together (shuffled within it)."""
    return np.concatenate([rng.permutation(groups[g]) for g in rng.permutation(len(groups))]).astype(int)


def _sync_parameters(model) -> None:
    """Every process starts from the main process's weights (several processes only)."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            tdist.broadcast(t.data, src=0)


def _average_gradients(params: list, world: int) -> None:
    """What DDP does after ``backward``: every gradient becomes its mean over the processes (one all-reduce
    of all of them, flattened); a parameter without a gradient on some process counts as zero there."""
    grads = [q.grad if q.grad is not None else torch.zeros_like(q) for q in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    tdist.all_reduce(flat)
    flat /= world
    offset = 0
    for q in params:
        q.grad = flat[offset:offset + q.numel()].view_as(q)
        offset += q.numel()


def logistic_feature_weights(cvs, chosen, rejected, c: float = 1.0) -> np.ndarray:
    """Weights ``w`` [n_features] of a logistic regression of the preference on the pair features'
    differences, ``P(J+ preferred) = sigmoid(w . (f(C, J+) - f(C, J-)))`` (no intercept; L2 strength
    ``1/c``): the feature head alone fitted to the pairs by Eq. 2's loss. Zeros when the pairs are empty."""
    from sklearn.linear_model import LogisticRegression  # local: only the logistic feature init needs it

    d = (pair_feature_tensor(cvs, chosen) - pair_feature_tensor(cvs, rejected)).numpy().astype(np.float64)
    if not len(d) or not d.any():
        return np.zeros(len(FEATURE_NAMES))
    x = np.r_[d, -d]  # both orders, so the fit without an intercept is symmetric
    y = np.r_[np.ones(len(d)), np.zeros(len(d))]
    return LogisticRegression(C=c, fit_intercept=False, max_iter=1000).fit(x, y).coef_[0]


def impute_missing_weights(model, cvs, jds) -> dict:
    """Price the omissions the training pairs never show: for each missing-fact indicator
    (:data:`girl_lib.extract.MISSING_GROUPS`) that is 0 on every (CV, JD) pair given, set its weight to the
    mean contribution of the features it stands in for over those pairs. Such a weight gets no gradient (its
    feature never fires), so it would stay at its start, and a JD that leaves out the years (or the place,
    the degree) would score as if they matched perfectly: a reward a policy could take by omitting them.
    With this, an omission scores as the average stated fact does. Returns ``{indicator: weight set}``."""
    if not _n_features(model) or len(FEATURE_NAMES) != _n_features(model):
        return {}
    w = getattr(model, "module", model).feature_weights
    f = pair_feature_tensor(cvs, jds).to(w.device)
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    out = {}
    with torch.no_grad():
        for flag, group in MISSING_GROUPS.items():
            if len(f) and not f[:, col[flag]].any():  # never omitted here: nothing taught this weight
                cols = [col[g] for g in group]
                w[col[flag]] = (f[:, cols] @ w[cols]).mean()
                out[flag] = float(w[col[flag]])
    return out


def train_reward_model(model, tokenizer, train, rcfg, log=None, stats: dict | None = None) -> list[dict]:
    """Minimise Eq. 2 with AdamW over shuffled minibatches of (cv, chosen, rejected). Returns the log.

    With ``rcfg.group_by_cv`` a minibatch holds consecutive rows of a permutation that keeps each CV's
    rows together, so a dual encoder embeds that CV (and a matched JD it shares) once for all its pairs.

    Under ``accelerate launch`` with N processes, ``rcfg.batch_size`` stays the *global* batch: every process
    draws the same batch, scores its contiguous share of it (:func:`girl_lib.distributed.share`), and the
    gradients are averaged over the processes (each share's loss weighted by its size, so the step is the
    one Eq. 2's mean over the whole batch gives); every process then takes the same optimiser step. The
    logged loss and accuracy are over the whole batch. ``stats`` (a dict, optional) receives
    ``rows_per_process``: the training pairs each process scored.

    A dual scorer with a feature head (``reward.features``) learns its feature weights in their own AdamW
    group at ``rcfg.feature_lr`` without weight decay (a handful of weights on features of order 1 need far
    larger steps than the encoder); with ``rcfg.feature_init == "logistic"`` they first start from
    :func:`logistic_feature_weights` of all the training pairs. After the last step, the weights of the
    missing-fact indicators that no training pair sets are filled in by :func:`impute_missing_weights`
    (``stats["imputed_feature_weights"]``)."""
    world = dist.num_processes()
    model.train()
    params = [q for q in model.parameters() if q.requires_grad]  # a dual encoder may freeze lower layers
    feature_w = getattr(model, "module", model).feature_weights if _n_features(model) else None
    if feature_w is not None and rcfg.feature_init == "logistic":
        with torch.no_grad():  # the same on every process: the same rows, a deterministic fit
            feature_w.copy_(torch.as_tensor(logistic_feature_weights(train["cv"], train["chosen"], train["rejected"]),
                                            dtype=feature_w.dtype))
    if world > 1:
        if rcfg.batch_size < world:
            raise GirlError(f"reward.batch_size={rcfg.batch_size} is smaller than the number of processes "
                            f"({world}); every process needs at least one pair of each batch")
        _sync_parameters(model)
    if feature_w is None or not feature_w.requires_grad:
        opt = torch.optim.AdamW(params, lr=rcfg.learning_rate, weight_decay=0.01)
    else:
        opt = torch.optim.AdamW([{"params": [q for q in params if q is not feature_w]},
                                 {"params": [feature_w], "lr": rcfg.feature_lr, "weight_decay": 0.0}],
                                lr=rcfg.learning_rate, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, rcfg.max_steps // 10)))
    rng = np.random.default_rng(rcfg.seed)
    groups = cv_groups(train["cv"]) if rcfg.group_by_cv else None
    order = np.array([], dtype=int)
    history, window = [], []
    n_mine = 0
    t0 = time.time()
    for step in range(rcfg.max_steps):
        if len(order) < rcfg.batch_size:
            order = np.r_[order, grouped_permutation(groups, rng) if groups else rng.permutation(len(train))]
        idx, order = order[:rcfg.batch_size], order[rcfg.batch_size:]
        if world > 1:  # this process's share of the global batch
            idx = idx[dist.share(len(idx))]
        n_mine += len(idx)
        rows = train.select(idx.tolist()).to_dict()  # column -> list
        chosen, rejected = preference_scores(model, tokenizer, rows["cv"], rows["chosen"], rows["rejected"],
                                             rcfg.max_length)
        loss = pairwise_ranking_loss(chosen, rejected)  # Eq. 2
        check_finite(loss, f"reward-model loss at step {step}")
        opt.zero_grad()
        if world > 1:
            # The mean over the whole batch: this share's mean weighted by its size (the average over the
            # processes divides by N again).
            (loss * (len(idx) * world / rcfg.batch_size)).backward()
            _average_gradients(params, world)
            sums = torch.tensor([loss.item() * len(idx), float((chosen > rejected).sum()), float(len(idx))],
                                dtype=torch.float64, device=loss.device)
            tdist.all_reduce(sums)
            window.append(((sums[0] / sums[2]).item(), (sums[1] / sums[2]).item()))
        else:
            loss.backward()
            window.append((loss.item(), (chosen > rejected).float().mean().item()))
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if (step + 1) % rcfg.logging_steps == 0 or step + 1 == rcfg.max_steps:
            row = {"step": step + 1, "loss": float(np.mean([w[0] for w in window])),
                   "train_accuracy": float(np.mean([w[1] for w in window])), "seconds": time.time() - t0}
            history.append(row)
            window = []
            if log:
                log(row)
    model.eval()
    imputed = {}
    if feature_w is not None:  # the same on every process: the same rows
        imputed = impute_missing_weights(model, list(train["cv"]) * 2, list(train["chosen"]) + list(train["rejected"]))
    if stats is not None:
        stats["rows_per_process"] = dist.gather_objects(n_mine)
        stats["imputed_feature_weights"] = imputed
    return history


def sharded_held_out_scores(model, tokenizer, pairs: dict, max_length: int, cache=None,
                            stats: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`held_out_scores`, each process scoring its contiguous share of the pairs, gathered back in
    order on every process (one process: exactly :func:`held_out_scores`). ``stats`` receives
    ``eval_rows_per_process``."""
    n = len(pairs["cv"])
    if dist.num_processes() == 1:
        if stats is not None:
            stats["eval_rows_per_process"] = [n]
        return held_out_scores(model, tokenizer, pairs, max_length, cache=cache)
    part = dist.share(n)
    mine = {k: list(v)[part] for k, v in pairs.items() if isinstance(v, (list, tuple))}
    out = (held_out_scores(model, tokenizer, mine, max_length, cache=cache) if mine["cv"]
           else (np.zeros(0), np.zeros(0)))
    got = dist.gather_objects(out)
    if stats is not None:
        stats["eval_rows_per_process"] = [len(g[0]) for g in got]
    return np.concatenate([g[0] for g in got]), np.concatenate([g[1] for g in got])


def run_reward(cfg, run_dir, progress: bool = True) -> dict:
    """Train U on the ``reward`` split; write ``reward/model`` and ``reward/metrics.json``.

    Under ``accelerate launch`` the processes share each training batch and the held-out pairs
    (:func:`train_reward_model`, :func:`sharded_held_out_scores`); only the main process writes."""
    validate_profile(cfg)  # before any work, also when a field was set by hand after the profile was built
    require_stage(run_dir, "data", "reward")
    run_dir, rcfg = Path(run_dir), cfg.reward
    set_seed(rcfg.seed)
    held_out, train = held_out_split(run_dir, "reward", REQUIRED_COLUMNS, rcfg.seed, rcfg.n_eval, eval_share=5)
    n_eval = len(held_out["cv"])

    t0 = time.time()
    model, tok = load_sequence_scorer(cfg.models.reward_backbone, cfg, head_seed=rcfg.seed,
                                      kind=rcfg.architecture, train_layers=rcfg.train_layers,
                                      n_features=len(FEATURE_NAMES) if rcfg.features else None)
    log = (lambda r: print(f"  reward step {r['step']}: loss {r['loss']:.4f} acc {r['train_accuracy']:.3f}",
                           flush=True)) if progress else None
    # The frozen lower layers give the same states before and after training: the second pass over the
    # held-out texts runs only the trained top layers.
    cache = (TopLayersCache(getattr(model, "module", model).encoder, rcfg.train_layers)
             if _is_dual(model) and rcfg.train_layers else None)
    main = dist.is_main_process()
    if not main:
        log = None
    work: dict = {}
    before = pairwise_metrics(*sharded_held_out_scores(model, tok, held_out, rcfg.max_length, cache=cache))
    history = train_reward_model(model, tok, train, rcfg, log, stats=work)

    chosen, rejected = sharded_held_out_scores(model, tok, held_out, rcfg.max_length, cache=cache, stats=work)
    metrics = pairwise_metrics(chosen, rejected)
    # Agreement with the hidden recruiter: does U order each held-out pair as the oracle's fit does?
    recruiter = oracle_for(cfg)
    fit_c = np.array([recruiter(c, j) for c, j in zip(held_out["cv"], held_out["chosen"])])
    fit_r = np.array([recruiter(c, j) for c, j in zip(held_out["cv"], held_out["rejected"])])
    decided = fit_c != fit_r
    metrics["oracle_agreement"] = float(((chosen > rejected) == (fit_c > fit_r))[decided].mean()) \
        if decided.any() else None
    metrics["oracle_pairwise_accuracy"] = float((fit_c > fit_r).mean())
    metrics.update(accuracy_by_kind(chosen, rejected, fit_c, fit_r, held_out.get("rejected_kind")))
    if "rejected_kind" in held_out:  # what decides the same-occupation pairs, and how U does on each
        same = [i for i, k in enumerate(held_out["rejected_kind"]) if k == "same"]
        metrics["same_occupation_by_factor"] = accuracy_by_factor(
            {c: [held_out[c][i] for i in same] for c in ("cv", "chosen", "rejected")}, chosen[same], rejected[same])
    metrics.update({"pairwise_accuracy_before": before["pairwise_accuracy"], "auc_before": before["auc"],
                    "architecture": rcfg.architecture, "train_layers": rcfg.train_layers,
                    "features": bool(rcfg.features), "feature_weights": _feature_weights(model),
                    "imputed_feature_weights": work.get("imputed_feature_weights") or None,
                    "n_train": len(train), "n_eval": n_eval, "steps": rcfg.max_steps,
                    "seconds": time.time() - t0, "history": history,
                    "eval_scores": {"chosen": chosen.tolist(), "rejected": rejected.tolist(),
                                    "oracle_chosen": fit_c.tolist(), "oracle_rejected": fit_r.tolist()},
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "num_processes": dist.num_processes(), "rows_per_process": work["rows_per_process"],
                    "eval_rows_per_process": work["eval_rows_per_process"]})
    if main:
        save_stage(run_dir, "reward", metrics, {"pairwise_accuracy": metrics["pairwise_accuracy"]}, cfg,
                   model=(model, tok))
    dist.barrier()  # no process returns before the stage is marked done
    return metrics


def _feature_weights(model) -> dict | None:
    """``{feature name: learnt weight}`` of a scorer's feature head, or ``None`` without one."""
    if not _n_features(model):
        return None
    w = getattr(model, "module", model).feature_weights.detach().float().cpu().tolist()
    return dict(zip(FEATURE_NAMES, w)) if len(w) == len(FEATURE_NAMES) else {str(i): v for i, v in enumerate(w)}


def compare_architectures(cfg, run_dir, architectures=("dual", "late"), out_root=None, progress: bool = False) -> list[dict]:
    """Train one reward model per design on the same data, split and budget, each in its own run dir under
    ``out_root`` (default ``run_dir/reward_compare``; the data stage is copied there), and return one row of
    held-out results per design: the side-by-side table of notebook 02.

    A design is a ``reward.architecture`` (``"dual"``, ``"late"``, ``"cross"``), trained *without* the
    feature head, or the same with ``"+features"`` (``"dual+features"``: with it, ``reward.features``). A
    row holds the overall pairwise accuracy and AUC, the agreement with the hidden recruiter (overall and
    on same-occupation pairs) and ``acc_<factor>``: the same-occupation pairwise accuracy by deciding
    factor (:func:`accuracy_by_factor`; its counts are in each run's ``reward/metrics.json``)."""
    require_stage(run_dir, "data", "reward comparison")
    out_root = Path(out_root) if out_root is not None else Path(run_dir) / "reward_compare"
    rows = []
    for design in architectures:
        arch, _, extra = design.partition("+")
        if extra not in ("", "features"):
            raise GirlError(f"unknown reward design {design!r}: an architecture, optionally with '+features' "
                            f"(e.g. 'dual+features')")
        side = out_root / design
        if not (side / "data").exists():
            shutil.copytree(Path(run_dir) / "data", side / "data")
        c = copy.deepcopy(cfg)
        c.reward.architecture = arch
        c.reward.features = extra == "features"
        m = run_reward(c, side, progress=progress)
        by_factor = m.get("same_occupation_by_factor") or {}
        rows.append({"architecture": design, "features": c.reward.features, **{k: m.get(k) for k in (
            "pairwise_accuracy_before", "pairwise_accuracy", "auc", "oracle_agreement",
            "same_occupation_oracle_agreement", "oracle_pairwise_accuracy", "seconds")},
            **{f"acc_{name}": v["accuracy"] for name, v in by_factor.items()}})
    return rows

