import shutil

import numpy as np
import pytest
import torch
from datasets import Dataset

from girl_lib.config import RewardConfig
from girl_lib.models import load_sequence_scorer
from girl_lib.data import check_split
from girl_lib.reward import REQUIRED_COLUMNS, pairwise_metrics, run_reward, score_pairs, train_reward_model
from girl_lib.runio import GirlError, is_done


def test_pairwise_metrics_known_values():
    m = pairwise_metrics(np.array([2.0, 0.0, 1.0]), np.array([1.0, 1.0, 0.0]))
    assert m["pairwise_accuracy"] == pytest.approx(2 / 3)
    assert m["auc"] == pytest.approx(5.5 / 9)  # 4 of 9 (matched, mismatched) orderings right, 3 ties
    assert m["margin_mean"] == pytest.approx(1 / 3)


def test_missing_column_and_empty_split_are_named():
    with pytest.raises(GirlError, match=r"'reward' split lacks column\(s\) \['rejected'\]"):
        check_split(Dataset.from_dict({"cv": ["a"], "chosen": ["b"]}), "reward", REQUIRED_COLUMNS)
    with pytest.raises(GirlError, match="'sft' split is empty"):
        check_split(Dataset.from_dict({"cv": [], "jd": []}), "sft", ("cv", "jd"))


def test_score_pairs_checks_lengths_and_batches():
    scorer = load_sequence_scorer("tiny")
    with pytest.raises(GirlError, match="2 CVs but 1 JDs"):
        score_pairs(scorer, ["a", "b"], ["c"])
    s1 = score_pairs(scorer, ["cv a", "cv b", "cv c"], ["jd a", "jd b", "jd c"], batch_size=1)
    s3 = score_pairs(scorer, ["cv a", "cv b", "cv c"], ["jd a", "jd b", "jd c"], batch_size=3)
    np.testing.assert_allclose(s1, s3, atol=1e-5)


@pytest.mark.parametrize("kind", ["cross", "dual"])
def test_eq2_training_learns_a_toy_preference(kind):
    """The recruiter prefers JDs offering 'mentoring' over 'overtime': U must learn it from pairs alone."""
    rng = np.random.default_rng(0)
    skills = ["nursing", "welding", "accounting", "python", "plumbing", "teaching"]
    rows = {"cv": [], "chosen": [], "rejected": []}
    for _ in range(64):
        a, b = rng.choice(len(skills), 2, replace=False)
        rows["cv"].append(f"experienced in {skills[a]}")
        rows["chosen"].append(f"requires {skills[b]} with mentoring")
        rows["rejected"].append(f"requires {skills[b]} with overtime")
    model, tok = load_sequence_scorer("tiny", kind=kind)
    hist = train_reward_model(model, tok, Dataset.from_dict(rows),
                              RewardConfig(max_steps=40, batch_size=8, learning_rate=3e-3, max_length=16,
                                           logging_steps=10))
    assert hist[-1]["loss"] < hist[0]["loss"]
    assert hist[-1]["loss"] < 0.5 and hist[-1]["train_accuracy"] > 0.9


def test_run_reward_writes_model_and_metrics(tiny_cfg, tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_data_dir, run_dir)
    m = run_reward(tiny_cfg, run_dir, progress=False)
    assert is_done(run_dir, "reward")
    assert 0.0 <= m["pairwise_accuracy"] <= 1.0 and 0.0 <= m["auc"] <= 1.0
    assert len(m["eval_scores"]["chosen"]) == m["n_eval"]
    again = score_pairs(run_dir / "reward" / "model", ["x"], ["y"])
    assert len(again) == 1 and np.isfinite(again[0])


def test_dual_scorer_is_scale_times_cosine_plus_bias_and_round_trips(tmp_path):
    import torch

    from girl_lib.models import DualEncoderScorer, encode_texts, load_encoder, scorer_kind
    from girl_lib.config import get_profile

    model, tok = load_sequence_scorer("tiny", kind="dual")
    assert isinstance(model, DualEncoderScorer) and scorer_kind(str(tmp_path)) == "cross"
    with torch.no_grad():
        model.scale.fill_(3.0)
        model.bias.fill_(-0.5)
    cvs, jds = ["nurse, 6 years, Boston", "welder in Houston"], ["ICU nurse wanted", "chef, Lyon"]
    u = np.array(score_pairs((model, tok), cvs, jds))
    enc, etok = load_encoder(get_profile("tiny"))  # the same tiny encoder weights, plain AutoModel
    c, j = encode_texts(enc, etok, cvs), encode_texts(enc, etok, jds)
    np.testing.assert_allclose(u, 3.0 * (c * j).sum(1) - 0.5, atol=1e-5)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    assert scorer_kind(str(tmp_path)) == "dual"
    np.testing.assert_allclose(score_pairs(tmp_path, cvs, jds), u, atol=1e-5)
    with pytest.raises(GirlError, match="holds a 'dual' scorer"):
        load_sequence_scorer(str(tmp_path), kind="cross")


def test_dual_scorer_train_layers_freezes_the_rest():
    model, _ = load_sequence_scorer("tiny", kind="dual", train_layers=1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    last = len(model.encoder.encoder.layer) - 1
    assert {"scale", "bias"} <= trainable
    assert trainable - {"scale", "bias"} and all(f"encoder.layer.{last}." in n for n in trainable - {"scale", "bias"})
    assert not any("embeddings" in n for n in trainable)
    # more layers asked for than the model has: every layer trains (not a wrapped-around slice)
    model, _ = load_sequence_scorer("tiny", kind="dual", train_layers=len(model.encoder.encoder.layer) + 1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert all(any(f"encoder.layer.{i}." in n for n in trainable) for i in range(last + 1))


def test_held_out_scores_of_the_dual_scorer_equal_pairwise_scoring():
    """The dual encoder's eval path embeds each distinct text once, length-sorted; the scores must be
    those of scoring every (CV, JD) pair on its own, in the order of the pairs."""
    import torch

    from girl_lib.reward import held_out_scores

    model, tok = load_sequence_scorer("tiny", kind="dual")
    with torch.no_grad():
        model.scale.fill_(4.0)
        model.bias.fill_(0.25)
    cvs = ["nurse, 6 years in intensive care, Boston", "welder", "nurse, 6 years in intensive care, Boston",
           "data analyst with SQL and Tableau dashboards for a retail chain in Berlin"]
    chosen = ["ICU nurse wanted", "welder, Houston, night shifts", "chef, Lyon", "analyst"]
    rejected = ["chef, Lyon", "ICU nurse wanted", "welder", "ICU nurse wanted in a large hospital"]
    c, r = held_out_scores(model, tok, {"cv": cvs, "chosen": chosen, "rejected": rejected}, 64, batch_size=3)
    np.testing.assert_allclose(c, score_pairs((model, tok), cvs, chosen, batch_size=1, max_length=64), atol=1e-5)
    np.testing.assert_allclose(r, score_pairs((model, tok), cvs, rejected, batch_size=1, max_length=64), atol=1e-5)
    assert c.shape == (4,) and not np.allclose(c, r)


def test_grouped_permutation_keeps_each_cvs_rows_together():
    from girl_lib.reward import cv_groups, grouped_permutation

    cvs = ["a", "b", "a", "c", "b", "a", "d"]
    groups = cv_groups(cvs)
    assert groups == [[0, 2, 5], [1, 4], [3], [6]]
    order = grouped_permutation(groups, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(len(cvs)))
    runs = [cvs[order[0]]]
    for i in order[1:]:
        if cvs[i] != runs[-1]:
            runs.append(cvs[i])
    assert sorted(runs) == ["a", "b", "c", "d"]  # each CV forms one contiguous run
    orders = {tuple(grouped_permutation(groups, np.random.default_rng(s))) for s in range(10)}
    assert len(orders) > 1


def test_dual_preference_scores_share_embeddings_of_repeated_texts():
    """Rows sharing a CV or a JD are embedded once; the scores equal scoring each pair on its own."""
    import torch

    from girl_lib.reward import preference_scores, score_batch

    model, tok = load_sequence_scorer("tiny", kind="dual")
    model.eval()
    cvs = ["nurse in Boston", "nurse in Boston", "welder", "nurse in Boston"]
    chosen = ["ICU nurse", "ICU nurse", "welding job", "ward nurse"]
    rejected = ["chef", "welding job", "ICU nurse", "accountant"]
    batch_rows = []
    handle = model.encoder.register_forward_hook(lambda mod, args, kw, out: batch_rows.append(len(kw["input_ids"])),
                                                 with_kwargs=True)
    with torch.no_grad():
        c, r = preference_scores(model, tok, cvs, chosen, rejected, max_length=16)
    handle.remove()
    assert batch_rows == [2, 5]  # 2 distinct CVs, 5 distinct JDs (not 4 + 8)
    np.testing.assert_allclose(c.numpy(), score_batch(model, tok, cvs, chosen, 16).numpy(), atol=1e-5)
    np.testing.assert_allclose(r.numpy(), score_batch(model, tok, cvs, rejected, 16).numpy(), atol=1e-5)


def test_grouped_batches_train_the_toy_preference(monkeypatch):
    """group_by_cv changes only which rows share a batch: each batch of 8 holds two CVs' 4 rows each, and
    the toy preference is still learnt."""
    import girl_lib.reward as reward

    seen = []
    real = reward.preference_scores

    def spy(model, tokenizer, cvs, chosen, rejected, max_length):
        seen.append(list(cvs))
        return real(model, tokenizer, cvs, chosen, rejected, max_length)

    monkeypatch.setattr(reward, "preference_scores", spy)
    rows = {"cv": [], "chosen": [], "rejected": []}
    for cv in ["nurse", "welder", "chef", "teacher", "plumber", "baker", "pilot", "driver"]:
        for extra in ["overtime", "night shifts", "no pay rise", "weekend work"]:
            rows["cv"].append(f"experienced {cv}")
            rows["chosen"].append(f"{cv} job with mentoring")
            rows["rejected"].append(f"{cv} job with {extra}")
    model, tok = load_sequence_scorer("tiny", kind="dual")
    hist = train_reward_model(model, tok, Dataset.from_dict(rows),
                              RewardConfig(max_steps=40, batch_size=8, learning_rate=3e-3, max_length=16,
                                           logging_steps=10, group_by_cv=True))
    assert len(seen) == 40 and all(len(b) == 8 and len(set(b)) == 2 for b in seen)
    assert hist[-1]["loss"] < hist[0]["loss"] and hist[-1]["train_accuracy"] > 0.9


def test_run_reward_dual_top_layers_scores_held_out_pairs_through_the_cache(tiny_cfg, tiny_data_dir, tmp_path,
                                                                           monkeypatch):
    """The stage's after-training scores come from replaying the trained top layer, and equal scoring the
    saved model from scratch."""
    from girl_lib.config import apply_overrides
    from girl_lib.models import TopLayersCache
    from girl_lib.reward import held_out_scores

    replays = []
    real_replay = TopLayersCache.replay
    monkeypatch.setattr(TopLayersCache, "replay", lambda self, start: replays.append(start) or real_replay(self, start))
    cfg = apply_overrides(tiny_cfg, {"reward.architecture": "dual", "reward.train_layers": 1,
                                     "reward.group_by_cv": True, "reward.max_steps": 4})
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_data_dir, run_dir)
    m = run_reward(cfg, run_dir, progress=False)
    assert len(replays) > 1  # the first-batch check while recording, then the whole after-training pass
    split = __import__("girl_lib.data", fromlist=["load_data"]).load_data(run_dir)["reward"].shuffle(seed=0)
    held = split.select(range(m["n_eval"])).to_dict()
    model, tok = load_sequence_scorer(str(run_dir / "reward" / "model"))
    chosen, rejected = held_out_scores(model, tok, held, cfg.reward.max_length)
    np.testing.assert_allclose(m["eval_scores"]["chosen"], chosen, atol=1e-4)
    np.testing.assert_allclose(m["eval_scores"]["rejected"], rejected, atol=1e-4)


def test_maxsim_hand_computed():
    from girl_lib.models import maxsim

    cv = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]])  # last CV token is padding
    cv_mask = torch.tensor([[1, 1, 0]])
    s = 2 ** -0.5
    jd = torch.tensor([[[1.0, 0.0], [s, s], [-1.0, 0.0]]])
    jd_mask = torch.tensor([[1, 1, 1]])
    # best CV match per JD token: 1, s (either CV token), 0 (the padding's 9s must not count)
    assert maxsim(cv, cv_mask, jd, jd_mask).item() == pytest.approx((1 + s + 0) / 3)
    jd_mask = torch.tensor([[1, 1, 0]])  # a padded JD token is left out of the mean
    assert maxsim(cv, cv_mask, jd, jd_mask).item() == pytest.approx((1 + s) / 2)


def test_late_scorer_adds_maxsim_and_round_trips(tmp_path):
    from girl_lib.models import SCORER_KINDS, load_sequence_scorer, maxsim, scorer_kind, split_hidden
    from girl_lib.reward import _encode, held_out_scores, preference_scores, score_batch

    assert "late" in SCORER_KINDS
    model, tok = load_sequence_scorer("tiny", kind="late")
    model.eval()
    cvs, jds = ["python engineer in Boston", "nurse, ICU"], ["python developer wanted", "welder"]
    with torch.no_grad():
        c, c_tok, c_mask = split_hidden(model.encoder(**_encode(tok, cvs, None, 64, "cpu")).last_hidden_state,
                                        _encode(tok, cvs, None, 64, "cpu")["attention_mask"])
        j, j_tok, j_mask = split_hidden(model.encoder(**_encode(tok, jds, None, 64, "cpu")).last_hidden_state,
                                        _encode(tok, jds, None, 64, "cpu")["attention_mask"])
        want = 20.0 * (c * j).sum(-1) + 0.0 + 20.0 * maxsim(c_tok, c_mask, j_tok, j_mask)
    got = score_batch(model, tok, cvs, jds, 64)
    assert torch.allclose(got, want, atol=1e-5)
    # training batches and the held-out pass give the same scores as pair-by-pair scoring
    with torch.no_grad():
        ch, rj = preference_scores(model, tok, cvs, jds, jds[::-1], 64)
    assert torch.allclose(ch, got, atol=1e-5) and torch.allclose(rj, score_batch(model, tok, cvs, jds[::-1], 64), atol=1e-5)
    hc, hr = held_out_scores(model, tok, {"cv": cvs, "chosen": jds, "rejected": jds[::-1]}, 64)
    assert np.allclose(hc, got.numpy(), atol=1e-5) and np.allclose(hr, rj.numpy(), atol=1e-5)
    with torch.no_grad():
        model.late_scale.fill_(3.0)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    assert scorer_kind(str(tmp_path)) == "late"
    again, _ = load_sequence_scorer(str(tmp_path))
    assert again.late and again.late_scale.item() == pytest.approx(3.0)
    assert torch.allclose(score_batch(again, tok, cvs, jds, 64), score_batch(model, tok, cvs, jds, 64), atol=1e-5)


def test_minilm_late_scorer_prefers_the_jd_naming_the_cvs_skills():
    """Same occupation, same layout: the JD whose requirements name the CV's tools scores above one naming
    another bookkeeper's tools (zero-shot all-MiniLM-L6-v2, before any training)."""
    from girl_lib.models import load_sequence_scorer
    from girl_lib.reward import score_batch

    model, tok = load_sequence_scorer("minilm", kind="late")
    cv = ("Bookkeeper, 4 years. Reconciled accounts in Xero and QuickBooks; ran payroll in Gusto; "
          "built monthly reports in Excel. Skills: Xero, QuickBooks, Gusto, Excel")
    mine = ("Bookkeeper\nRequirements:\n- Xero or QuickBooks bookkeeping\n- Payroll in Gusto\n- Excel reporting")
    other = ("Bookkeeper\nRequirements:\n- SAP and Oracle ERP ledgers\n- Tax filing with TurboTax\n- Tableau dashboards")
    scores = score_batch(model, tok, [cv, cv], [mine, other], 256)
    assert scores[0] > scores[1]


def test_deciding_factors_and_accuracy_by_factor():
    from girl_lib.reward import accuracy_by_factor, deciding_factors

    cv = ("Dana Lee\nBoston, MA | Expected salary: $80k\nBookkeeper with 4 years of experience.\n"
          "Skills: Xero, Excel")
    base = "Bookkeeper\nLocation: Boston, MA | Salary: $75k–$90k\nRequirements:\n- Xero bookkeeping\n- 3+ years"
    other_city = base.replace("Boston, MA", "Denver, CO")
    other_pay = base.replace("$75k–$90k", "$30k–$40k")
    assert deciding_factors(cv, base, base) == []
    assert deciding_factors(cv, base, other_city) == ["city"]
    assert deciding_factors(cv, base, other_pay) == ["salary"]
    pairs = {"cv": [cv, cv], "chosen": [base, base], "rejected": [other_city, other_pay]}
    res = accuracy_by_factor(pairs, [1.0, 0.0], [0.0, 1.0])  # right on the city pair, wrong on the pay pair
    assert res["city"] == {"accuracy": 1.0, "n": 1} and res["salary"] == {"accuracy": 0.0, "n": 1}
    assert res["skills"] == {"accuracy": None, "n": 0}


# --------------------------------------------------------------------------- the feature head (reward.features)
FEATURE_CVS = ["Dana Lee\nBoston, MA | Expected salary: $80k\nBookkeeper with 4 years of experience.",
               "Sam Roe\nBased in Denver, CO. Looking for $55,000 per year.\nWelder, 2015 - present"]
FEATURE_JDS = ["Bookkeeper\nLocation: Boston, MA (on-site) | Salary: $75k–$90k\n- 6+ years of experience",
               "Welder\nLocation: Austin, TX (on-site) | Salary: $40,000–$50,000\n- 2+ years of experience"]


def test_feature_head_starts_at_the_cosine_model_and_adds_w_dot_f():
    from girl_lib.extract import FEATURE_NAMES, pair_features
    from girl_lib.reward import held_out_scores, pair_feature_tensor, preference_scores, score_batch

    plain, tok = load_sequence_scorer("tiny", kind="dual")
    model, _ = load_sequence_scorer("tiny", kind="dual", n_features=len(FEATURE_NAMES))
    assert model.n_features == len(FEATURE_NAMES) and torch.equal(model.feature_weights, torch.zeros(len(FEATURE_NAMES)))
    assert plain.n_features == 0 and plain.feature_weights is None
    base = score_batch(plain, tok, FEATURE_CVS, FEATURE_JDS, 64)
    assert torch.equal(score_batch(model, tok, FEATURE_CVS, FEATURE_JDS, 64), base)  # zeros: exactly the cosine model
    w = torch.linspace(-1.0, 1.0, len(FEATURE_NAMES))
    with torch.no_grad():
        model.feature_weights.copy_(w)
    f = torch.tensor([pair_features(c, j) for c, j in zip(FEATURE_CVS, FEATURE_JDS)])
    assert torch.equal(pair_feature_tensor(FEATURE_CVS, FEATURE_JDS), f) and f.abs().sum() > 0
    got = score_batch(model, tok, FEATURE_CVS, FEATURE_JDS, 64)
    assert torch.allclose(got, base + f @ w, atol=1e-5) and not torch.allclose(got, base, atol=1e-3)
    # the training batch and the held-out pass give the same U as pair-by-pair scoring
    swapped = FEATURE_JDS[::-1]
    with torch.no_grad():
        c, r = preference_scores(model, tok, FEATURE_CVS, FEATURE_JDS, swapped, 64)
    assert torch.allclose(c, got, atol=1e-5) and torch.allclose(r, score_batch(model, tok, FEATURE_CVS, swapped, 64), atol=1e-5)
    hc, hr = held_out_scores(model, tok, {"cv": FEATURE_CVS, "chosen": FEATURE_JDS, "rejected": swapped}, 64)
    assert np.allclose(hc, got.numpy(), atol=1e-5) and np.allclose(hr, r.numpy(), atol=1e-5)
    # the critic's input (an empty JD) is scored too
    assert torch.isfinite(score_batch(model, tok, FEATURE_CVS, ["", ""], 64)).all()
    with pytest.raises(ValueError, match="feature head"):
        model.head(torch.ones(1, 4), torch.ones(1, 4))


def test_feature_head_round_trips_and_old_folders_still_load(tmp_path):
    import json

    from girl_lib.extract import FEATURE_NAMES
    from girl_lib.models import SCORER_MARKER
    from girl_lib.reward import score_batch

    model, tok = load_sequence_scorer("tiny", kind="late", n_features=len(FEATURE_NAMES))
    w = torch.arange(len(FEATURE_NAMES), dtype=torch.float32) / 7 - 1
    with torch.no_grad():
        model.feature_weights.copy_(w)
        model.scale.fill_(5.0)
    model.save_pretrained(tmp_path / "feat")
    tok.save_pretrained(tmp_path / "feat")
    marker = json.loads((tmp_path / "feat" / SCORER_MARKER).read_text())
    assert marker["n_features"] == len(FEATURE_NAMES) and marker["features"] == list(FEATURE_NAMES)
    again, _ = load_sequence_scorer(str(tmp_path / "feat"))
    assert again.n_features == len(FEATURE_NAMES) and torch.equal(again.feature_weights.detach(), w)
    assert again.late and again.scale.item() == pytest.approx(5.0)
    assert torch.allclose(score_batch(again, tok, FEATURE_CVS, FEATURE_JDS, 64),
                          score_batch(model, tok, FEATURE_CVS, FEATURE_JDS, 64), atol=1e-5)
    with pytest.raises(GirlError, match="pair features"):
        load_sequence_scorer(str(tmp_path / "feat"), n_features=0)
    # a folder saved without features (or before they existed) loads as the plain model, marker unchanged
    plain, _ = load_sequence_scorer("tiny", kind="dual")
    plain.save_pretrained(tmp_path / "plain")
    tok.save_pretrained(tmp_path / "plain")
    assert json.loads((tmp_path / "plain" / SCORER_MARKER).read_text()) == {"kind": "dual", "train_layers": None}
    old, _ = load_sequence_scorer(str(tmp_path / "plain"))
    assert old.n_features == 0 and old.feature_weights is None
    with pytest.raises(GirlError, match="need a dual scorer"):
        load_sequence_scorer("tiny", kind="cross", n_features=3)


def _salary_toy(n: int = 48, seed: int = 0) -> dict:
    """Pairs of one CV and two JDs that differ only in their salary band: the recruiter prefers the band
    that reaches the seeker's ask. Asks and bands vary, so no single number token decides."""
    rng = np.random.default_rng(seed)
    rows = {"cv": [], "chosen": [], "rejected": []}
    jd = "Bookkeeper\nLocation: Boston, MA (on-site) | Salary: ${lo}k–${hi}k\nRequirements:\n- 3+ years of experience"
    for _ in range(n):
        ask = int(rng.integers(40, 90))
        good, bad = ask + int(rng.integers(5, 30)), ask - int(rng.integers(8, 25))
        rows["cv"].append(f"Bookkeeper, 4 years. Boston, MA | Expected salary: ${ask}k")
        rows["chosen"].append(jd.format(lo=good - 10, hi=good))
        rows["rejected"].append(jd.format(lo=bad - 10, hi=bad))
    return rows


@pytest.mark.parametrize("init", ["zeros", "logistic"])
def test_feature_weights_learn_the_sign_of_a_numeric_preference(init):
    """Only the pay decides: with the encoder frozen, the feature weights must learn that a band below the
    ask (pay_short, over_budget) is worse and a higher band (log_pay_ratio) better."""
    from girl_lib.extract import FEATURE_NAMES
    from girl_lib.reward import logistic_feature_weights

    rows = _salary_toy()
    model, tok = load_sequence_scorer("tiny", kind="dual", train_layers=0, n_features=len(FEATURE_NAMES))
    if init == "logistic":
        w0 = dict(zip(FEATURE_NAMES, logistic_feature_weights(rows["cv"], rows["chosen"], rows["rejected"])))
        assert w0["over_budget"] < 0 and w0["pay_short"] < 0 and w0["log_pay_ratio"] > 0
        assert w0["away"] == 0.0 and w0["years_short"] == 0.0  # features equal on both sides: no weight
    hist = train_reward_model(model, tok, Dataset.from_dict(rows),
                              RewardConfig(architecture="dual", features=True, feature_init=init, max_steps=30,
                                           batch_size=8, learning_rate=1e-3, feature_lr=0.1, max_length=32,
                                           logging_steps=10))
    w = dict(zip(FEATURE_NAMES, model.feature_weights.detach().tolist()))
    assert w["over_budget"] < -0.3 and w["pay_short"] < -0.3 and w["log_pay_ratio"] > 0.3
    assert hist[-1]["train_accuracy"] > 0.9


def test_run_reward_with_features_saves_and_reports_the_weights(tiny_cfg, tiny_data_dir, tmp_path):
    from girl_lib.config import ConfigError, apply_overrides
    from girl_lib.extract import FEATURE_NAMES
    from girl_lib.reward import held_out_scores

    with pytest.raises(ConfigError, match="reward.features=True needs"):
        apply_overrides(tiny_cfg, {"reward.features": True})  # tiny's reward model is a cross-encoder
    cfg = apply_overrides(tiny_cfg, {"reward.architecture": "dual", "reward.features": True, "reward.max_steps": 4,
                                     "reward.feature_init": "logistic"})
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_data_dir, run_dir)
    m = run_reward(cfg, run_dir, progress=False)
    assert m["features"] is True and list(m["feature_weights"]) == list(FEATURE_NAMES)
    assert any(v != 0.0 for v in m["feature_weights"].values())
    model, tok = load_sequence_scorer(str(run_dir / "reward" / "model"))
    assert model.feature_weights.detach().tolist() == pytest.approx(list(m["feature_weights"].values()))
    split = __import__("girl_lib.data", fromlist=["load_data"]).load_data(run_dir)["reward"].shuffle(seed=0)
    chosen, rejected = held_out_scores(model, tok, split.select(range(m["n_eval"])).to_dict(), cfg.reward.max_length)
    np.testing.assert_allclose(m["eval_scores"]["chosen"], chosen, atol=1e-4)
    np.testing.assert_allclose(m["eval_scores"]["rejected"], rejected, atol=1e-4)


def test_compare_architectures_runs_dual_with_and_without_features(tiny_cfg, tiny_data_dir, tmp_path):
    from girl_lib.config import apply_overrides
    from girl_lib.reward import compare_architectures

    cfg = apply_overrides(tiny_cfg, {"reward.max_steps": 2, "reward.n_eval": 12})
    rows = compare_architectures(cfg, tiny_data_dir, ("dual", "dual+features"), out_root=tmp_path / "cmp")
    assert [r["architecture"] for r in rows] == ["dual", "dual+features"]
    assert [r["features"] for r in rows] == [False, True]
    for r in rows:
        assert 0.0 <= r["pairwise_accuracy"] <= 1.0 and "same_occupation_oracle_agreement" in r
        assert {"acc_salary", "acc_city", "acc_level"} <= set(r)
    with pytest.raises(GirlError, match="unknown reward design"):
        compare_architectures(cfg, tiny_data_dir, ("dual+magic",), out_root=tmp_path / "cmp2")


def test_missing_fact_weights_never_trained_are_imputed_from_the_stated_facts():
    """No training JD omits its years: the weight of jd_no_years gets no gradient, so it is set to the mean
    contribution of the years features; jd_no_band, which the pairs do show, is left as trained."""
    from girl_lib.extract import FEATURE_NAMES
    from girl_lib.reward import impute_missing_weights, pair_feature_tensor

    model, _ = load_sequence_scorer("tiny", kind="dual", n_features=len(FEATURE_NAMES))
    col = {n: i for i, n in enumerate(FEATURE_NAMES)}
    w = torch.linspace(-1.0, 1.0, len(FEATURE_NAMES))
    with torch.no_grad():
        model.feature_weights.copy_(w)
    cvs = [FEATURE_CVS[0], FEATURE_CVS[1], FEATURE_CVS[0]]
    jds = [FEATURE_JDS[0], FEATURE_JDS[1], "Bookkeeper\n- 1+ years of experience\nSalary: competitive"]
    got = impute_missing_weights(model, cvs, jds)
    f = pair_feature_tensor(cvs, jds)
    assert f[:, col["jd_no_years"]].sum() == 0 and f[:, col["jd_no_band"]].sum() == 1
    years = [col["years_short"], col["years_short_any"], col["years_excess"]]
    # by hand: pair 0: CV 4 years, JD 6+ -> (0.4, 1, 0); pair 1: 2015-present = 8 years vs 2+ -> (0, 0, 0.6);
    # pair 2: 4 vs 1+ -> (0, 0, 0.3)
    np.testing.assert_allclose(f[:, years].numpy(), [[0.4, 1.0, 0.0], [0.0, 0.0, 0.6], [0.0, 0.0, 0.3]], atol=1e-6)
    want = float((0.4 * w[years[0]] + 1.0 * w[years[1]] + 0.9 * w[years[2]]) / 3)
    assert got["jd_no_years"] == pytest.approx(want, abs=1e-6)
    assert model.feature_weights[col["jd_no_years"]].item() == pytest.approx(want, abs=1e-6)
    assert "jd_no_band" not in got and model.feature_weights[col["jd_no_band"]].item() == pytest.approx(w[col["jd_no_band"]].item())
    plain, _ = load_sequence_scorer("tiny", kind="dual")
    assert impute_missing_weights(plain, cvs, jds) == {}
