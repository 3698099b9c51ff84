import json

import numpy as np
import pytest
import torch

from girl_lib.models import (encode_texts, load_encoder, load_generator, load_sequence_scorer, minilm_dir,
                             smollm2_dir, smollm2_gguf_path)
from girl_lib.prompts import render_prompt
from girl_lib.runio import GirlError


def test_tiny_generator_is_a_small_llama_with_a_chat_template(tiny_generator):
    model, tok = tiny_generator
    assert model.config.model_type == "llama"
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    assert next(model.parameters()).dtype == torch.float32
    prompt = render_prompt(tok, "Data analyst in Berlin. Skills: SQL, Tableau.")
    assert prompt.endswith("<|im_start|>assistant\n")
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == prompt  # byte-level BPE round-trips exactly
    assert tok.padding_side == "left" and tok.pad_token_id is not None


def test_local_folder_loads_by_name_like_a_hub_model(tmp_path, tiny_generator):
    model, tok = tiny_generator
    model.save_pretrained(tmp_path / "my-model")
    tok.save_pretrained(tmp_path / "my-model")
    assert (tmp_path / "my-model" / "model.safetensors").exists()
    again, tok2 = load_generator(str(tmp_path / "my-model"))
    ids = torch.tensor([[1, 5, 9, 11]])
    torch.testing.assert_close(again(ids).logits, model(ids).logits)
    assert tok2.chat_template == tok.chat_template


def test_unreachable_hub_model_fails_with_instructions():
    with pytest.raises(GirlError, match="huggingface-cli download"):
        load_generator("some-org/not-a-cached-model-xyz")


def test_tiny_scorer_outputs_one_number_per_pair():
    model, tok = load_sequence_scorer("tiny")
    enc = tok(["cv one", "cv two"], ["jd one", "jd two"], return_tensors="pt", padding=True)
    assert model(**enc).logits.shape == (2, 1)


def test_minilm_encoder_is_normalised_and_semantic(tiny_cfg):
    from girl_lib.config import apply_overrides

    cfg = apply_overrides(tiny_cfg, {"models.encoder": "minilm"})
    model, tok = load_encoder(cfg)
    emb = encode_texts(model, tok, ["Senior data analyst, SQL and Tableau dashboards",
                                    "Data analyst: build Tableau dashboards with SQL",
                                    "Registered nurse in an intensive care unit"], batch_size=2)
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2
    assert (minilm_dir() / "model.safetensors").exists()


@pytest.mark.slow
def test_smollm2_gguf_converts_once_to_a_safetensors_cache(tmp_path_factory):
    """The real embedded generator: GGUF -> float32 safetensors cache -> fast reloads."""
    assert smollm2_gguf_path().exists()
    folder = smollm2_dir()
    assert (folder / "model.safetensors").exists()
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config
    model, tok = load_generator("smollm2")
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6
    prompt = render_prompt(tok, "Nurse with 5 years in intensive care, Boston.")
    assert "<|im_start|>system" in prompt
    with torch.no_grad():
        logits = model(**tok(prompt, return_tensors="pt", add_special_tokens=False)).logits
    assert torch.isfinite(logits).all()
    assert smollm2_dir() == folder  # second call hits the cache


def test_encode_texts_sorts_by_length_and_restores_order():
    """Texts of similar length share a batch (shortest first: less padding); rows come back in the
    caller's order, each equal to that text encoded on its own."""
    from girl_lib.config import get_profile

    model, tok = load_encoder(get_profile("tiny"))
    batches = []

    def recording_tok(texts, **kw):
        batches.append(list(texts))
        return tok(texts, **kw)

    texts = ["ccc ccc ccc", "a", "bbbb bbbb bbbb bbbb", "dd dd"]
    out = encode_texts(model, recording_tok, texts, batch_size=2)
    assert batches == [["a", "dd dd"], ["ccc ccc ccc", "bbbb bbbb bbbb bbbb"]]
    alone = np.concatenate([encode_texts(model, tok, [t]) for t in texts])
    np.testing.assert_allclose(out, alone, atol=1e-5)
    assert encode_texts(model, tok, []).shape == (0, model.config.hidden_size)


def test_top_layers_cache_replays_only_the_trainable_top_layer():
    """Second pass over the same texts: the frozen bottom layer is not run again, the top layer is run
    with its current weights, and the embeddings equal a full forward of the changed model."""
    import torch

    from girl_lib.models import TopLayersCache, _encoder_layers, encode_texts, load_sequence_scorer

    model, tok = load_sequence_scorer("tiny", kind="dual", train_layers=1)
    enc = model.encoder.eval()
    texts = ["nurse", "ICU nurse in Boston with six years", "welder", "chef in Lyon, French cuisine", "a b c"]
    full = encode_texts(enc, tok, texts, batch_size=2, max_length=32)
    cache = TopLayersCache(enc, 1)
    recorded = encode_texts(enc, tok, texts, batch_size=2, max_length=32, cache=cache)
    assert cache.enabled and sorted(cache.batches) == [0, 2, 4]
    np.testing.assert_allclose(recorded, full, atol=1e-5)

    bottom, top = _encoder_layers(enc)
    with torch.no_grad():
        for p in top.parameters():
            p.add_(0.2 * torch.randn_like(p))
    calls = []
    handle = bottom.register_forward_hook(lambda *a: calls.append(1))
    replayed = encode_texts(enc, tok, texts, batch_size=2, max_length=32, cache=cache)
    handle.remove()
    assert calls == []
    np.testing.assert_allclose(replayed, encode_texts(enc, tok, texts, batch_size=2, max_length=32), atol=1e-5)
    assert not np.allclose(replayed, full, atol=1e-3)
    # other texts, another batch size or length cap: recorded afresh, not replayed from the old batches
    for sub, bs, ml in ((texts[:3], 2, 32), (texts, 3, 32), (texts, 3, 4)):
        np.testing.assert_allclose(encode_texts(enc, tok, sub, batch_size=bs, max_length=ml, cache=cache),
                                   encode_texts(enc, tok, sub, batch_size=bs, max_length=ml), atol=1e-5)
        assert cache.key == (tuple(sub), bs, ml)


def test_top_layers_cache_is_off_when_lower_layers_can_train():
    from girl_lib.models import TopLayersCache, load_sequence_scorer

    model, _ = load_sequence_scorer("tiny", kind="dual", train_layers=1)
    assert TopLayersCache(model.encoder, 1).enabled
    model.encoder.embeddings.requires_grad_(True)
    assert not TopLayersCache(model.encoder, 1).enabled


def test_top_layers_cache_switches_off_when_replay_would_differ():
    """A model whose output is not its last layer's (here a hook doubles it): the cache notices on the
    first batch and every pass runs the full model."""
    from girl_lib.models import TopLayersCache, encode_texts, load_sequence_scorer

    model, tok = load_sequence_scorer("tiny", kind="dual", train_layers=1)
    enc = model.encoder.eval()

    def double(module, args, out):
        out.last_hidden_state = out.last_hidden_state * 2 + 1
        return out

    enc.register_forward_hook(double)
    texts = ["nurse", "welder in Houston", "chef"]
    cache = TopLayersCache(enc, 1)
    first = encode_texts(enc, tok, texts, batch_size=2, max_length=32, cache=cache)
    assert not cache.enabled and cache.batches == {}
    np.testing.assert_allclose(first, encode_texts(enc, tok, texts, batch_size=2, max_length=32), atol=1e-6)
    np.testing.assert_allclose(encode_texts(enc, tok, texts, batch_size=2, max_length=32, cache=cache), first,
                               atol=1e-6)


def test_tiny_generator_is_rebuilt_when_the_world_texts_change(tmp_path, monkeypatch):
    """The cached tiny model's tokenizer is trained on the world's texts: other texts, another folder
    (a model built from old texts is never reused), the same texts, the same folder (no rebuild)."""
    from girl_lib import models

    first = models.tiny_generator_dir(tmp_path)
    assert models.tiny_generator_dir(tmp_path) == first
    real = models.sample_corpus
    monkeypatch.setattr(models, "sample_corpus", lambda n, seed=0: real(n, seed=seed)[:-1] + ["a changed CV"])
    second = models.tiny_generator_dir(tmp_path)
    assert second != first and (second / "config.json").exists() and (first / "config.json").exists()


class _FakeCard:
    """A CUDA device of one compute capability, as torch.cuda answers for it (no GPU needed)."""

    def __init__(self, major: int):
        self.major = major

    def is_bf16_supported(self, including_emulation: bool = True) -> bool:
        return self.major >= 8 or including_emulation  # a T4 emulates bf16: True unless emulation is excluded


@pytest.mark.parametrize("major, want", [(7, torch.float16), (8, torch.bfloat16), (9, torch.bfloat16)])
def test_auto_dtype_is_fp16_where_bf16_is_only_emulated(monkeypatch, major, want):
    from girl_lib import models
    from girl_lib.config import get_profile

    card = _FakeCard(major)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", card.is_bf16_supported)
    assert models.native_bf16() is (major >= 8)
    assert models.resolve_dtype(get_profile("colab"), torch.device("cuda")) == want
    assert models.resolve_dtype(get_profile("cpu"), torch.device("cpu")) == torch.float32
    assert models.resolve_dtype(get_profile("cpu", ["models.dtype=bfloat16"]), torch.device("cuda")) == torch.bfloat16
