"""The paper's reported numbers (Zheng et al., 2023), in one place. Reports and notebooks put our results
beside them; no computation reads them except to render those comparisons (and Table I's row counts,
which size the synthetic splits at ``data.scale``)."""

from __future__ import annotations

TABLE_I = {"sft": 153006, "reward": 303929, "rl": 37600, "rec_train": 37158, "rec_valid": 4542, "rec_test": 6300}
"""Table I: rows per dataset."""
JUDGE_EVAL_CVS = 200
"""Sec. VI-C: CVs in the generation-quality evaluation set."""

TABLE_II = {
    "GIRL_vs_LLaMA-7b": {"win": 0.63, "tie": 0.07, "lose": 0.30, "adv": 0.33},
    "GIRL_vs_BLOOMZ-7b": {"win": 0.74, "tie": 0.08, "lose": 0.18, "adv": 0.56},
    "GIRL_vs_GIRL-SFT": {"win": 0.45, "tie": 0.25, "lose": 0.26, "adv": 0.19},
    "GIRL_vs_BELLE-7b": {"win": 0.45, "tie": 0.17, "lose": 0.36, "adv": 0.09},
    "GIRL-SFT_vs_LLaMA-7b": {"win": 0.55, "tie": 0.03, "lose": 0.42, "adv": 0.13},
    "GIRL-SFT_vs_BLOOMZ-7b": {"win": 0.73, "tie": 0.07, "lose": 0.19, "adv": 0.54},
    "GIRL-SFT_vs_BELLE-7b": {"win": 0.49, "tie": 0.06, "lose": 0.41, "adv": 0.08},
    "BELLE-7b_vs_LLaMA-7b": {"win": 0.61, "tie": 0.04, "lose": 0.34, "adv": 0.27},
    "BELLE-7b_vs_BLOOMZ-7b": {"win": 0.65, "tie": 0.07, "lose": 0.17, "adv": 0.48},
}
"""Table II (ChatGPT as judge, 200 CVs). Only GIRL vs GIRL-SFT has an analogue in our runs."""

TABLE_III = {
    "MLP": {"Base": {"auc": 0.6349, "logloss": 0.4043}, "GIRL-SFT": {"auc": 0.6438, "logloss": 0.3973},
            "GIRL": {"auc": 0.6476, "logloss": 0.3908}},
    "Dot": {"Base": {"auc": 0.6258, "logloss": 0.4964}, "GIRL-SFT": {"auc": 0.6291, "logloss": 0.3688},
            "GIRL": {"auc": 0.6436, "logloss": 0.3567}},
}
"""Table III: all test rows."""
TABLE_IV = {
    "MLP": {"Base": {"auc": 0.6198, "logloss": 0.4270}, "GIRL-SFT": {"auc": 0.6293, "logloss": 0.4154},
            "GIRL": {"auc": 0.6347, "logloss": 0.4229}},
    "Dot": {"Base": {"auc": 0.6136, "logloss": 0.5233}, "GIRL-SFT": {"auc": 0.6231, "logloss": 0.3827},
            "GIRL": {"auc": 0.6457, "logloss": 0.3673}},
}
"""Table IV: cold-start seekers (never in the training rows)."""
