"""The notebooks' exercises: :func:`check` compares an answer with girl_lib's own, and the build-it-yourself
ones (:data:`FUNCTION_EXERCISES`) call the student's function on random inputs (``_in_*``) against girl_lib's
(``_exp_*``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Imports here: only what a bare Colab runtime has (see the note in girl_lib/course/__init__.py).


def _expected(exercise: str, ctx: dict):
    # local: scikit-learn imports pandas, which colab_install may replace (see the note at the imports)
    from ..metrics import auc, distinct_n

    if exercise == "00-label-noise":
        pairs = ctx["pairs"]
        return float((pairs["label"] == (pairs["fit"] > 0.5)).mean())
    if exercise == "01-loss-tokens":
        return int(sum(lab != -100 for lab in ctx["labels"]))
    if exercise == "02-pairwise-accuracy":
        return float(np.mean(np.asarray(ctx["chosen"]) > np.asarray(ctx["rejected"])))
    if exercise == "03-rloo":
        import torch  # local, both: torch, and ppo's trl/peft/accelerate (see the note at the imports)

        from ..ppo import group_advantages

        return group_advantages(torch.as_tensor(ctx["rewards"], dtype=torch.float32), ctx["k"], "rloo").tolist()
    if exercise == "04-distinct-2":
        return float(distinct_n(ctx["texts"], 2))
    if exercise == "05-advantage":
        report = ctx["report"]
        return float(report["win"] - report["lose"])
    if exercise == "06-auc":
        return float(auc(ctx["labels"], ctx["scores"]))
    raise KeyError(f"unknown exercise {exercise!r}")


def _as_array(x) -> np.ndarray:
    if hasattr(x, "detach"):          # a torch tensor (no torch import here: see the note at the imports)
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def _copy(value):
    """A copy of an exercise input, so a student function that modifies its arguments cannot change the
    reference answer."""
    if hasattr(value, "clone"):
        return value.clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@dataclass
class FunctionExercise:
    """A build-it-yourself exercise: the student writes ``fn(**inputs)``; :func:`check` calls it on random
    ``inputs`` and compares with the girl_lib function ``reference`` names."""
    reference: str
    """The girl_lib function the answer must match (shown in messages)."""
    inputs: object
    """``inputs(rng, trial) -> dict`` of keyword arguments for one trial."""
    expected: object
    """``expected(**inputs)``: girl_lib's answer."""
    hint: str
    trials: int = 6


def _torch():
    import torch  # local: see the note at the imports (function exercises on tensors only)

    return torch


def _in_bt(rng, trial):
    t = _torch()
    n = int(rng.integers(1, 9))
    return {"chosen": t.tensor(rng.normal(0, 3, n), dtype=t.float32),
            "rejected": t.tensor(rng.normal(0, 3, n), dtype=t.float32)}


def _in_logps(rng, trial):
    t = _torch()
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 7)))
    ref = np.log(rng.uniform(0.01, 1.0, shape))
    return {"logp_actor": t.tensor(ref + rng.normal(0, 0.7, shape), dtype=t.float32),
            "logp_ref": t.tensor(ref, dtype=t.float32)}


def _in_group(rng, trial):
    t = _torch()
    k, groups = int(rng.integers(2, 5)), int(rng.integers(1, 4))
    rewards = rng.normal(0, 1, (groups, k)) + rng.normal(0, 5, (groups, 1))   # each CV its own offset
    return {"rewards": t.tensor(rewards.ravel(), dtype=t.float32), "k": k, "kind": ("rloo", "grpo")[trial % 2]}


def _in_surrogate(rng, trial):
    t = _torch()
    b, width = int(rng.integers(1, 5)), int(rng.integers(2, 7))
    lengths = rng.integers(1, width + 1, b)
    mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.float32)
    old = np.log(rng.uniform(0.05, 1.0, (b, width)))
    new = old + rng.normal(0, 0.3, (b, width)) * (trial > 0)          # trial 0: rho = 1 everywhere
    return {"logp": t.tensor(new, dtype=t.float32), "old_logp": t.tensor(old, dtype=t.float32),
            "advantages": t.tensor(rng.normal(0, 1, b), dtype=t.float32), "mask": t.tensor(mask),
            "clip_eps": float(rng.choice([0.1, 0.2, 0.3]))}


def _in_sft(rng, trial):
    t = _torch()
    b, length, vocab = int(rng.integers(1, 4)), int(rng.integers(4, 9)), 11
    labels = rng.integers(0, vocab, (b, length))
    prompt = int(rng.integers(1, length - 1))
    labels[:, :prompt] = -100                                          # the prompt carries no loss
    for row in range(b):                                               # right padding
        pad = int(rng.integers(0, length - prompt))
        if pad:
            labels[row, length - pad:] = -100
    return {"logits": t.tensor(rng.normal(0, 2, (b, length, vocab)), dtype=t.float32),
            "labels": t.tensor(labels, dtype=t.long)}


_WORDS = ("python", "sql", "team", "lead", "data", "c++", "senior", "berlin", "salary", "skills", "the", "and")


def _in_texts(rng, trial):
    texts = []
    for _ in range(int(rng.integers(1, 6))):
        ws = [str(w) for w in rng.choice(_WORDS, int(rng.integers(0, 12)))]
        texts.append(" ".join(w.upper() if rng.random() < 0.2 else w for w in ws) + ("." if rng.random() < .5 else ""))
    if trial == 0:
        texts.append("python sql python sql")                         # one repeated bigram
    return {"texts": texts, "n": int(rng.integers(1, 4))}


def _in_bootstrap(rng, trial):
    size = int(rng.integers(5, 40))
    a = rng.normal(0.6, 0.2, size)
    return {"a": a, "b": a - rng.normal(0.05, 0.1, size), "n": 200, "seed": int(rng.integers(0, 1000))}


def _in_swap(rng, trial):
    n = int(rng.integers(1, 12))
    return {"xy": [str(v) for v in rng.choice(["A", "B", "C"], n)], "yx": [str(v) for v in rng.choice(["A", "B", "C"], n)]}


def _in_auc(rng, trial):
    n = int(rng.integers(4, 30))
    labels = rng.integers(0, 2, n)
    labels[:2] = [0, 1]                                                # both classes
    scores = np.round(rng.normal(0, 1, n) + labels * rng.uniform(0, 2), 1)   # rounded: ties happen
    return {"labels": labels.tolist(), "scores": scores.tolist()}


def _in_gauc(rng, trial):
    out = {"labels": [], "scores": [], "groups": []}
    for g in range(int(rng.integers(2, 6))):
        part = _in_auc(rng, trial)
        if g == 0:
            part["labels"] = [1] * len(part["labels"])                 # a seeker with one class: left out
        out["labels"] += part["labels"]
        out["scores"] += part["scores"]
        out["groups"] += [f"seeker-{g}"] * len(part["labels"])
    return out


def _exp_bt(chosen, rejected):
    from ..losses import pairwise_ranking_loss  # local, every girl_lib import of the exercises: torch

    return pairwise_ranking_loss(chosen, rejected)


def _exp_kl(estimator):
    def expected(logp_actor, logp_ref):
        from ..losses import kl_per_token

        return kl_per_token(logp_actor, logp_ref, estimator)
    return expected


def _exp_group(rewards, k, kind):
    from ..ppo import group_advantages

    return group_advantages(rewards, k, kind)


def _exp_surrogate(logp, old_logp, advantages, mask, clip_eps):
    from ..losses import ppo_actor_loss

    return ppo_actor_loss(logp, old_logp, advantages, mask, clip_eps)


def _exp_sft(logits, labels):
    from ..losses import sft_loss

    return sft_loss(logits, labels)


def _exp_distinct(texts, n):
    from ..metrics import distinct_n

    return distinct_n(texts, n)


def _exp_bootstrap(a, b, n, seed):
    from ..metrics import bootstrap_ci

    ci = bootstrap_ci(np.asarray(a) - np.asarray(b), np.mean, n=n, seed=seed)
    return [ci["low"], ci["high"]]


def _exp_swap(xy, yx):
    from ..judge import VERDICT_KEYS, aggregate

    pairs = [({k: a for k in VERDICT_KEYS}, {k: b for k in VERDICT_KEYS}) for a, b in zip(xy, yx)]
    return aggregate(pairs, n_bootstrap=0)["adv"]


def _exp_auc(labels, scores):
    from ..metrics import auc

    return auc(labels, scores)


def _exp_gauc(labels, scores, groups):
    from ..metrics import gauc

    return gauc(labels, scores, groups)


FUNCTION_EXERCISES = {
    "00-paired-bootstrap": FunctionExercise(
        "girl_lib.metrics.bootstrap_ci(a - b, np.mean, n, seed)", _in_bootstrap, _exp_bootstrap,
        "the pairs stay together: resample row indices once per resample and take mean(a[idx] - b[idx]); draw "
        "them with rng = np.random.default_rng(seed) and rng.integers(0, len(a), len(a)), n times; return "
        "np.quantile(means, [0.025, 0.975])"),
    "01-sft-loss": FunctionExercise(
        "girl_lib.losses.sft_loss", _in_sft, _exp_sft,
        "shift first (logits[:, :-1] predict labels[:, 1:]), then average -log p(label) over the positions "
        "whose label is not -100 only, over the whole batch (F.cross_entropy(..., ignore_index=-100) does it)"),
    "02-bt-loss": FunctionExercise(
        "girl_lib.losses.pairwise_ranking_loss", _in_bt, _exp_bt,
        "the loss is the mean of -log sigma(U+ - U-): with the minus sign (Eq. 2 as printed has none); "
        "torch.nn.functional.logsigmoid is the stable log sigma"),
    "03-kl-k1": FunctionExercise(
        "girl_lib.losses.kl_per_token(..., 'k1')", _in_logps, _exp_kl("k1"),
        "k1 is log rho = logp_actor - logp_ref, per token (no mean, no exp)"),
    "03-kl-k3": FunctionExercise(
        "girl_lib.losses.kl_per_token(..., 'k3')", _in_logps, _exp_kl("k3"),
        "k3 is 1/rho - 1 + log rho with log rho = logp_actor - logp_ref (1/rho = exp(-log rho)); never negative"),
    "03-group-advantage": FunctionExercise(
        "girl_lib.ppo.group_advantages", _in_group, _exp_group,
        "reshape to [groups, k]; RLOO: r_i minus the mean of the *other* k - 1 rewards of its group; GRPO: "
        "(r_i - group mean) / (group std with unbiased=False + 1e-6); flatten back"),
    "03-clipped-surrogate": FunctionExercise(
        "girl_lib.losses.ppo_actor_loss", _in_surrogate, _exp_surrogate,
        "rho = exp(logp - old_logp); per token min(rho * a, clamp(rho, 1 - eps, 1 + eps) * a) with a broadcast "
        "to every token of its JD; mean over each JD's masked tokens, then over JDs; and the minus sign"),
    "04-distinct-n": FunctionExercise(
        "girl_lib.metrics.distinct_n", _in_texts, _exp_distinct,
        "split every text with girl_lib.metrics.words (lower-cased), pool the n-grams of all texts (an n-gram "
        "never spans two texts), return len(set(grams)) / len(grams) (NaN when there is none)"),
    "05-swap-advantage": FunctionExercise(
        "girl_lib.judge.aggregate(...)['adv']", _in_swap, _exp_swap,
        "in the xy order 'A' means x wins; in the yx order 'A' means y wins (x loses). x wins a pair only "
        "when both orders say so, loses only when both say so, and every disagreement is a tie; "
        "Adv. = share of wins - share of losses"),
    "06-build-auc": FunctionExercise(
        "girl_lib.metrics.auc", _in_auc, _exp_auc,
        "AUC = the share of (positive, negative) pairs whose positive scores higher; a tie counts one half"),
    "06-gauc": FunctionExercise(
        "girl_lib.metrics.gauc", _in_gauc, _exp_gauc,
        "one AUC per group (seeker) over its own rows, skip groups that hold one class only, then the plain "
        "mean over the groups left (each seeker counts once)"),
}
"""The build-it-yourself exercises: ``course.check(name, my_function)``."""


def _check_function(exercise: str, fn, tol: float) -> bool | None:
    spec = FUNCTION_EXERCISES[exercise]
    if not callable(fn):
        print(f"[{exercise}] pass your function itself (course.check({exercise!r}, my_function)), got {fn!r}")
        return False
    rng = np.random.default_rng(0)
    for trial in range(spec.trials):
        inputs = spec.inputs(rng, trial)
        want = _as_array(spec.expected(**{k: _copy(v) for k, v in inputs.items()}))
        try:
            got = fn(**{k: _copy(v) for k, v in inputs.items()})
        except NotImplementedError:
            print(f"[{exercise}] not done yet: replace `raise NotImplementedError` with your code and run the "
                  f"cell again.")
            return None
        except Exception as err:  # noqa: BLE001 - any error in the student's code is reported, not raised
            print(f"[{exercise}] not quite: your function raised {type(err).__name__}: {err}\n  on inputs "
                  f"{_show_inputs(inputs)}\n  hint: {spec.hint}")
            return False
        try:
            got_arr = _as_array(got)
            ok = got_arr.shape == want.shape and bool(np.allclose(got_arr, want, atol=tol, rtol=1e-5,
                                                                  equal_nan=True))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            print(f"[{exercise}] not quite on random test {trial + 1} of {spec.trials}:\n  inputs {_show_inputs(inputs)}"
                  f"\n  {spec.reference} gives {np.round(want, 5).tolist()}, yours gives {got!r}\n  hint: {spec.hint}")
            return False
    print(f"[{exercise}] solved: your function matches {spec.reference} on {spec.trials} random inputs.")
    return True


def _show_inputs(inputs: dict, most: int = 12) -> str:
    parts = []
    for k, v in inputs.items():
        if hasattr(v, "detach") or isinstance(v, np.ndarray):
            arr = _as_array(v)
            parts.append(f"{k}={np.round(arr, 3).tolist()} (shape {list(arr.shape)})")
        elif isinstance(v, list) and len(v) > most:
            parts.append(f"{k}={v[:most]!r}... ({len(v)} items)")
        else:
            parts.append(f"{k}={v!r}")
    return ", ".join(parts)


def check(exercise: str, answer, tol: float = 1e-6, **ctx) -> bool | None:
    """Check a notebook exercise: prints "not done yet" while ``answer`` is None (the notebook still runs),
    "solved" when it matches, else a hint. Returns None, True or False.

    A build-it-yourself exercise (:data:`FUNCTION_EXERCISES`) takes the student's *function* as ``answer``:
    it is called on random inputs and compared with girl_lib's; a function that still raises
    ``NotImplementedError`` counts as not done yet."""
    if answer is None:
        print(f"[{exercise}] not done yet: replace the None of the TODO line and run the cell again.")
        return None
    if exercise in FUNCTION_EXERCISES:
        return _check_function(exercise, answer, tol)
    want = _expected(exercise, ctx)
    try:
        ok = bool(np.allclose(np.asarray(answer, dtype=float), np.asarray(want, dtype=float), atol=tol, rtol=0))
    except (TypeError, ValueError):
        ok = False
    if ok:
        print(f"[{exercise}] solved: {np.round(np.asarray(answer, dtype=float), 4).tolist()}")
    else:
        print(f"[{exercise}] not quite: got {answer!r}; compare your computation with the cell above it.")
    return ok
