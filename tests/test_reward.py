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
