"""Generation-enhanced recommendation (paper Sec. V): predictor wiring (Eq. 10, 11, 13, 14-15), feature
building, mean pooling (Fig. 5), embedding cache, early stopping, a toy world where j' carries the signal,
retrieval metrics, and the ``recommend`` stage end to end on a hand-made run dir."""

from dataclasses import replace
import hashlib
import json

import numpy as np
import pytest
import torch

from girl_lib.config import RecommendConfig, get_profile
from girl_lib.metrics import auc, gauc, logloss, mean_ndcg_at_k, mean_recall_at_k
from girl_lib.recommend import (PAPER_TABLE_III, DotPredictor, EmbeddingTable, ExperimentOptions, Features,
                                FieldDims, MLPPredictor, build_features, cached_embeddings, cold_start_mask, evaluate,
                                generation_number_curve, make_predictor, paired_diffs, pool_generated,
                                predict_logits, retrieval_metrics,
                                run_experiment, run_recommend, stack_generations, train_predictor)
from girl_lib.runio import GirlError, append_jsonl, is_done, mark_done

torch.set_num_threads(1)

FAST = RecommendConfig(hidden_dim=32, proj_dim=8, epochs=40, batch_size=64, learning_rate=1e-2,
                       weight_decay=0.0, dropout=0.0, patience=10, seeds=(0,))


def _toy(n_seekers=160, n_jobs=30, per_seeker=6, d=8, seed=0, flip=0.05):
    """Seekers have a hidden latent z that ``c`` does not show but ``j'`` does; jobs have a type t that ``j``
    shows; a seeker matches a job when z == t (with ``flip`` label noise)."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n_seekers)
    t = rng.integers(0, 2, n_jobs)
    e1 = np.eye(d)[0]
    cv = rng.normal(size=(n_seekers, d))
    gen = (2 * z - 1)[:, None] * e1 + 0.1 * rng.normal(size=(n_seekers, d))
    jobs = rng.normal(size=(n_jobs, d)) * 0.3 + (2 * t - 1)[:, None] * e1
    sid = [f"s{i}" for i in range(n_seekers)]
    jid = [f"j{i}" for i in range(n_jobs)]
    rows = [(s, m) for s in range(n_seekers) for m in rng.choice(n_jobs, per_seeker, replace=False)]
    label = np.array([int(z[s] == t[m]) for s, m in rows])
    label = np.where(rng.random(len(label)) < flip, 1 - label, label)
    tables = (EmbeddingTable(sid, cv), EmbeddingTable(jid, jobs), EmbeddingTable(sid, gen))
    return tables, [sid[s] for s, _ in rows], [jid[m] for _, m in rows], label


def _toy_splits(**kw):
    """Train / valid / test by *seeker* (60/20/20), so valid and test seekers are all cold-start."""
    (cv_t, job_t, gen_t), s, j, y = _toy(**kw)
    seeker_num = np.array([int(x[1:]) for x in s])
    n = seeker_num.max() + 1
    part = np.where(seeker_num < 0.6 * n, 0, np.where(seeker_num < 0.8 * n, 1, 2))
    out = {}
    for name, k in (("train", 0), ("valid", 1), ("test", 2)):
        m = part == k
        out[name] = build_features(np.array(s)[m], np.array(j)[m], y[m], cv_t, job_t, gen_t)
    return out, gen_t


# --------------------------------------------------------------------------- wiring of Eq. 10, 11, 13, 14-15
def _batch(b=5, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, generator=g), torch.randn(b, d, generator=g), torch.randn(b, d, generator=g)


def test_mlp_predictor_shapes_and_inputs():
    c, j, jp = _batch()
    base = MLPPredictor(6, 6, hidden_dim=16)
    enhanced = MLPPredictor(6, 6, hidden_dim=16, enhanced=True)
    assert base.net[0].in_features == 12  # Eq. 10: [c; j]
    assert enhanced.net[0].in_features == 18  # Eq. 13: [c; j; j']
    assert base(c, j).shape == (5,) and enhanced(c, j, jp).shape == (5,)
    with pytest.raises(GirlError, match="needs"):
        enhanced(c, j)
    with pytest.raises(GirlError, match="takes no"):
        base(c, j, jp)


def _perturb(model, std=0.3, seed=0):
    """Random weights everywhere (the Dot towers' last layers start at zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return model


def test_dot_predictor_is_a_scaled_dot_product_of_the_towers():
    c, j, jp = _batch()
    for enhanced in (False, True):
        model = _perturb(DotPredictor(6, 6, hidden_dim=16, enhanced=enhanced)).eval()
        # Eq. 11 (base: projected c) / Eq. 14 (enhanced: c' = MLP([c; j'])).
        assert model.seeker_tower[0].in_features == (12 if enhanced else 6)
        assert model.job_tower[0].in_features == 6
        with torch.no_grad():
            model.bias.fill_(0.3)
            args = (c, j, jp) if enhanced else (c, j)
            u = model.seeker_embedding(c, jp if enhanced else None)
            v = model.job_embedding(j)
            assert u.shape == (5, 6) and v.shape == (5, 6)
            assert torch.allclose(u.norm(dim=-1), torch.ones(5))
            expected = model.scale * (u * v).sum(-1) + 0.3  # Eq. 15: c' . j
            assert torch.allclose(model(*args), expected)
    assert make_predictor("dot", True, 6, 6, FAST).enhanced and isinstance(make_predictor("MLP", False, 6, 6, FAST), MLPPredictor)
    with pytest.raises(GirlError):
        make_predictor("gbdt", False, 6, 6, FAST)
    with pytest.raises(GirlError, match="one dimension"):
        DotPredictor(6, 4, hidden_dim=8)


def test_dot_predictor_starts_at_the_encoders_cosine_and_base_rate():
    """Residual towers with zero-initialised last layers: before training, the score is
    scale * cos(z(c), z(j)) + b, b is the training log-odds; the enhanced seeker tower starts at
    z(c) + g z(j') (g = jp_skip), so with jp_skip=0 it equals base."""
    (cv_t, job_t, gen_t), s, j, y = _toy(n_seekers=30)
    feats = build_features(s, j, y, cv_t, job_t, gen_t)
    base = DotPredictor(8, 8, hidden_dim=16).eval()
    enhanced = DotPredictor(8, 8, hidden_dim=16, enhanced=True, jp_skip=0.5).eval()
    no_skip = DotPredictor(8, 8, hidden_dim=16, enhanced=True, jp_skip=0.0).eval()
    for model in (base, enhanced, no_skip):
        model.init_from_data(feats)
    rate = y.mean()
    assert float(base.bias.detach()) == pytest.approx(np.log(rate / (1 - rate)), abs=1e-5)

    def z(x):
        return (x - x.mean(0)) / x.std(0)

    def cos(a, b):
        return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    zc, zj, zjp = z(feats.c), z(feats.j), z(feats.jp)
    b = float(base.bias.detach())
    np.testing.assert_allclose(predict_logits(base, feats), base.SCALE_INIT * cos(zc, zj) + b, atol=1e-4)
    np.testing.assert_allclose(predict_logits(enhanced, feats), base.SCALE_INIT * cos(zc + 0.5 * zjp, zj) + b,
                               atol=1e-4)
    np.testing.assert_allclose(predict_logits(no_skip, feats), predict_logits(base, feats), atol=1e-5)
    assert make_predictor("Dot", True, 8, 8, FAST).jp_gate.requires_grad  # a learnable gate


def test_mlp_predictor_standardises_inputs_from_training_rows():
    (cv_t, job_t, gen_t), s, j, y = _toy(n_seekers=30)
    feats = build_features(s, j, y, cv_t, job_t, gen_t)
    model = MLPPredictor(8, 8, hidden_dim=16, enhanced=True).eval()
    model.init_from_data(feats)
    np.testing.assert_allclose(model.mean_jp.numpy(), feats.jp.mean(0), atol=1e-6)
    np.testing.assert_allclose(model.std_c.numpy(), feats.c.std(0), rtol=1e-5)
    # Shifting and scaling an input block and its statistics together leaves the scores unchanged.
    moved = Features(feats.c * 3 + 1, feats.j, feats.y, feats.jp, feats.seeker_ids, feats.job_ids)
    twin = MLPPredictor(8, 8, hidden_dim=16, enhanced=True).eval()
    twin.load_state_dict(model.state_dict())
    twin.init_from_data(moved)
    with torch.no_grad():
        twin.net[-1].bias.copy_(model.net[-1].bias)
    np.testing.assert_allclose(predict_logits(twin, moved), predict_logits(model, feats), atol=1e-4)


@pytest.mark.parametrize("cls", [MLPPredictor, DotPredictor])
def test_enhanced_predictors_really_use_generated_jd(cls):
    c, j, jp = _batch(b=8)
    model = _perturb(cls(6, 6, hidden_dim=16, enhanced=True)).eval()
    with torch.no_grad():
        scores = model(c, j, jp)
        permuted = model(c, j, jp[torch.arange(7, -1, -1)])
        # Permuting j' across rows changes the scores; the same inputs give identical scores.
        assert not torch.allclose(scores, permuted)
        assert torch.allclose(scores, model(c, j, jp.clone()))


# --------------------------------------------------------------------------- features, pooling, cache
def test_pool_generated_means_the_first_n_samples():
    v = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)  # 2 seekers, 3 samples, dim 2
    np.testing.assert_allclose(pool_generated(v, 1), v[:, 0])
    np.testing.assert_allclose(pool_generated(v, 2), (v[:, 0] + v[:, 1]) / 2)
    np.testing.assert_allclose(pool_generated(v, 3), v.mean(axis=1))
    table = EmbeddingTable(["a", "b"], v).pooled(2)
    np.testing.assert_allclose(table.lookup(["b"])[0], (v[1, 0] + v[1, 1]) / 2)
    for bad in (0, 4):
        with pytest.raises(GirlError):
            pool_generated(v, bad)


def test_stack_generations_keeps_seeker_order_and_common_count():
    gens = {"s1": ["a1", "a2", "a3"], "s2": ["b1", "b2"]}
    texts, n = stack_generations(gens, ["s2", "s1"])
    assert n == 2 and texts == ["b1", "b2", "a1", "a2"]
    assert stack_generations(gens, ["s1"], n_max=1) == (["a1"], 1)
    with pytest.raises(GirlError, match="no generated JD"):
        stack_generations(gens, ["s1", "s3"])


def test_build_features_aligns_rows_and_rejects_unknown_ids():
    cv = EmbeddingTable(["s1", "s2"], np.array([[1.0, 0], [0, 1.0]]))
    jd = EmbeddingTable(["j1", "j2", "j3"], np.array([[1.0, 1], [2, 2], [3, 3]]))
    gen = EmbeddingTable(["s1", "s2"], np.array([[5.0, 5], [6, 6]]))
    f = build_features(["s2", "s1", "s2"], ["j3", "j1", "j2"], [1, 0, 0], cv, jd, gen)
    np.testing.assert_allclose(f.c, [[0, 1], [1, 0], [0, 1]])
    np.testing.assert_allclose(f.j, [[3, 3], [1, 1], [2, 2]])
    np.testing.assert_allclose(f.jp, [[6, 6], [5, 5], [6, 6]])
    assert f.y.tolist() == [1, 0, 0] and len(f.subset(f.y == 0)) == 2
    with pytest.raises(GirlError, match="no embedding"):
        build_features(["s9"], ["j1"], [1], cv, jd)
    with pytest.raises(GirlError, match="0/1"):
        build_features(["s1"], ["j1"], [2], cv, jd)


def test_cached_embeddings_reuse_and_invalidate(tmp_path):
    calls = []

    def encode(texts):
        calls.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    a = cached_embeddings(tmp_path, "cv", ["ab", "cde"], encode, key="enc")
    assert (tmp_path / "recommend" / "emb_cv.npy").exists()
    np.testing.assert_allclose(np.load(tmp_path / "recommend" / "emb_cv.npy", allow_pickle=False), a)
    b = cached_embeddings(tmp_path, "cv", ["ab", "cde"], encode, key="enc")
    assert len(calls) == 1 and np.array_equal(a, b)  # second call: cache hit
    cached_embeddings(tmp_path, "cv", ["ab", "cdef"], encode, key="enc")  # other texts
    cached_embeddings(tmp_path, "cv", ["ab", "cdef"], encode, key="other-encoder")  # other encoder
    assert len(calls) == 3
    with pytest.raises(GirlError, match="shape"):
        cached_embeddings(tmp_path, "bad", ["x"], lambda t: np.zeros((2, 2)))


def test_cold_start_rows_are_never_seen_in_training():
    train_seekers = ["s1", "s2", "s2", "s3"]
    test_seekers = ["s1", "s4", "s4", "s3", "s5"]
    cold = cold_start_mask(train_seekers, test_seekers)
    assert cold.tolist() == [False, True, True, False, True]
    assert not set(np.array(test_seekers)[cold]) & set(train_seekers)
    # In the seeker-split toy world every test row is cold-start.
    splits, _ = _toy_splits(n_seekers=40)
    assert cold_start_mask(splits["train"].seeker_ids, splits["test"].seeker_ids).all()


# --------------------------------------------------------------------------- training
def test_early_stopping_restores_the_best_epoch():
    splits, _ = _toy_splits(n_seekers=80)
    valid = splits["valid"]
    flipped = Features(valid.c, valid.j, 1 - valid.y, valid.jp, valid.seeker_ids, valid.job_ids)
    cfg = RecommendConfig(hidden_dim=32, proj_dim=8, epochs=30, batch_size=64, learning_rate=1e-2,
                          weight_decay=0.0, dropout=0.0, patience=3, seeds=(0,))
    # Validation labels are the opposite of training labels: learning makes validation AUC worse.
    model, hist = train_predictor("MLP", True, splits["train"], flipped, cfg, seed=0)
    aucs = [e["valid_auc"] for e in hist["epochs"]]
    assert hist["stopped_early"] and len(aucs) < cfg.epochs
    assert hist["best_epoch"] == int(np.argmax(aucs)) + 1
    assert len(aucs) == hist["best_epoch"] + cfg.patience
    assert aucs[-1] < max(aucs)
    # The returned weights are the best epoch's, not the last epoch's.
    assert evaluate(model, flipped)["auc"] == pytest.approx(max(aucs), abs=1e-6)


@pytest.mark.parametrize("kind", ["MLP", "Dot"])
def test_enhanced_beats_base_when_generated_jd_carries_the_signal(kind):
    splits, _ = _toy_splits()
    tr, va, te = splits["train"], splits["valid"], splits["test"]
    base, _ = train_predictor(kind, False, tr, va, FAST, seed=0)
    enhanced, hist = train_predictor(kind, True, tr, va, FAST, seed=0)
    base_auc = evaluate(base, te)["auc"]
    enh = evaluate(enhanced, te)
    assert enh["auc"] > base_auc + 0.2, (enh, base_auc)
    assert enh["auc"] > 0.8 and hist["best_valid_auc"] > 0.8
    assert 0 < enh["logloss"] < 0.69  # better than a coin


def test_generation_number_curve_pools_n_samples():
    (cv_t, job_t, gen1), s, j, y = _toy(n_seekers=60)
    rng = np.random.default_rng(0)
    # Three noisy samples per seeker around its single clean j'.
    gen3 = gen1.vectors[:, None, :] + rng.normal(scale=2.0, size=(60, 3, gen1.dim))
    gen_t = EmbeddingTable(cv_t.ids, gen3)
    feats = build_features(s, j, y, cv_t, job_t)
    seeker_num = np.array([int(x[1:]) for x in s])
    splits = {"train": feats.subset(seeker_num < 36), "valid": feats.subset((seeker_num >= 36) & (seeker_num < 48)),
              "test": feats.subset(seeker_num >= 48)}
    sentinel = {"all": {"auc": -1.0}}
    curve = generation_number_curve("MLP", splits, gen_t, [1, 2, 3], FAST, precomputed={2: sentinel})
    assert set(curve) == {1, 2, 3} and curve[2] is sentinel  # reused, not retrained
    assert all(0.0 <= curve[n]["all"]["auc"] <= 1.0 for n in (1, 3))
    assert len(curve[1]["all"]["per_seed"]) == len(FAST.seeds)


# --------------------------------------------------------------------------- retrieval
def test_retrieval_metrics_rank_by_cosine():
    pool = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 0]])
    queries = np.array([[0.1, 1.0, 0], [0.2, 0, 5.0]])
    rankings = [[1, 3, 0, 2], [2, 0, 3, 1]]  # by cosine, worked out by hand
    rel = [[3], [1]]  # hits at rank 2 and rank 4
    out = retrieval_metrics(queries, pool, rel, ks=(1, 2, 4))
    assert (out["recall@1"], out["recall@2"], out["recall@4"]) == (0.0, 0.5, 1.0)
    assert out["ndcg@2"] == pytest.approx(0.5 / np.log2(3))
    assert out["ndcg@2"] == pytest.approx(mean_ndcg_at_k(rankings, rel, 2))
    assert out["recall@2"] == pytest.approx(mean_recall_at_k(rankings, rel, 2))
    assert out["n_queries"] == 2 and out["pool_size"] == 4
    with pytest.raises(GirlError):
        retrieval_metrics(queries, pool[:, :2], rel)


# --------------------------------------------------------------------------- the stage, end to end
def _fake_encode(texts):
    """Bag of hashed words, L2-normalised, dim 16: stands in for the frozen encoder."""
    out = np.zeros((len(texts), 16), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in text.split():
            h = int(hashlib.md5(word.encode()).hexdigest(), 16)
            out[i, h % 16] += 1.0 if (h >> 8) % 2 else -1.0
    return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-6, None)


def _tiny_run_dir(tmp_path, keys=("sft", "girl"), n_samples=2):
    """A hand-made run dir: 36 seekers, 10 jobs, fields A/B; a seeker likes jobs of its field."""
    rng = np.random.default_rng(0)
    fields = ["alpha", "beta"]
    seeker_field = {f"s{i}": i % 2 for i in range(36)}
    job_field = {f"j{m}": m % 2 for m in range(10)}
    cv = {s: f"cv {s} worker years {rng.integers(1, 9)}" for s in seeker_field}
    jd = {j: f"job {j} {fields[f]} role" for j, f in job_field.items()}

    def rows(seekers):
        out = {"seeker_id": [], "cv": [], "job_id": [], "jd": [], "label": []}
        for s in seekers:
            for j in rng.choice(list(job_field), 5, replace=False):
                out["seeker_id"].append(s), out["cv"].append(cv[s]), out["job_id"].append(str(j))
                out["jd"].append(jd[j]), out["label"].append(int(seeker_field[s] == job_field[j]))
        return out

    ids = list(seeker_field)
    data = {"rec_train": rows(ids[:20]), "rec_valid": rows(ids[20:26] + ids[:4]), "rec_test": rows(ids[26:] + ids[4:10])}
    data["rec_test"]["cold_start"] = [s not in set(ids[:20]) for s in data["rec_test"]["seeker_id"]]
    for key in keys:
        append_jsonl(tmp_path / "generate" / f"{key}.jsonl",
                     [{"subset": "rec", "cv_id": s, "sample": k, "jd": f"{fields[f]} {key} draft {k}",
                       "n_tokens": 4, "finished": True} for s, f in seeker_field.items() for k in range(n_samples)])
    mark_done(tmp_path, "generate", {"models": list(keys)})
    return data


def _tiny_cfg():
    return get_profile("tiny", {"recommend.epochs": 3, "recommend.seeds": (0, 1), "recommend.retrieval_k": (1, 3)})


def test_run_recommend_end_to_end(tmp_path):
    data = _tiny_run_dir(tmp_path)
    cfg = _tiny_cfg()
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return _fake_encode(texts)

    m = run_recommend(cfg, tmp_path, data=data, encode_fn=encode)
    assert is_done(tmp_path, "recommend")
    saved = json.loads((tmp_path / "recommend" / "metrics.json").read_text())
    assert saved["recommend"]["MLP"]["GIRL"]["auc"] == pytest.approx(m["recommend"]["MLP"]["GIRL"]["auc"])
    for key in ("recommend", "recommend_cold_start", "recommend_warm"):
        for pred in ("MLP", "Dot"):
            assert set(m[key][pred]) == {"Base", "GIRL-SFT", "GIRL", "diff"}  # no base.jsonl: base-gen skipped
            row = m[key][pred]["GIRL"]
            assert {"auc", "logloss", "auc_std", "logloss_std", "auc_rel", "logloss_rel", "gauc", "gauc_std"} <= set(row)
            assert len(row["per_seed"]) == 2 and m[key][pred]["Base"]["auc_rel"] == 0.0
            assert row["auc_rel"] == pytest.approx(100 * (row["auc"] / m[key][pred]["Base"]["auc"] - 1))
    assert set(m["generation_number"]) == {"GIRL", "GIRL-SFT"} and set(m["generation_number"]["GIRL"]) == {"1", "2"}
    assert set(m["generation_number_dot"]["GIRL-SFT"]) == {"1", "2"}
    # Fig. 5 runs on the first seed; its n = 1 point is the tables' seed-0 run, reused.
    assert m["curve_seeds"] == [0]
    assert m["generation_number"]["GIRL"]["1"] == pytest.approx(m["recommend"]["MLP"]["GIRL"]["per_seed"][0]["auc"])
    n = m["n_rows"]
    assert (n["rec_train"], n["rec_test"], n["seekers"], n["jobs"]) == (100, 80, 36, 10)
    assert n["rec_test_cold_start"] == 50 and n["generated_per_seeker"] == {"GIRL-SFT": 2, "GIRL": 2}
    zs = m["zero_shot_auc"]
    assert set(zs) == {"cos(c, j)", "cos(j', j) GIRL-SFT", "cos(j', j) GIRL"} and set(zs["cos(c, j)"]) == {"all", "cold_start", "warm"}
    y = np.array(data["rec_test"]["label"])
    c_t, j_t = _fake_encode(data["rec_test"]["cv"]), _fake_encode(data["rec_test"]["jd"])
    assert zs["cos(c, j)"]["all"] == pytest.approx(auc(y, (c_t * j_t).sum(1)))
    ret = m["retrieval"]
    assert ret["pool_size"] == 10 and {"CV (c)", "GIRL (j', n=2)"} <= set(ret["methods"])
    assert set(ret["methods"]["CV (c)"]["all"]) >= {"recall@1", "ndcg@3"}
    assert ret["methods"]["CV (c)"]["cold_start"]["n_queries"] == 10
    tables = (tmp_path / "recommend" / "tables.md").read_text()
    assert "Table III" in tables and "Table IV" in tables
    assert f"{PAPER_TABLE_III['Dot']['GIRL']['auc']:.4f}" in tables and "+28.1%" in tables
    assert m["n_texts_encoded"] == sum(calls) == 36 + 10 + 2 * 36 * 2  # CVs, JDs, 2 generators x 2 samples
    # two JDs per seeker, tables on one: the paired intervals also draw which JD each test seeker brings
    assert m["recommend_bootstrap"]["generated_draws"]["MLP"] == {"Base": 1, "GIRL-SFT": 2, "GIRL": 2}
    # A rerun reuses every cached embedding (the encoder is not called) and gives the same numbers.
    m2 = run_recommend(cfg, tmp_path, data=data, encode_fn=encode)
    assert m2["n_texts_encoded"] == 0 and len(calls) == 4
    assert m2["recommend"]["Dot"]["GIRL"]["auc"] == pytest.approx(m["recommend"]["Dot"]["GIRL"]["auc"])
    # Another encoder is another cache key: everything is encoded again.
    m3 = run_recommend(cfg, tmp_path, data=data, encode_fn=_fake_encode)
    assert m3["n_texts_encoded"] == m["n_texts_encoded"]


def test_run_recommend_errors(tmp_path):
    cfg = _tiny_cfg()
    with pytest.raises(GirlError, match="generate"):
        run_recommend(cfg, tmp_path / "empty", data={}, encode_fn=_fake_encode)
    data = _tiny_run_dir(tmp_path, keys=())
    with pytest.raises(GirlError, match="no generated JDs"):
        run_recommend(cfg, tmp_path, data=data, encode_fn=_fake_encode)
    bad = dict(data, rec_valid={k: v for k, v in data["rec_valid"].items() if k != "label"})
    with pytest.raises(GirlError, match="lacks columns"):
        run_recommend(cfg, tmp_path, data=bad, encode_fn=_fake_encode)
    (tmp_path / "generate" / "girl.jsonl").write_text("")  # a generator file with no rec rows
    mark_done(tmp_path, "generate", {"models": ["girl"]})
    with pytest.raises(GirlError, match="no generated JD"):
        run_recommend(cfg, tmp_path, data=data, encode_fn=_fake_encode)
    append_jsonl(tmp_path / "generate" / "girl.jsonl",
                 [{"subset": "rec", "cv_id": s, "sample": 0, "jd": "x"} for s in set(data["rec_train"]["seeker_id"])
                  | set(data["rec_valid"]["seeker_id"]) | set(data["rec_test"]["seeker_id"])])
    one_class = dict(data, rec_test=dict(data["rec_test"], label=[1] * len(data["rec_test"]["label"])))
    with pytest.raises(GirlError, match="only label 1"):
        run_recommend(cfg, tmp_path, data=one_class, encode_fn=_fake_encode)


def test_run_recommend_with_the_data_stage(tmp_path, request):
    """With the real ``girl_lib.data`` of the tiny profile and the tiny frozen encoder (skipped until the
    data module exists)."""
    data_mod = pytest.importorskip("girl_lib.data")
    if not hasattr(data_mod, "load_data"):
        pytest.skip("girl_lib.data has no load_data yet")
    import shutil

    shutil.copytree(request.getfixturevalue("tiny_data_dir") / "data", tmp_path / "data")
    ds = data_mod.load_data(tmp_path)
    seekers = sorted({s for split in ("rec_train", "rec_valid", "rec_test") for s in ds[split]["seeker_id"]})
    append_jsonl(tmp_path / "generate" / "sft.jsonl",
                 [{"subset": "rec", "cv_id": s, "sample": k, "jd": f"Job for seeker {s}, draft {k}."}
                  for s in seekers for k in range(2)])
    mark_done(tmp_path, "generate", {"models": ["sft"]})
    cfg = get_profile("tiny", {"recommend.epochs": 3})
    m = run_recommend(cfg, tmp_path)
    # the data has an sft split, so the Retrieved control runs beside the generated JDs
    models = {"Base", "GIRL-SFT", "Retrieved", "diff"}
    assert set(m["recommend"]["MLP"]) == models and set(m["recommend"]["Dot"]) == models
    assert set(m["recommend"]["Dot"]["diff"]) == {"GIRL-SFT-Base"}  # only the pairs whose models ran
    assert m["retrieved"]["index"] == "sft" and (tmp_path / "recommend" / "emb_gen_retrieved.npy").exists()
    within = np.asarray(ds["rec_test"]["same_occupation"], dtype=bool)
    assert m["n_rows"]["rec_test_within_occupation"] == int(within.sum())
    if "recommend_within_occupation" in m:  # only when those rows hold both labels
        assert m["recommend_within_occupation"]["MLP"]["Base"]["n"] == int(within.sum())
    assert m["n_rows"]["rec_test"] == len(ds["rec_test"])
    assert m["n_rows"]["rec_test_cold_start"] == sum(bool(c) for c in ds["rec_test"]["cold_start"])
    assert m["n_rows"]["seekers"] == len(seekers)
    assert (tmp_path / "recommend" / "emb_gen_sft.npy").exists() and is_done(tmp_path, "recommend")


def test_restrict_seeds_reaggregates_a_subset():
    from girl_lib.recommend import restrict_seeds

    res = {"seeds": [0, 1, 2], "best_epochs": [3, 4, 5],
           "all": {"auc": 0.6, "auc_std": 0.1, "logloss": 0.5, "logloss_std": 0.1, "n": 10,
                   "per_seed": [{"auc": 0.5, "logloss": 0.6}, {"auc": 0.6, "logloss": 0.5}, {"auc": 0.7, "logloss": 0.4}]}}
    sub = restrict_seeds(res, [2, 0])
    assert sub["seeds"] == [2, 0] and sub["best_epochs"] == [5, 3]
    assert sub["all"]["auc"] == pytest.approx(0.6) and sub["all"]["auc_std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert restrict_seeds(res, [0])["all"]["auc"] == 0.5 and restrict_seeds(res, [0])["all"]["auc_std"] == 0.0
    assert restrict_seeds(res, [7]) is None



# --------------------------------------------------------------------------- intervals, GAUC, no peeking
def test_run_recommend_paired_intervals_schema(tmp_path):
    """The new keys on a tiny run: diffs with intervals per predictor and table, GAUC beside AUC, the seekers
    per subset (counted by hand from ``_tiny_run_dir``: test seekers s26-s35 are cold, s4-s9 warm) and the
    gate's selection (tiny: a one-value grid)."""
    data = _tiny_run_dir(tmp_path)
    cfg = _tiny_cfg()
    m = run_recommend(cfg, tmp_path, data=data, encode_fn=_fake_encode)
    assert m["recommend_n_seekers"] == {"all": 16, "cold_start": 10, "warm": 6}
    boot = m["recommend_bootstrap"]
    assert (boot["n_boot"], boot["seed"], boot["unit"]) == (cfg.judge.n_bootstrap, cfg.judge.seed, "seeker")
    for subset, key in (("all", "recommend"), ("cold_start", "recommend_cold_start")):
        facts = boot["subsets"][subset]
        assert facts["n_groups"] == m["recommend_n_seekers"][subset]
        assert facts["n_resamples"] + facts["n_skipped"] == cfg.judge.n_bootstrap
        for pred in ("MLP", "Dot"):
            diff = m[key][pred]["diff"]
            assert set(diff) == {"GIRL-Base", "GIRL-GIRL-SFT", "GIRL-SFT-Base"}
            for pair, d in diff.items():
                assert set(d) == {"auc", "gauc", "logloss"}
                for metric, v in d.items():
                    assert set(v) == {"mean", "ci95"} and len(v["ci95"]) == 2 and v["ci95"][0] <= v["ci95"][1]
                a, b = pair.split("-", 1) if pair != "GIRL-SFT-Base" else ("GIRL-SFT", "Base")
                ens = facts["ensemble"][pred]
                assert d["auc"]["mean"] == pytest.approx(ens[a]["auc"] - ens[b]["auc"])
                assert d["logloss"]["mean"] == pytest.approx(ens[a]["logloss"] - ens[b]["logloss"])
            row = m[key][pred]["GIRL"]
            assert 0 <= row["gauc"] <= 1 and 0 < row["n_gauc_seekers"] <= m["recommend_n_seekers"][subset]
            assert row["gauc"] == pytest.approx(np.mean([r["gauc"] for r in row["per_seed"]]))
    sel = m["selection"]["dot_jp_skip"]
    assert set(sel) == {"GIRL-SFT", "GIRL"}  # the enhanced Dot models
    for record in sel.values():
        assert record["grid"] == [0.5] and record["chosen"] == 0.5 and 0 <= record["valid_auc"][0] <= 1
    tables = (tmp_path / "recommend" / "tables.md").read_text()
    assert "ΔAUC [95% CI]" in tables and "| Dot | GIRL − GIRL-SFT |" in tables and "GAUC (↑)" in tables


def _fake_results(probs_by_model: dict) -> dict:
    return {"MLP": {name: {"all": {"auc": 0.5}, "test_probs": np.asarray(p, dtype=float)}
                    for name, p in probs_by_model.items()}}


def test_paired_diffs_average_the_seeds_before_the_bootstrap():
    """GIRL's two seeds each rank half the seekers wrongly; their mean ranks every row right. The paired
    difference is taken on the seeds' ensemble, so it is AUC(mean) - AUC(Base), not the mean of the AUCs."""
    y = np.array([1, 0] * 6, dtype=np.float32)
    seekers = np.repeat([f"s{i}" for i in range(6)], 2)
    right, wrong = np.where(y == 1, 0.9, 0.1), np.where(y == 1, 0.2, 0.4)
    half = np.arange(12) < 6
    seed0, seed1 = np.where(half, right, wrong), np.where(half, wrong, right)
    base = np.full(12, 0.5)
    test = Features(np.zeros((12, 2)), np.zeros((12, 2)), y, seeker_ids=seekers, job_ids=seekers)
    results = _fake_results({"Base": [base, base], "GIRL-SFT": [seed0, seed1], "GIRL": [seed0, seed1]})
    diffs, boot = paired_diffs(results, test, {"all": np.ones(12, dtype=bool)}, n_boot=100, seed=0)
    d = diffs["all"]["MLP"]
    ensemble = (seed0 + seed1) / 2
    assert auc(y, ensemble) == 1.0 and np.mean([auc(y, seed0), auc(y, seed1)]) < 1.0
    assert d["GIRL-Base"]["auc"]["mean"] == pytest.approx(auc(y, ensemble) - auc(y, base))
    assert d["GIRL-Base"]["gauc"]["mean"] == pytest.approx(gauc(y, ensemble, seekers) - 0.5)
    assert d["GIRL-Base"]["logloss"]["mean"] == pytest.approx(logloss(y, ensemble) - logloss(y, base))
    assert d["GIRL-GIRL-SFT"]["auc"]["ci95"] == [0.0, 0.0]  # identical predictions, paired resamples
    assert boot["subsets"]["all"]["n_groups"] == 6


def test_select_dot_jp_skip_picks_the_best_mean_valid_auc(monkeypatch):
    """With a stubbed trainer: validation AUC depends on the gate and the seed; the choice is the gate with
    the best mean over seeds (not the best single seed), and a tie goes to the first grid value."""
    import girl_lib.recommend as rec
    from girl_lib.recommend import train as rec_train

    table = {0.0: [0.70, 0.70], 0.5: [0.90, 0.40], 1.0: [0.72, 0.69]}  # means 0.70, 0.65, 0.705
    calls = []

    def fake_train(kind, enhanced, train, valid, cfg, seed=0):
        calls.append((kind, enhanced, valid, cfg.dot_jp_skip, seed))
        return f"model g={cfg.dot_jp_skip} s={seed}", {"best_valid_auc": table[cfg.dot_jp_skip][seed], "best_epoch": 1}

    monkeypatch.setattr(rec_train, "train_predictor", fake_train)  # where select_dot_jp_skip looks it up
    splits, _ = _toy_splits(n_seekers=20)
    cfg = RecommendConfig(seeds=(0, 1), dot_jp_skip_grid=(0.0, 0.5, 1.0))
    record, runs = rec.select_dot_jp_skip(splits["train"], splits["valid"], cfg)
    assert record == {"grid": [0.0, 0.5, 1.0], "valid_auc": [pytest.approx(0.70), pytest.approx(0.65),
                                                              pytest.approx(0.705)], "chosen": 1.0}
    assert runs[1][0] == "model g=1.0 s=1" and len(calls) == 6
    assert all(c[:2] == ("Dot", True) and c[2] is splits["valid"] for c in calls)
    table[1.0] = [0.70, 0.70]  # a tie with 0.0: the first wins
    assert rec.select_dot_jp_skip(splits["train"], splits["valid"], cfg)[0]["chosen"] == 0.0
    table[0.0] = [None, None]  # one-class rec_valid: no AUC to choose by
    with pytest.raises(GirlError, match="one class"):
        rec.select_dot_jp_skip(splits["train"], splits["valid"], cfg)


def test_dot_gate_is_chosen_on_rec_valid_never_on_rec_test(tmp_path, monkeypatch):
    """The stage with a two-value grid. (1) During the selection no model ever scores the test rows. (2) The
    test rows could flip a test-based choice (flipped labels turn each AUC into 1 - AUC, so the argmax over
    the grid becomes the argmin), yet a run on flipped test labels selects exactly as before."""
    import girl_lib.recommend as rec
    from girl_lib.recommend import stage as rec_stage, train as rec_train

    cfg = get_profile("tiny", {"recommend.epochs": 3, "recommend.seeds": (0, 1), "recommend.retrieval_k": (1, 3),
                               "recommend.dot_jp_skip_grid": (0.0, 1.0)})
    state = {"selecting": False, "models": {}, "test": None, "dot_test": None}
    real_select, real_logits, real_train, real_run = (rec.select_dot_jp_skip, rec.predict_logits,
                                                      rec.train_predictor, rec.run_experiment)

    def spy_select(train, valid, cfg_, seeds=None):
        state["selecting"] = True
        try:
            return real_select(train, valid, cfg_, seeds)
        finally:
            state["selecting"] = False

    def spy_logits(model, feats, batch_size=4096):
        if state["selecting"]:
            assert len(feats) != len(state["test"]) or not np.array_equal(feats.job_ids, state["test"].job_ids)
        return real_logits(model, feats, batch_size)

    def spy_train(kind, enhanced, train, valid, cfg_, seed=0):
        out = real_train(kind, enhanced, train, valid, cfg_, seed)
        if state["selecting"]:
            state["models"].setdefault(cfg_.dot_jp_skip, []).append(out[0])
        return out

    def spy_run(kind, enhanced, train, valid, test, cfg_, *args, **kw):
        state["test"] = test if state["test"] is None else state["test"]  # the first call: MLP Base
        if kind == "Dot" and enhanced and state["dot_test"] is None:  # GIRL-SFT's test rows, with its j'
            state["dot_test"] = test
        return real_run(kind, enhanced, train, valid, test, cfg_, *args, **kw)

    # Each spy goes where its callers look the name up: the stage's _train_tables finds select_dot_jp_skip and
    # run_experiment in recommend.stage; select_dot_jp_skip, run_experiment, train_predictor and
    # generation_number_curve find train_predictor, predict_logits and run_experiment in recommend.train.
    for module, name, fn in ((rec_stage, "select_dot_jp_skip", spy_select), (rec_train, "predict_logits", spy_logits),
                             (rec_train, "train_predictor", spy_train), (rec_stage, "run_experiment", spy_run),
                             (rec_train, "run_experiment", spy_run)):
        monkeypatch.setattr(module, name, fn)
    data = _tiny_run_dir(tmp_path)
    first = run_recommend(cfg, tmp_path, data=data, encode_fn=_fake_encode)["selection"]["dot_jp_skip"]
    assert state["test"] is not None and set(state["models"]) == {0.0, 1.0}
    # What a test-based rule would have picked for the first model selected (GIRL-SFT, its 2 seeds) on the real
    # and on the flipped test labels: two different gates.
    te = state["dot_test"]
    test_auc = {g: np.mean([rec.evaluate(mdl, te)["auc"] for mdl in models[:2]]) for g, models in state["models"].items()}
    assert max(test_auc, key=test_auc.get) != min(test_auc, key=test_auc.get)
    flipped = dict(data, rec_test=dict(data["rec_test"], label=[1 - v for v in data["rec_test"]["label"]]))
    state.update(models={}, test=None, dot_test=None)
    second = run_recommend(cfg, tmp_path, data=flipped, encode_fn=_fake_encode)["selection"]["dot_jp_skip"]
    assert second == first
    for record in first.values():
        assert record["chosen"] == record["grid"][int(np.argmax(record["valid_auc"]))]


def _res_with_diffs(lo_girl_sft: float) -> dict:
    """A results.json fragment: Dot on all test rows, GIRL - GIRL-SFT's AUC interval from ``lo_girl_sft``."""
    row = lambda a: {"auc": a, "logloss": 0.5, "gauc": a - 0.01, "auc_rel": 0.0, "logloss_rel": 0.0}  # noqa: E731
    iv = lambda mean, lo, hi: {"mean": mean, "ci95": [lo, hi]}  # noqa: E731
    diff = {"GIRL-Base": {"auc": iv(0.03, 0.01, 0.05), "gauc": iv(0.02, -0.01, 0.05), "logloss": iv(-0.01, -0.02, -0.001)},
            "GIRL-GIRL-SFT": {"auc": iv(0.01, lo_girl_sft, 0.02), "gauc": iv(0.0, -0.01, 0.01), "logloss": iv(0.0, -0.01, 0.01)},
            "GIRL-SFT-Base": {"auc": iv(-0.02, -0.04, -0.005), "gauc": iv(0.0, -0.01, 0.01), "logloss": iv(0.0, -0.01, 0.01)}}
    return {"profile": "tiny", "recommend": {"Dot": {"Base": row(0.80), "GIRL-SFT": row(0.78), "GIRL": row(0.83),
                                                     "diff": diff}},
            "recommend_n_seekers": {"all": 64, "cold_start": 22},
            "recommend_bootstrap": {"subsets": {"all": {"n_groups": 64, "n_resamples": 990, "n_skipped": 10}}}}


def test_report_targets_and_status_use_the_paired_intervals(tmp_path):
    from girl_lib.report import check_targets, render_markdown, render_status

    res = _res_with_diffs(lo_girl_sft=-0.005)
    targets = {t["target"]: t for t in check_targets(res)}
    t = targets["recommend Dot: AUC GIRL - Base > 0"]
    assert (t["value"], t["ci95"], t["met"]) == (0.03, [0.01, 0.05], True)
    assert targets["recommend Dot: AUC GIRL - GIRL-SFT > 0"]["met"] is False  # interval includes 0
    assert targets["recommend Dot: AUC GIRL-SFT - Base > 0"]["met"] is False  # interval below 0
    res["targets"] = check_targets(res)
    md = render_markdown(res, tmp_path)
    assert "| recommend Dot: AUC GIRL - Base > 0 | 0.030 [0.010, 0.050] | shown |" in md
    assert "| recommend Dot: AUC GIRL - GIRL-SFT > 0 | 0.010 [-0.005, 0.020] | **not shown** (interval includes 0) |" in md
    assert "| recommend Dot: AUC GIRL-SFT - Base > 0 | -0.020 [-0.040, -0.005] | **no** (interval below 0) |" in md
    assert "| Dot | GIRL − Base | +0.0300 [+0.0100, +0.0500] | +0.0200 [-0.0100, +0.0500] | -0.0100 [-0.0200, -0.0010] |" in md
    assert "| Dot | GIRL | 0.8300 (+0.0%) | 0.8200 |" in md and "64 test seekers (990 resamples, 10 skipped)" in md
    status = render_status(res)
    assert "over 64 test seekers, GIRL − Base +0.030 [+0.010, +0.050] (shown)" in status
    assert "GIRL − GIRL-SFT +0.010 [-0.005, +0.020] (not shown)" in status and "no interval" not in status
    assert targets_of(_res_with_diffs(lo_girl_sft=0.001))["recommend Dot: AUC GIRL - GIRL-SFT > 0"]["met"] is True
    # Too few test seekers for a seeker-level bootstrap: nothing is shown, whatever the interval says.
    few = _res_with_diffs(lo_girl_sft=0.001)
    few["recommend_n_seekers"] = {"all": 10, "cold_start": 4}
    t = targets_of(few)["recommend Dot: AUC GIRL - Base > 0"]
    assert t["met"] is None and "only 10 test seekers" in t["reason"]
    assert "(not shown)" in render_status(few) and "(shown)" not in render_status(few)
    # A run from before the intervals: the AUCs themselves, nothing shown.
    old = {"profile": "tiny", "recommend": {"Dot": {m: {"auc": a} for m, a in (("Base", 0.8), ("GIRL-SFT", 0.78), ("GIRL", 0.83))}}}
    t = targets_of(old)["recommend Dot: AUC GIRL - Base > 0"]
    assert t["met"] is None and t["value"] == [0.83, 0.8]
    assert "no interval in this run" in render_status(old)


def targets_of(res: dict) -> dict:
    from girl_lib.report import check_targets

    return {t["target"]: t for t in check_targets(res)}


def test_report_judge_width_aspects_and_test_seekers_targets(tmp_path):
    """The judge's interval half-width and relevance aspect, and rec_test's seekers, are targets; the status
    names pairs and CVs; Table I shows cold-start seekers and rows per seeker."""
    from girl_lib.report import JUDGE_HALF_WIDTH, MIN_TEST_SEEKERS, render_markdown, render_status

    res = _res_with_diffs(lo_girl_sft=-0.005)
    res["data"] = {"splits": {"rec_test": {"rows": 640, "seekers": 64, "cold_start_seekers": 22 / 64,
                                           "label_rate": 0.27}}}
    aspect = lambda adv, lo, hi: {"adv": adv, "adv_ci": [lo, hi]}  # noqa: E731
    res["judge"] = {"GIRL_vs_GIRL-SFT": {"win": 0.5, "tie": 0.2, "lose": 0.3, "adv": 0.2, "adv_ci": [0.06, 0.34],
                                         "n": 240, "n_cvs": 80, "backend": "rubric", "flip_rate": 0.0,
                                         "aspects": {"detail": aspect(0.0, -0.1, 0.1),
                                                     "relevance": aspect(0.3, 0.1, 0.5),
                                                     "conciseness": aspect(-0.1, -0.2, 0.0)}}}
    t = targets_of(res)
    width = t[f"judge GIRL vs GIRL-SFT interval at most +-{JUDGE_HALF_WIDTH} (240 pairs, 80 CVs)"]
    assert width["value"] == 0.14 and width["met"] is True
    assert t["judge relevance advantage GIRL vs GIRL-SFT > 0"]["met"] is True
    assert t["judge advantage GIRL vs GIRL-SFT > 0"]["ci95"] == [0.06, 0.34]
    seekers_target = f"rec_test >= {MIN_TEST_SEEKERS[0]} seekers, >= {MIN_TEST_SEEKERS[1]} of them cold-start"
    assert t[seekers_target]["value"] == [64, 22] and t[seekers_target]["met"] is False  # too few for issue 27
    res["recommend_n_seekers"].update(all=MIN_TEST_SEEKERS[0], cold_start=MIN_TEST_SEEKERS[1])
    assert targets_of(res)[seekers_target]["met"] is True
    res["judge"]["GIRL_vs_GIRL-SFT"]["adv_ci"] = [-0.02, 0.42]
    res["recommend_n_seekers"]["cold_start"] = MIN_TEST_SEEKERS[1] - 1
    t = targets_of(res)
    assert t["judge advantage GIRL vs GIRL-SFT > 0"]["met"] is False
    assert t[f"judge GIRL vs GIRL-SFT interval at most +-{JUDGE_HALF_WIDTH} (240 pairs, 80 CVs)"]["met"] is False
    assert t[seekers_target]["met"] is False
    status = render_status(res)
    assert "over 240 pairs of JDs for 80 CVs: not shown" in status and "relevance alone" in status
    md = render_markdown(res, tmp_path)
    assert "| rec_test | 640 | 64 | 22 | 10.0 | 0.27 |" in md
    assert "| GIRL vs GIRL-SFT | 0.00 [-0.100, 0.100] | 0.30 [0.100, 0.500] | -0.10 [-0.200, 0.000] |" in md


def test_generation_alternatives_are_the_disjoint_draws_of_generated_jds():
    from girl_lib.recommend import generation_alternatives

    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(3)]
    table = EmbeddingTable(ids, rng.normal(size=(3, 4, 2)))
    test = Features(np.zeros((4, 2)), np.zeros((4, 2)), np.array([1, 0, 1, 0]), seeker_ids=np.array(["s0", "s0", "s2", "s1"]))
    alts = generation_alternatives(test, table, 2)
    assert len(alts) == 2
    assert np.allclose(alts[0].jp, table.pooled(2).lookup(test.seeker_ids))  # the tables' own j' first
    assert np.allclose(alts[1].jp[0], table.vectors[0, 2:].mean(axis=0))
    assert np.allclose(alts[1].jp[3], table.vectors[1, 2:].mean(axis=0))
    assert len(generation_alternatives(test, table, 1)) == 4
    assert generation_alternatives(test, table, 3) is None  # no second disjoint draw of three
    splits, gen_t = _toy_splits(n_seekers=40)
    te_alts = generation_alternatives(splits["test"], EmbeddingTable(gen_t.ids, np.stack([gen_t.vectors] * 2, 1)), 1)
    tr, va, te = (splits[k].with_generated(gen_t) for k in ("train", "valid", "test"))
    out = run_experiment("MLP", True, tr, va, te, replace(FAST, epochs=3),
                         options=ExperimentOptions(test_alternatives=te_alts))
    assert out["test_probs_alt"].shape == (1, 2, len(te)) and np.allclose(out["test_probs_alt"][0, 0], out["test_probs"][0])


# --------------------------------------------------------------------------- issue 27: fields, control, occupation
_JD_REAL = """Senior Programme Manager
Company: Harborfield (hospital public agency)
Location: Atlanta, GA (on-site) | Salary: $111k–$141k
Responsibilities:
- Deliver projects on time
Requirements:
- At least 6 years in a similar role
- Hands-on experience with project management
- BSc in Engineering or equivalent experience"""
_JD_GEN = """Programme Manager
Location: Atlanta, GA | Salary: $90k–$120k
Requirements:
- 3+ years of relevant experience
- Project management
- High school diploma"""


def test_jd_field_helpers_by_hand():
    from girl_lib.jd_fields import band_overlap, coverage, jaccard, requirement_lines, title_line, tokens

    assert title_line("\n  Data Analyst \nCompany: X") == "Data Analyst"
    assert requirement_lines(_JD_GEN) == ["3+ years of relevant experience", "Project management",
                                          "High school diploma"]
    assert requirement_lines("Title\nResponsibilities:\n- Plan\n") == []  # no requirements heading
    assert tokens("The P&L of a C++ team") == {"p&l", "c++", "team"}  # stopwords dropped, symbols kept
    assert jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3) and jaccard(set(), set()) == 0.0
    assert coverage({"a", "b", "c", "d"}, {"a", "x"}) == 0.25 and coverage(set(), {"a"}) == 0.0
    assert band_overlap((90, 120), (111, 141)) == pytest.approx(9 / 51)  # [111, 120] over [90, 141]
    assert band_overlap((50, 50), (50, 50)) == 1.0 and band_overlap((50, 50), (60, 60)) == 0.0
    assert band_overlap(None, (1, 2)) == 0.0


def test_jd_pair_features_by_hand():
    import math

    from girl_lib.jd_fields import JD_PAIR_FEATURE_NAMES, jd_pair_features

    f = dict(zip(JD_PAIR_FEATURE_NAMES, jd_pair_features(_JD_GEN, _JD_REAL)))
    assert f["title_overlap"] == pytest.approx(2 / 3)  # {programme, manager} of {senior, programme, manager}
    # requirement tokens ("at", "in", "a", "with", "or", "of" are stopwords): real {least, 6, years, similar,
    # role, hands-on, experience, project, management, bsc, engineering, equivalent} (12), generated {3+, years,
    # relevant, experience, project, management, high, school, diploma} (9); shared {years, experience,
    # project, management}: Jaccard 4 / (12 + 9 - 4), coverage of the real JD's 4 / 12
    assert f["requirement_overlap"] == pytest.approx(4 / 17) and f["requirement_coverage"] == pytest.approx(4 / 12)
    assert f["same_place"] == 1.0 and f["both_remote"] == 0.0
    assert f["pay_overlap"] == pytest.approx(9 / 51)
    assert f["log_pay_ratio"] == pytest.approx(math.log(126 / 105))  # band mids 126k (j) and 105k (j')
    assert f["years_gap"] == pytest.approx((6 - 3) / 5) and f["degree_gap"] == 1.0  # bachelor vs high school
    assert f["facts_missing"] == 0.0
    empty = dict(zip(JD_PAIR_FEATURE_NAMES, jd_pair_features("", _JD_REAL)))
    assert empty["facts_missing"] == 1.0 and empty["pay_overlap"] == 0.0 and empty["years_gap"] == 0.0
    assert all(math.isfinite(v) for v in jd_pair_features(None, b"\xff"))


def test_field_feature_matrices_shapes():
    from girl_lib.extract import FEATURE_NAMES, pair_features
    from girl_lib.jd_fields import JD_PAIR_FEATURE_NAMES, jd_pair_features
    from girl_lib.recommend import cv_jd_fields, jd_jd_fields

    cvs = ["Location: Atlanta, GA · Salary expectation: $51k\nSummary: 5 years", "CV two"]
    fields = cv_jd_fields(cvs, [_JD_REAL, _JD_GEN])
    assert fields.shape == (2, len(FEATURE_NAMES)) and fields.dtype == np.float32
    assert np.allclose(fields[0], pair_features(cvs[0], _JD_REAL))
    gens = {"s1": [_JD_GEN, ""], "s2": [_JD_REAL, _JD_GEN]}
    jj = jd_jd_fields(["s1", "s2", "s1"], [_JD_REAL, _JD_REAL, _JD_GEN], gens, 2)
    assert jj.shape == (3, 2, len(JD_PAIR_FEATURE_NAMES))
    assert np.allclose(jj[0, 0], jd_pair_features(_JD_GEN, _JD_REAL))  # row 0: seeker s1's first j' vs its JD
    assert np.allclose(jj[1, 0], jd_pair_features(_JD_REAL, _JD_REAL)) and jj[1, 0, 0] == 1.0  # identical titles
    with pytest.raises(GirlError, match="fewer than 3"):
        jd_jd_fields(["s1"], [_JD_REAL], gens, 3)


def _with_fields(feats: Features, seed: int, jp: bool) -> Features:
    rng = np.random.default_rng(seed)
    return replace(feats, fields=rng.normal(size=(len(feats), 3)).astype(np.float32),
                   jp_fields=rng.normal(size=(len(feats), 2)).astype(np.float32) if jp else None)


@pytest.mark.parametrize("kind", ["MLP", "Dot"])
def test_field_blocks_reach_the_predictors(kind):
    """Base reads the (CV, JD) fields only, enhanced models also the (j', j) ones; both are z-scored with the
    training rows' statistics and really change the score."""
    from girl_lib.recommend import make_predictor, predict_logits

    splits, _ = _toy_splits(n_seekers=40)
    train = _with_fields(splits["train"], 0, jp=True)
    base = make_predictor(kind, False, 8, 8, RecommendConfig(), fields=FieldDims(field_dim=3))
    enhanced = make_predictor(kind, True, 8, 8, RecommendConfig(), fields=FieldDims(field_dim=3, jp_field_dim=2))
    with pytest.raises(GirlError, match="no \\(j', j\\) field"):
        make_predictor(kind, False, 8, 8, RecommendConfig(), fields=FieldDims(field_dim=3, jp_field_dim=2))
    for model in (base, enhanced):
        model.init_from_data(train)
        assert torch.allclose(model.mean_f, torch.from_numpy(train.fields.mean(0)), atol=1e-6)
        _perturb(model)
        if kind == "Dot":
            nn_init = torch.nn.init
            nn_init.normal_(model.field_head.weight)
        moved = replace(train, fields=train.fields + 5.0)
        assert not np.allclose(predict_logits(model, train), predict_logits(model, moved))
    assert enhanced.mean_g.shape == (2,) and not hasattr(base, "mean_g")
    moved_jp = replace(train, jp_fields=train.jp_fields + 5.0)
    assert not np.allclose(predict_logits(enhanced, train), predict_logits(enhanced, moved_jp))
    assert np.allclose(predict_logits(base, train), predict_logits(base, moved_jp))  # Base never reads j' fields
    with pytest.raises(GirlError, match="field features 'f'"):
        predict_logits(base, replace(train, fields=None))


def test_train_predictor_uses_the_field_blocks_it_was_given():
    from girl_lib.recommend import train_predictor

    splits, _ = _toy_splits(n_seekers=40)
    tr, va = (_with_fields(splits[k], i, jp=True) for i, k in enumerate(("train", "valid")))
    rc = RecommendConfig(epochs=2, patience=1, hidden_dim=8, proj_dim=8, seeds=(0,))
    base, _ = train_predictor("MLP", False, tr, va, rc)
    enhanced, _ = train_predictor("MLP", True, tr, va, rc)
    assert (base.field_dim, base.jp_field_dim) == (3, 0) and (enhanced.field_dim, enhanced.jp_field_dim) == (3, 2)
    assert base.net[0].in_features == 8 + 8 + 3 and enhanced.net[0].in_features == 8 * 3 + 3 + 2


def test_retrieved_control_picks_the_nearest_sft_cvs_jd():
    from girl_lib.recommend import nearest_rows, retrieve_matched_jds

    index = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    queries = np.array([[0.1, 5.0], [3.0, 2.9], [2.0, 0.1]])  # cosine, not distance: scale does not matter
    assert nearest_rows(queries, index).tolist() == [1, 2, 0]
    texts, neighbour = retrieve_matched_jds(["q1", "q2", "q3"], queries, ["a", "b", "c"], index,
                                            {"a": "JD of a", "b": "JD of b", "c": "JD of c"})
    assert neighbour == {"q1": "b", "q2": "c", "q3": "a"}
    assert texts == {"q1": ["JD of b"], "q2": ["JD of c"], "q3": ["JD of a"]}
    with pytest.raises(GirlError, match="do not match"):
        nearest_rows(queries, np.ones((2, 3)))


def test_sft_matched_pairs_keeps_each_seekers_first_jd():
    from girl_lib.recommend import sft_matched_pairs

    notes = []
    data = {"sft": {"seeker_id": ["a", "b", "a"], "cv": ["cv a", "cv b", "cv a"], "jd": ["j1", "j2", "j3"]}}
    assert sft_matched_pairs(data, notes) == {"seeker_id": ["a", "b"], "cv": ["cv a", "cv b"], "jd": ["j1", "j2"]}
    assert sft_matched_pairs({}, notes) is None and "Retrieved control is skipped" in notes[0]


def test_within_occupation_auc_uses_the_same_occupation_rows_only():
    from girl_lib.recommend import score_rows

    y = np.array([1, 0, 1, 0, 0, 1])
    probs = np.array([0.9, 0.8, 0.2, 0.1, 0.95, 0.05])
    within = np.array([True, True, True, True, False, False])
    out = score_rows(y, probs, within=within)
    assert out["auc_within_occupation"] == pytest.approx(auc(y[within], probs[within])) == 0.75
    assert out["auc"] != out["auc_within_occupation"] and out["n_within"] == 4
    one_class = score_rows(y, probs, within=np.array([True, False, True, False, False, True]))
    assert one_class["auc_within_occupation"] is None  # only positives there


def test_run_experiment_reports_within_occupation_per_subset():
    splits, _ = _toy_splits(n_seekers=60)
    test = splits["test"]
    within = np.random.default_rng(1).random(len(test)) < 0.5
    rc = RecommendConfig(epochs=2, patience=1, hidden_dim=8, proj_dim=8, seeds=(0, 1))
    res = run_experiment("MLP", False, splits["train"], splits["valid"], test, rc, options=ExperimentOptions(within=within))
    probs = res["test_probs"]
    expected = np.mean([auc(test.y[within], p[within]) for p in probs])
    assert res["all"]["auc_within_occupation"] == pytest.approx(expected)


def test_untrained_cosine_scores_read_the_field_from_the_generated_jd(tmp_path, monkeypatch):
    """Notebook 06's section 2: per rec_test row, cos(c, j); for each generator cos(j', j) with j' the mean of all
    its JDs for the seeker, and cos(c + 0.5 j'/|j'|, j); a generator missing a test seeker is left out. The
    hand-made JDs name the seeker's field, which the CVs never do: j' separates the labels, the CV hardly does."""
    from girl_lib.recommend import untrained_cosine_scores

    data = _tiny_run_dir(tmp_path, keys=("sft", "girl"))
    test = data["rec_test"]
    append_jsonl(tmp_path / "generate" / "base.jsonl",   # only one test seeker: base-gen is left out
                 [{"subset": "rec", "cv_id": test["seeker_id"][0], "sample": 0, "jd": "alpha", "n_tokens": 1,
                   "finished": True}])
    monkeypatch.setattr("girl_lib.data.load_data", lambda run_dir: data)
    got = untrained_cosine_scores(_tiny_cfg(), tmp_path, tmp_path, encode=_fake_encode)
    assert list(got) == ["cos(c, j): CV vs JD", "cos(j', j): GIRL-SFT JD vs JD",
                         "cos(c + 0.5 j', j): CV and GIRL-SFT JD vs JD", "cos(j', j): GIRL JD vs JD",
                         "cos(c + 0.5 j', j): CV and GIRL JD vs JD"]
    c, j = _fake_encode(test["cv"]), _fake_encode(test["jd"])
    fields = {s: "alpha" if int(s[1:]) % 2 == 0 else "beta" for s in test["seeker_id"]}
    jp = np.stack([_fake_encode([f"{fields[s]} girl draft 0", f"{fields[s]} girl draft 1"]).mean(0)
                   for s in test["seeker_id"]])
    jp /= np.linalg.norm(jp, axis=1, keepdims=True)
    mix = c + 0.5 * jp
    mix /= np.linalg.norm(mix, axis=1, keepdims=True)
    assert got["cos(c, j): CV vs JD"] == pytest.approx((c * j).sum(1), abs=1e-6)
    assert got["cos(j', j): GIRL JD vs JD"] == pytest.approx((jp * j).sum(1), abs=1e-6)
    assert got["cos(c + 0.5 j', j): CV and GIRL JD vs JD"] == pytest.approx((mix * j).sum(1), abs=1e-6)
    assert auc(test["label"], got["cos(j', j): GIRL JD vs JD"]) > auc(test["label"], got["cos(c, j): CV vs JD"]) + 0.2
