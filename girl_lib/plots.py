"""Every figure the notebooks and the report show. Each function takes plain data (metrics dicts, lists)
and returns a matplotlib Figure; nothing here trains or loads models."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402


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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


# =========================================================================== course notebooks (00-06)
# Figures and small displays the notebooks use. Same rule as above: plain data in, a Figure (or an HTML
# string) out; nothing here trains or loads models.
def _barh(ax, labels, values, color="tab:blue"):
    y = np.arange(len(labels))
    ax.barh(y, values, color=color)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()


def count_bars(counts: dict, title: str = "counts", top: int = 20, xlabel: str = "count"):
    """Horizontal bars of the ``top`` largest ``{label: count}`` entries (e.g. skills or industries)."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top]
    fig, (ax,) = _fig(width=5.5, height=max(2.4, 0.22 * len(items) + 0.8))
    _barh(ax, [str(k) for k, _ in items], [v for _, v in items])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def grouped_count_bars(groups: dict, title: str = "share by group", normalise: bool = True):
    """``{series: {label: count}}`` as grouped horizontal bars (e.g. industries of seekers vs of jobs);
    with ``normalise`` each series is shown as shares, so series of different sizes compare."""
    series = list(groups)
    labels = sorted({k for g in groups.values() for k in g}, key=lambda k: -sum(g.get(k, 0) for g in groups.values()))
    fig, (ax,) = _fig(width=5.5, height=max(2.4, 0.3 * len(labels) + 0.8))
    height = 0.8 / max(1, len(series))
    y = np.arange(len(labels))
    for i, name in enumerate(series):
        total = sum(groups[name].values()) or 1
        vals = [groups[name].get(k, 0) / (total if normalise else 1) for k in labels]
        ax.barh(y + i * height, vals, height, label=name)
    ax.set_yticks(y + height * (len(series) - 1) / 2)
    ax.set_yticklabels([str(k) for k in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share" if normalise else "count")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def binned_rate(x, y, bins) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin centres, mean of ``y`` per bin, count per bin) of ``y`` against ``x``; empty bins give NaN."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    edges = np.asarray(bins, float)
    idx = np.clip(np.digitize(x, edges[1:-1], right=True), 0, len(edges) - 2)
    counts = np.bincount(idx, minlength=len(edges) - 1)
    sums = np.bincount(idx, weights=y, minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return (edges[:-1] + edges[1:]) / 2, means, counts


def match_rate_curve(x, series: dict, bins=np.linspace(0, 1, 6), xlabel: str = "skill coverage (cov)",
                     title: str = "match rate against skill coverage"):
    """Mean of each ``{name: values}`` series (labels, fit probabilities) in bins of ``x``, with the
    number of pairs per bin on a second axis as bars."""
    fig, (ax,) = _fig(width=5.5)
    centres = None
    for name, y in series.items():
        centres, means, counts = binned_rate(x, y, bins)
        ax.plot(centres, means, marker="o", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rate")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    if centres is not None:
        ax2 = ax.twinx()
        width = (np.asarray(bins)[1] - np.asarray(bins)[0]) * 0.8
        ax2.bar(centres, counts, width=width, alpha=0.15, color="gray")
        ax2.set_ylabel("pairs per bin", color="gray")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def length_hists(lengths: dict, title: str = "lengths", xlabel: str = "words", bins: int = 30):
    """Overlaid histograms of ``{name: [length, ...]}`` (CV vs JD words, generated JD tokens, ...)."""
    fig, (ax,) = _fig(width=5.5)
    values = [np.asarray(v, float) for v in lengths.values() if len(v)]
    edges = np.histogram_bin_edges(np.concatenate(values), bins=bins) if values else bins
    for name, v in lengths.items():
        if len(v):
            ax.hist(v, bins=edges, alpha=0.55, label=f"{name} (mean {np.mean(v):.0f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("texts")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def score_vs_oracle(scores, oracle, labels=None, title: str = "reward model U(C, J) against the oracle's fit",
                    n_bins: int = 8):
    """Left: scatter of model scores against the hidden recruiter's fit (coloured by ``labels``: 1 =
    matched J+, 0 = mismatched J-) with the Spearman correlation. Right: mean oracle fit per score bin
    (quantiles), a calibration-style view: a good U gives a rising curve."""
    scores, oracle = np.asarray(scores, float), np.asarray(oracle, float)
    fig, axes = _fig(2, width=4.6)
    ax = axes[0]
    if labels is None:
        ax.scatter(oracle, scores, s=12, alpha=0.6)
    else:
        labels = np.asarray(labels)
        for lab, name, color in ((1, "matched J+", "tab:green"), (0, "mismatched J-", "tab:red")):
            m = labels == lab
            ax.scatter(oracle[m], scores[m], s=12, alpha=0.6, label=name, color=color)
        ax.legend(fontsize=8)
    rho = spearmanr(scores, oracle).statistic if len(scores) > 2 and np.std(scores) > 0 and np.std(oracle) > 0 else float("nan")
    ax.set_xlabel("oracle fit (hidden recruiter, from text)")
    ax.set_ylabel("U(C, J)")
    ax.set_title(f"{title}\nSpearman rho = {rho:.2f}", fontsize=9)
    ax.grid(alpha=0.3)
    ax = axes[1]
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, n_bins + 1))) if len(scores) else np.array([0.0, 1.0])
    if len(edges) < 2:
        edges = np.array([scores.min() - 0.5, scores.max() + 0.5]) if len(scores) else np.array([0.0, 1.0])
    centres, means, counts = binned_rate(scores, oracle, edges)
    ax.plot(centres, means, marker="o")
    ax.set_xlabel("U(C, J) (quantile bins)")
    ax.set_ylabel("mean oracle fit")
    ax.set_title("oracle fit per score bin", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def clip_objective(clip_eps: float = 0.2, advantages=(1.0, -1.0), ratios=None):
    """The PPO clipped surrogate ``min(rho a, clip(rho, 1-eps, 1+eps) a)`` (Eq. 6-7) against the ratio
    rho, one line per advantage ``a``, with the clip region shaded."""
    ratios = np.linspace(0.5, 1.5, 201) if ratios is None else np.asarray(ratios, float)
    fig, (ax,) = _fig(width=5.0)
    for a in advantages:
        obj = np.minimum(ratios * a, np.clip(ratios, 1 - clip_eps, 1 + clip_eps) * a)
        ax.plot(ratios, obj, label=f"a = {a:+g}")
    ax.axvspan(1 - clip_eps, 1 + clip_eps, color="gray", alpha=0.15, label="[1-eps, 1+eps]")
    ax.axvline(1.0, color="k", lw=0.6)
    ax.set_xlabel("rho = pi_theta / pi_old")
    ax.set_ylabel("objective (maximised)")
    ax.set_title(f"Eq. 6-7: clipped surrogate, eps = {clip_eps:g}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def reward_kl_tradeoff(rows: list[dict], x: str = "kl_girl", y: str = "reward_girl", baseline: str = "reward_sft",
                       title: str = "reward-KL trade-off (Eq. 4)"):
    """One point per PPO run (``girl_lib.ppo.reward_kl_tradeoff`` rows), KL to the reference against the
    RM reward, each labelled with its lambda; the SFT model's reward as a dashed line; and, where the
    rows have it, the oracle fit on a second panel. Where a row carries the paired difference GIRL −
    GIRL-SFT (``reward_diff`` / ``oracle_fit_diff``), its point gets that difference's 95% interval as an
    error bar: a point whose bar crosses the dashed line shows no change."""
    has_oracle = any(r.get("oracle_fit_girl") is not None for r in rows)
    fig, axes = _fig(2 if has_oracle else 1, width=4.6)
    panels = [(axes[0], y, baseline, "mean RM reward U")]
    if has_oracle:
        panels.append((axes[1], "oracle_fit_girl", "oracle_fit_sft", "mean oracle fit"))
    for ax, key, base, ylabel in panels:
        xs = [r.get(x) for r in rows]
        ys = [r.get(key) for r in rows]
        ax.plot(xs, ys, marker="o")
        diff_key = key.replace("_girl", "_diff")
        bars = [(xv, yv, r[diff_key]) for r, xv, yv in zip(rows, xs, ys)
                if xv is not None and yv is not None and (r.get(diff_key) or {}).get("ci95")]
        if bars:
            ax.errorbar([b[0] for b in bars], [b[1] for b in bars], fmt="none", ecolor="tab:blue", capsize=3,
                        yerr=[[d["mean"] - d["ci95"][0] for _, _, d in bars], [d["ci95"][1] - d["mean"] for _, _, d in bars]])
        for r, xv, yv in zip(rows, xs, ys):
            if xv is not None and yv is not None:
                ax.annotate(f"λ={r['kl_coef']:g}", (xv, yv), textcoords="offset points", xytext=(4, 4), fontsize=8)
        bases = [r.get(base) for r in rows if r.get(base) is not None]
        if bases:
            ax.axhline(float(np.mean(bases)), color="gray", ls="--", lw=1, label="GIRL-SFT")
            ax.legend(fontsize=8)
        ax.set_xlabel("KL to the reference (Eq. 3)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def paired_diff_bars(tables: dict, metric: str = "auc", title: str = "paired differences on rec_test (95% CI)"):
    """One panel per table (e.g. ``{"all test seekers": results["recommend"], "cold start": ...}``): for each
    predictor and each difference of ``table[pred]["diff"]`` (GIRL − Base, GIRL − GIRL-SFT, GIRL-SFT − Base),
    the point difference of ``metric`` with its seeker-level 95% bootstrap interval. A bar whose interval
    crosses 0 shows nothing either way."""
    tables = {name: t for name, t in tables.items() if t and any("diff" in rows for rows in t.values())}
    fig, axes = _fig(max(1, len(tables)), width=4.6)
    for ax, (name, table) in zip(axes, tables.items()):
        labels, vals, lo, hi = [], [], [], []
        for pred, rows in table.items():
            for pair, d in rows.get("diff", {}).items():
                labels.append(f"{pred}: {pair.replace('-Base', ' − Base').replace('-GIRL-SFT', ' − GIRL-SFT')}")
                vals.append(d[metric]["mean"])
                lo.append(d[metric]["ci95"][0])
                hi.append(d[metric]["ci95"][1])
        vals, lo, hi = np.array(vals), np.array(lo), np.array(hi)
        colors = ["tab:green" if a > 0 else "tab:red" if b < 0 else "tab:gray" for a, b in zip(lo, hi)]
        # a percentile interval can miss its own point estimate on a few seekers (the mean of a skewed
        # difference): draw what lies on each side, never a negative length (matplotlib refuses those)
        ax.barh(labels, vals, xerr=[np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)], color=colors,
                capsize=3)
        ax.axvline(0, color="k", lw=0.8)
        ax.invert_yaxis()
        ax.set_xlabel(f"{metric.upper()} difference")
        ax.set_title(name, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(title + " — green/red: interval excludes 0", fontsize=9)
    fig.tight_layout()
    return fig


def sft_vs_girl_bars(ppo_metrics: dict, title: str = "GIRL-SFT vs GIRL on held-out CVs"):
    """The reward-hacking check: mean RM reward and mean oracle fit of GIRL-SFT and GIRL side by side
    (``ppo/metrics.json``). The RM reward rising while the oracle fit falls is the warning sign. Where the
    metrics carry the paired difference (``reward_diff``, ``oracle_fit_diff``), GIRL's bar gets its 95%
    interval: GIRL-SFT's mean plus the interval of GIRL - GIRL-SFT over CVs."""
    panels = [("reward", "mean RM reward U"), ("oracle_fit", "mean oracle fit (hidden recruiter)")]
    panels = [(k, t) for k, t in panels if ppo_metrics.get(f"{k}_sft") is not None]
    fig, axes = _fig(max(1, len(panels)), width=3.8)
    for ax, (key, label) in zip(axes, panels):
        vals = [ppo_metrics[f"{key}_sft"], ppo_metrics[f"{key}_girl"]]
        diff = ppo_metrics.get(f"{key}_diff") or {}
        yerr = None
        if diff.get("mean") is not None:
            lo, hi = diff["ci95"]
            yerr = [[0.0, diff["mean"] - lo], [0.0, hi - diff["mean"]]]
            vals[1] = vals[0] + diff["mean"]
            label += "\n(bar on GIRL: 95% CI of the paired difference)"
        ax.bar(["GIRL-SFT", "GIRL"], vals, color=["tab:gray", "tab:blue"], yerr=yerr, capsize=4)
        for i, v in enumerate(vals):
            ax.annotate(f"{v:.3f}", (i, v), ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(label, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def fit_terms_bars(splits: dict, title: str = "where GIRL - GIRL-SFT's fit comes from (95% CI)"):
    """One panel per recruiter (``{label: {term group: paired-difference dict}}``, as
    :func:`girl_lib.ppo.fit_term_split` returns for each): each group's contribution with its interval."""
    fig, axes = _fig(len(splits), width=4.6)
    for ax, (label, terms) in zip(axes, splits.items()):
        names = list(terms)
        means = np.array([terms[n]["mean"] for n in names], dtype=float)
        lo = np.array([terms[n]["ci95"][0] for n in names], dtype=float)
        hi = np.array([terms[n]["ci95"][1] for n in names], dtype=float)
        y = np.arange(len(names))
        ax.barh(y, means, xerr=np.vstack([means - lo, hi - means]), color="tab:blue", alpha=0.8, capsize=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels(names)
        ax.invert_yaxis()
        ax.set_xlabel("contribution to the fit difference")
        ax.set_title(f"{label}: total {means.sum():+.3f}")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def aspect_adv_bars(judge: dict, aspects=("detail", "relevance", "conciseness"),
                    title: str = "advantage per aspect (win - lose, 95% CI over CVs)"):
    """Grouped bars: for each model pair of ``judge/metrics.json``, the advantage on each aspect and overall,
    with its 95% interval over CVs where the report carries one."""
    pairs = list(judge)
    keys = list(aspects) + ["overall"]
    fig, (ax,) = _fig(width=6.0)
    width = 0.8 / len(keys)
    x = np.arange(len(pairs))
    for i, key in enumerate(keys):
        reps = [judge[p] if key == "overall" else judge[p]["aspects"][key] for p in pairs]
        vals = np.array([r["adv"] or 0.0 for r in reps], dtype=float)
        ci = np.array([r.get("adv_ci") or [v, v] for r, v in zip(reps, vals)], dtype=float)
        ax.bar(x + i * width, vals, width, label=key, yerr=[vals - ci[:, 0], ci[:, 1] - vals], capsize=2)
    ax.set_xticks(x + width * (len(keys) - 1) / 2)
    ax.set_xticklabels([p.replace("_vs_", "\nvs ") for p in pairs], fontsize=8)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("advantage")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def diversity_bars(stats: dict, title: str = "diversity of generated JDs"):
    """``{model: {metric: value}}`` as one panel per metric (e.g. distinct-1, distinct-2, self-overlap)."""
    models = list(stats)
    metrics = list(next(iter(stats.values()))) if stats else []
    fig, axes = _fig(max(1, len(metrics)), width=3.4)
    for ax, m in zip(axes, metrics):
        vals = [stats[k][m] for k in models]
        ax.bar(models, vals, color="tab:blue")
        ax.set_ylim(0, 1)
        ax.set_title(m, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def retrieval_bars(retrieval: dict, subset: str = "all", title: str = "retrieval: rank the job pool by cos(query, j)"):
    """Recall@k and NDCG@k of each query type (``recommend/metrics.json: retrieval``) on one subset, with
    the random ranking's Recall@k as a dashed line."""
    methods = [m for m, by in retrieval.get("methods", {}).items() if subset in by]
    ks = retrieval.get("k", [])
    fig, axes = _fig(2, width=4.6)
    for ax, metric in zip(axes, ("recall", "ndcg")):
        width = 0.8 / max(1, len(methods))
        x = np.arange(len(ks))
        for i, m in enumerate(methods):
            ax.bar(x + i * width, [retrieval["methods"][m][subset][f"{metric}@{k}"] for k in ks], width, label=m)
        if metric == "recall":
            for i, k in enumerate(ks):
                rnd = retrieval.get("random_recall", {}).get(str(k))
                if rnd is not None:
                    ax.hlines(rnd, i - 0.1, i + 0.9, colors="k", linestyles="--", lw=1)
        ax.set_xticks(x + width * (len(methods) - 1) / 2)
        ax.set_xticklabels([f"{metric}@{k}" for k in ks])
        ax.set_ylim(0, 1)
        ax.set_title(f"{metric} ({subset})", fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def side_by_side_html(texts: dict, width_px: int = 330) -> str:
    """An HTML table showing ``{title: text}`` in columns (a CV beside its JDs); render it with
    ``IPython.display.HTML``. Text is escaped and keeps its line breaks."""
    head = "".join(f"<th style='text-align:left;vertical-align:top'>{html.escape(str(k))}</th>" for k in texts)
    cells = "".join(
        f"<td style='vertical-align:top;text-align:left;min-width:{width_px}px;max-width:{width_px * 1.4:.0f}px'>"
        f"<pre style='white-space:pre-wrap;font-size:11px;margin:0'>{html.escape(str(v))}</pre></td>"
        for v in texts.values())
    return f"<table><tr>{head}</tr><tr>{cells}</tr></table>"


def loss_mask_html(tokens: list[str], labels: list[int], ignore_index: int = -100) -> str:
    """Tokens coloured by whether they carry loss (Eq. 1): grey = masked (label ``ignore_index``, the
    prompt), green = trained on (the JD and its end-of-turn token)."""
    spans = []
    for tok, lab in zip(tokens, labels):
        style = "background:#d9f2d9" if lab != ignore_index else "color:#888"
        text = html.escape(tok).replace("\n", "↵<br>")
        spans.append(f"<span style='{style}'>{text}</span>")
    legend = ("<p><span style='color:#888'>grey: prompt, label -100 (no loss)</span> · "
              "<span style='background:#d9f2d9'>green: JD tokens, label = next token id (loss)</span></p>")
    return legend + "<div style='font-family:monospace;font-size:11px;line-height:1.6'>" + "".join(spans) + "</div>"
