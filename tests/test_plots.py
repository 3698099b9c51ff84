"""The figure functions the notebooks use: each returns a Figure (or HTML) from plain data, no models."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from girl_lib import metrics, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _is_fig(fig):
    return isinstance(fig, matplotlib.figure.Figure)


def test_count_and_grouped_bars():
    assert _is_fig(plots.count_bars({"sql": 5, "python": 9, "excel": 1}, top=2))
    assert _is_fig(plots.grouped_count_bars({"seekers": {"tech": 3, "health": 1}, "jobs": {"tech": 1, "retail": 4}}))


def test_binned_rate_means_and_counts():
    centres, means, counts = plots.binned_rate([0.1, 0.15, 0.9], [1, 0, 1], [0, 0.5, 1])
    assert np.allclose(centres, [0.25, 0.75])
    assert np.allclose(means, [0.5, 1.0])
    assert counts.tolist() == [2, 1]
    _, means, counts = plots.binned_rate([0.1], [1], [0, 0.5, 1])
    assert counts.tolist() == [1, 0] and math.isnan(means[1])


def test_match_rate_and_lengths():
    rng = np.random.default_rng(0)
    x = rng.random(50)
    assert _is_fig(plots.match_rate_curve(x, {"label": (x > 0.5).astype(float), "fit": x}))
    assert _is_fig(plots.length_hists({"CV": [90, 100, 110], "JD": [80, 85], "empty": []}))


def test_score_vs_oracle_and_clip_objective():
    rng = np.random.default_rng(0)
    oracle = rng.random(30)
    assert _is_fig(plots.score_vs_oracle(oracle * 2 + rng.normal(0, 0.1, 30), oracle, labels=(oracle > 0.5).astype(int)))
    assert _is_fig(plots.score_vs_oracle(np.zeros(4), np.zeros(4)))  # constant input: no crash
    assert _is_fig(plots.clip_objective(0.2))


def test_ppo_and_judge_figures():
    rows = [{"kl_coef": 0.0, "kl_girl": 0.3, "reward_girl": 0.5, "reward_sft": 0.1, "oracle_fit_girl": 0.2,
             "oracle_fit_sft": 0.25},
            {"kl_coef": 1.0, "kl_girl": 0.01, "reward_girl": 0.15, "reward_sft": 0.1, "oracle_fit_girl": 0.26,
             "oracle_fit_sft": 0.25}]
    assert _is_fig(plots.reward_kl_tradeoff(rows))
    assert _is_fig(plots.reward_kl_tradeoff([{k: v for k, v in r.items() if "oracle" not in k} for r in rows]))
    assert _is_fig(plots.sft_vs_girl_bars({"reward_sft": 0.1, "reward_girl": 0.2, "oracle_fit_sft": 0.3,
                                           "oracle_fit_girl": 0.25}))
    rep = {"adv": 0.1, "aspects": {a: {"adv": 0.2} for a in ("detail", "relevance", "conciseness")}}
    assert _is_fig(plots.aspect_adv_bars({"GIRL_vs_GIRL-SFT": rep, "GIRL_vs_base": rep}))


def test_diversity_measures():
    assert metrics.distinct_n(["a b c", "a b c"], 1) == pytest.approx(0.5)
    assert metrics.distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)
    assert math.isnan(metrics.distinct_n([""], 2))
    assert metrics.pairwise_overlap(["a b", "a b"]) == 1.0
    assert metrics.pairwise_overlap(["a b", "c d"]) == 0.0
    assert metrics.pairwise_overlap(["a b", "a c", "a b"]) == pytest.approx((1 / 3 + 1 + 1 / 3) / 3)
    assert math.isnan(metrics.pairwise_overlap(["only one"]))
    assert _is_fig(plots.diversity_bars({"base": {"distinct-1": 0.5, "distinct-2": 0.8},
                                         "GIRL": {"distinct-1": 0.4, "distinct-2": 0.7}}))


def test_retrieval_bars():
    r = {"all": {"recall@5": 0.2, "ndcg@5": 0.1, "recall@10": 0.4, "ndcg@10": 0.2}}
    ret = {"k": [5, 10], "pool_size": 50, "random_recall": {"5": 0.1, "10": 0.2},
           "methods": {"CV (c)": r, "GIRL (j', n=2)": r}}
    assert _is_fig(plots.retrieval_bars(ret))


def test_html_helpers_escape_text():
    out = plots.side_by_side_html({"CV": "<b>me</b>", "JD": "line 1\nline 2"})
    assert "&lt;b&gt;me&lt;/b&gt;" in out and out.count("<td") == 2
    out = plots.loss_mask_html(["<p>", "x"], [-100, 7])
    assert "&lt;p&gt;" in out and out.count("background:#d9f2d9") == 2  # the legend + the one trained token


def test_paired_diff_bars_draw_each_interval_and_colour_by_verdict():
    iv = lambda mean, lo, hi: {"auc": {"mean": mean, "ci95": [lo, hi]}}  # noqa: E731
    table = {"Dot": {"GIRL": {"auc": 0.9}, "diff": {"GIRL-Base": iv(0.03, 0.01, 0.05),
                                                     "GIRL-GIRL-SFT": iv(0.01, -0.01, 0.03),
                                                     "GIRL-SFT-Base": iv(-0.02, -0.04, -0.005)}}}
    fig = plots.paired_diff_bars({"all": table, "cold": table, "none": None})
    assert len(fig.axes) == 2  # the table without intervals gets no panel
    ax = fig.axes[0]
    bars = ax.patches
    assert [round(b.get_width(), 3) for b in bars] == [0.03, 0.01, -0.02]
    colours = [matplotlib.colors.to_hex(b.get_facecolor()) for b in bars]
    assert colours == [matplotlib.colors.to_hex(c) for c in ("tab:green", "tab:gray", "tab:red")]
    segments = ax.collections[0].get_segments()  # the horizontal error bars: (lo, y) -> (hi, y)
    assert [tuple(np.round([s[0][0], s[1][0]], 3)) for s in segments] == [(0.01, 0.05), (-0.01, 0.03), (-0.04, -0.005)]
    assert "GIRL − GIRL-SFT" in [t.get_text() for t in ax.get_yticklabels()][1]


def test_aspect_bars_carry_the_intervals():
    rep = {"adv": 0.1, "adv_ci": [0.0, 0.2],
           "aspects": {a: {"adv": 0.2, "adv_ci": [0.1, 0.4]} for a in ("detail", "relevance", "conciseness")}}
    ax = plots.aspect_adv_bars({"GIRL_vs_GIRL-SFT": rep}).axes[0]
    spans = sorted(tuple(np.round([s[0][1], s[1][1]], 3)) for c in ax.collections for s in c.get_segments())
    assert spans == [(0.0, 0.2)] + [(0.1, 0.4)] * 3


def test_reward_kl_tradeoff_draws_the_paired_intervals():
    rows = [{"kl_coef": 0.0, "kl_girl": 0.3, "reward_girl": 0.5, "reward_sft": 0.1,
             "reward_diff": {"mean": 0.4, "ci95": [0.1, 0.6]}},
            {"kl_coef": 1.0, "kl_girl": 0.01, "reward_girl": 0.15, "reward_sft": 0.1}]
    ax = plots.reward_kl_tradeoff(rows).axes[0]
    spans = [tuple(np.round([s[0][1], s[1][1]], 3)) for c in ax.collections for s in c.get_segments()]
    assert spans == [(0.2, 0.7)]  # GIRL's 0.5 minus 0.3, plus 0.2: only the row with an interval gets a bar
