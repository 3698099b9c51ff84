"""Every figure the notebooks and the report show. Each function takes plain data (metrics dicts, lists)
and returns a matplotlib Figure; nothing here trains or loads models."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _fig(ncols: int = 1, width: float = 5.0, height: float = 3.4):
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, axes[0]


def training_curve(history: list[dict], key: str = "loss", title: str = "training loss", x: str = "step"):
    """A loss (or any logged value) against steps."""
    fig, (ax,) = _fig()
    ax.plot([h[x] for h in history], [h[key] for h in history], marker="o", ms=3)
    ax.set_xlabel(x)
    ax.set_ylabel(key)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def reward_score_hist(chosen, rejected, title: str = "reward model scores on held-out pairs"):
    """Distributions of U(C, J+) and U(C, J-)."""
    fig, (ax,) = _fig()
    bins = np.histogram_bin_edges(np.r_[chosen, rejected], bins=30)
    ax.hist(chosen, bins=bins, alpha=0.6, label="matched J+")
    ax.hist(rejected, bins=bins, alpha=0.6, label="mismatched J-")
    ax.set_xlabel("U(C, J)")
    ax.set_ylabel("pairs")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def ppo_curves(rows: list[dict], keys=("reward", "kl", "total_reward", "clip_frac", "value_loss")):
    """PPO logs (``ppo/metrics.jsonl`` rows) against iteration, one panel per key present."""
    keys = [k for k in keys if rows and k in rows[0]]
    fig, axes = _fig(max(1, len(keys)), width=4.2)
    for ax, key in zip(axes, keys):
        ax.plot([r["iteration"] for r in rows], [r[key] for r in rows], marker="o", ms=3)
        ax.set_xlabel("iteration")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def win_rate_bars(judge: dict, title: str = "pairwise judge (Table II analogue)"):
    """Stacked win/tie/lose bars per model pair, with the advantage and its 95% interval."""
    pairs = list(judge)
    fig, axes = _fig(2, width=5.0)
    ax = axes[0]
    left = np.zeros(len(pairs))
    for key, color in (("win", "tab:green"), ("tie", "tab:gray"), ("lose", "tab:red")):
        vals = np.array([judge[p][key] for p in pairs])
        ax.barh(pairs, vals, left=left, color=color, label=key)
        left += vals
    ax.set_xlim(0, 1)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax = axes[1]
    adv = np.array([judge[p]["adv"] for p in pairs])
    ci = np.array([judge[p].get("adv_ci") or [a, a] for p, a in zip(pairs, adv)], dtype=float)
    ax.barh(pairs, adv, xerr=[adv - ci[:, 0], ci[:, 1] - adv], color="tab:blue", capsize=4)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_title("advantage = win - lose (95% CI)")
    ax.set_yticklabels([])
    fig.tight_layout()
    return fig


def auc_bars(recommend: dict, title: str = "AUC on rec_test"):
    """Grouped bars: predictor (MLP, Dot) x model (Base, GIRL-SFT, GIRL, ...), with std error bars."""
    predictors = list(recommend)
    models = [m for m in ("Base", "base-gen", "GIRL-SFT", "GIRL") if m in recommend[predictors[0]]]
    fig, (ax,) = _fig(width=6.0)
    width = 0.8 / len(models)
    for i, m in enumerate(models):
        vals = [recommend[p][m]["auc"] for p in predictors]
        errs = [recommend[p][m].get("auc_std", 0.0) or 0.0 for p in predictors]
        ax.bar(np.arange(len(predictors)) + i * width, vals, width, yerr=errs, capsize=3, label=m)
    ax.set_xticks(np.arange(len(predictors)) + width * (len(models) - 1) / 2)
    ax.set_xticklabels(predictors)
    lo = min(recommend[p][m]["auc"] for p in predictors for m in models)
    ax.set_ylim(max(0.0, lo - 0.05), None)
    ax.set_ylabel("AUC")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def generation_number_curve(curves: dict, title: str = "AUC against number of generated JDs (Fig. 5)"):
    """``{model: {n: auc}}`` lines, as the paper's Figure 5."""
    fig, (ax,) = _fig()
    for model, by_n in curves.items():
        ns = sorted(by_n, key=int)
        ax.plot([int(n) for n in ns], [by_n[n] for n in ns], marker="o", label=model)
    ax.set_xlabel("generated JDs per seeker (mean-pooled)")
    ax.set_ylabel("AUC")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def save(fig, path) -> None:
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
