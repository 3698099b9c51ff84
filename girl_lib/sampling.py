"""Sampling JDs from a causal LM: the Fig. 3 prompt, a KV cache, seeded streams (paper Sec. IV-C1, VI).

:class:`Sampling` holds how JDs are sampled (token cap, temperature, nucleus, decoder, and for
:func:`generate_jds` the batch size and seed); :func:`sample_batch` samples one batch (``repeats=k``: k JDs
per CV from one prompt forward); :func:`generate_jds` walks a list of CVs in length-sorted, seeded batches.
PPO's rollouts, its final evaluation and the generate stage all sample through here.

Two decoders (``Sampling.backend``), one sampling function (:func:`_sample_next`), the same output:

- ``"fast"`` (default): our own KV-cache loop (:func:`_decode_fast`). It subclasses an *internal* of
  transformers (``transformers.cache_utils.DynamicLayer``) to pre-allocate the cache, so a transformers
  release that moves that class must not break generation: when the import fails, ``"fast"`` falls back
  to ``"hf"`` with a one-time warning.
- ``"hf"``: a plain loop over transformers' own ``DynamicCache`` (:func:`_decode_hf`), public API only.

One file on purpose (~530 lines): the two decoders, the pre-allocated cache and the one sampling function
must read side by side; the tests check the decoders against each other token for token.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import asdict, dataclass

import torch
from tqdm.auto import tqdm
from transformers.cache_utils import DynamicCache

from .prompts import render_prompt
from .runio import derive_seed

try:  # not public API: only the "fast" backend needs it (see the module docstring)
    from transformers.cache_utils import DynamicLayer as _DynamicLayer
    FAST_BACKEND_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the installed transformers
    _DynamicLayer = object  # keeps the class below definable; it is never instantiated then
    FAST_BACKEND_AVAILABLE = False

BACKENDS = ("fast", "hf")
"""The choices of ``generate.backend`` / ``Sampling.backend``."""


@dataclass(frozen=True)
class Sampling:
    """How JDs are sampled.

    ``max_new_tokens`` caps a JD; ``temperature`` (0: greedy) and ``top_p`` (nucleus) shape each token's
    distribution; ``backend`` picks the decoder (:data:`BACKENDS`; both draw the same tokens). For
    :func:`generate_jds` only: ``batch_size`` CVs per length-sorted batch, and ``seed``, from which each
    batch's stream is derived with its first index (:func:`batch_generator`)."""

    max_new_tokens: int = 160
    temperature: float = 1.0
    top_p: float = 1.0
    backend: str = "fast"
    batch_size: int = 16
    seed: int = 0

    @classmethod
    def of_generate(cls, gcfg, seed: int) -> "Sampling":
        """The generate stage's settings (a profile's ``generate`` section), seeded by ``seed``."""
        return cls(gcfg.max_new_tokens, gcfg.temperature, gcfg.top_p, gcfg.backend, gcfg.batch_size, seed)

    def record(self) -> dict:
        """What a file of sampled JDs records of its settings: every field but ``backend`` (both decoders
        sample the same tokens, so JDs sampled with either are interchangeable)."""
        return {k: v for k, v in asdict(self).items() if k != "backend"}


# --------------------------------------------------------------------------- sampling
# Why the "fast" decoder looks the way it does (numbers in benchmarks/README.md, from benchmarks/generation.py):
# - the prompt forward computes logits for the last position only (``logits_to_keep=1``): the full
#   [B, P, vocab] logits cost a large share of the prompt forward, and memory;
# - the KV cache is pre-allocated once per batch (:func:`_prealloc_cache`) instead of growing by
#   ``torch.cat`` every step (which copies the whole cache every step);
# - rows that have finished are dropped from the running batch (the cache is compacted), so a batch
#   costs what its unfinished rows cost;
# - sampling (both backends) avoids ``torch.multinomial`` and the full-vocabulary sort of top-p, both slow
#   on CPU: an inverse-CDF draw (float64 cumsum + searchsorted) and a top-k pre-selection that provably
#   contains the nucleus.
_TOP_P_FIRST_K = 256


def _inverse_cdf(weights, generator):
    """One index per row, drawn with probability proportional to ``weights`` [B, K] (>= 0, not
    normalised), from one uniform per row of ``generator``. Exact: P(i) = w_i / sum(w) (float64 CDF)."""
    cdf = weights.double().cumsum(-1)
    u = torch.rand(cdf.shape[0], 1, generator=generator, dtype=torch.float64, device=cdf.device)
    # right=True: the first index whose CDF is > u * total, never a zero-weight index (its CDF equals
    # the previous one). u < 1 keeps it < K except for float rounding at the very top: clamp.
    idx = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)
    return idx.clamp_(max=cdf.shape[-1] - 1).squeeze(-1)


def _sample_next(logits, temperature: float, top_p: float, generator):
    """One token per row: greedy when temperature == 0, else temperature + nucleus (top-p) sampling.

    The distribution is the usual one: softmax(logits / T), restricted to the smallest set of most likely
    tokens whose mass reaches ``top_p`` (a token is kept when the mass before it is < top_p), renormalised.
    """
    if temperature <= 0:
        return logits.argmax(-1)
    x = logits.float() / temperature
    w = (x - x.max(-1, keepdim=True).values).exp_()  # unnormalised softmax
    if top_p >= 1.0:
        return _inverse_cdf(w, generator)
    vocab = w.shape[-1]
    total = w.sum(-1, keepdim=True)
    k = min(_TOP_P_FIRST_K, vocab)
    while True:
        vals, idx = w.topk(k, dim=-1)  # sorted, descending
        probs = vals / total
        cum = probs.cumsum(-1)
        # Every token outside the top k has at least the top k's mass before it: when that mass
        # reaches top_p in every row, the nucleus lies inside the top k.
        if k == vocab or bool((cum[:, -1] >= top_p).all()):
            break
        k = min(vocab, k * 8)
    keep = (cum - probs) < top_p  # always keeps the top token
    choice = _inverse_cdf(probs * keep, generator)
    return idx.gather(-1, choice.unsqueeze(-1)).squeeze(-1)



# --------------------------------------------------------------------------- the fast decoder's cache
class _PreallocatedLayer(_DynamicLayer):
    """A ``DynamicLayer`` whose keys/values live in buffers allocated once for the whole generation.

    ``update`` writes the new positions in place and returns views of the filled part, so attention sees
    exactly what a ``DynamicLayer`` would give it (same shapes, same values) without the per-step
    ``torch.cat`` copy of the whole cache. Used by the ``"fast"`` backend only, and only when
    :data:`FAST_BACKEND_AVAILABLE` (otherwise its base is a stand-in and it is never built).
    """

    def __init__(self, max_len: int):
        super().__init__()
        self.max_len = max_len
        self.length = 0

    def lazy_initialization(self, key_states, value_states):
        self.device = key_states.device
        shape = key_states.shape[:2]
        self._k = key_states.new_empty(*shape, self.max_len, key_states.shape[-1])
        self._v = value_states.new_empty(*shape, self.max_len, value_states.shape[-1])
        self.length = 0
        self.is_initialized = True

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        start, end = self.length, self.length + key_states.shape[-2]
        if end > self.max_len:
            raise RuntimeError(f"pre-allocated KV cache of {self.max_len} positions overflowed")
        self._k[:, :, start:end].copy_(key_states)
        self._v[:, :, start:end].copy_(value_states)
        self.length = end
        self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length if self.is_initialized else 0

    def init_from_prefix(self, key_states, value_states, batch: int):
        """Start the cache of ``batch`` rows from one row's keys/values [1, H, C, D] (a shared prompt
        prefix), copied to every row."""
        self.lazy_initialization(key_states.expand(batch, *key_states.shape[1:]),
                                 value_states.expand(batch, *value_states.shape[1:]))
        n = key_states.shape[-2]
        self._k[:, :, :n] = key_states
        self._v[:, :, :n] = value_states
        self.length = n
        self.keys, self.values = self._k[:, :, :n], self._v[:, :, :n]

    def batch_select_indices(self, indices):
        if not self.is_initialized:
            return
        n = self.length
        k = self._k.new_empty(len(indices), *self._k.shape[1:])
        v = self._v.new_empty(len(indices), *self._v.shape[1:])
        k[:, :, :n] = self._k[indices, :, :n]
        v[:, :, :n] = self._v[indices, :, :n]
        self._k, self._v = k, v
        self.keys, self.values = k[:, :, :n], v[:, :, :n]


def _prealloc_cache(model, max_len: int):
    """A ``DynamicCache`` for ``model`` whose full-attention layers are pre-allocated to ``max_len``."""
    cache = DynamicCache(config=model.config)
    if cache.layers:
        cache.layers = [_PreallocatedLayer(max_len) if type(layer) is _DynamicLayer else layer
                        for layer in cache.layers]
    else:  # layers created lazily on first update: pre-create one per decoder layer
        cache.layers = [_PreallocatedLayer(max_len) for _ in range(model.config.get_text_config().num_hidden_layers)]
        cache.layer_class_to_replicate = None
    return cache


def _supports_shared_prefix(cache) -> bool:
    """The shared-prefix prefill needs every layer pre-allocated (no sliding-window layers)."""
    return bool(cache.layers) and all(type(layer) is _PreallocatedLayer for layer in cache.layers)


def _cache_kwarg(model) -> str:
    """Name of the forward argument that takes the KV cache (``cache`` since transformers 5.x, before that
    ``past_key_values``); PEFT wrappers are looked through."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        params = inspect.signature(base.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


_MIN_SHARED_PREFIX = 16


def _shared_prefix_len(prompt_ids, prompt_mask) -> int:
    """Tokens that every (left-padded) prompt starts with, capped so that each row keeps at least one
    token of its own; 0 when fewer than ``_MIN_SHARED_PREFIX`` or a single row."""
    batch, width = prompt_ids.shape
    if batch < 2:
        return 0
    lens = prompt_mask.sum(1)
    shortest = int(lens.min())
    # align the rows on their first real token: column j of `aligned` is token j of every prompt
    start = width - lens
    cols = (start.unsqueeze(1) + prompt_ids.new_tensor(range(shortest)).unsqueeze(0)).clamp(max=width - 1)
    aligned = prompt_ids.gather(1, cols)
    same = (aligned == aligned[:1]).all(0)
    n = shortest if bool(same.all()) else int((~same).nonzero()[0, 0])
    n = min(n, shortest - 1)
    return n if n >= _MIN_SHARED_PREFIX else 0


def _prefill_shared_prefix(model, cache, cache_kw, prompt_ids, prompt_mask, n_prefix: int, pad_id: int):
    """The prompt forward when all prompts share their first ``n_prefix`` tokens (the system prompt and
    instruction of Fig. 3): the prefix runs once, for one row, and is copied into every row's cache; then
    the rest of each prompt (left-padded among themselves) runs in one batched forward on top of it. Per
    row, every token sees the same tokens at the same positions as in one left-padded forward, so this is
    the same computation (up to float rounding) with fewer FLOPs (no copies of the prefix, less padding).

    The cache then holds [prefix | padding | rest of the prompt] instead of [padding | prompt]; returns
    ``(last-position logits [B, V], attention mask [B, P] of that layout)``. ``input_ids`` returned by
    :func:`sample_batch` keep the plain left-padded layout: positions, not columns, carry the meaning.
    """
    batch, width = prompt_ids.shape
    device = prompt_ids.device
    lens = prompt_mask.sum(1)
    first = width - int(lens.max())  # column of the longest prompt's first token
    row0_start = width - int(lens[0])
    prefix = prompt_ids[:1, row0_start:row0_start + n_prefix]
    pre_cache = DynamicCache(config=model.config)
    model(input_ids=prefix, position_ids=torch.arange(n_prefix, device=device).unsqueeze(0), use_cache=True,
          logits_to_keep=1, **{cache_kw: pre_cache})
    for layer, pre in zip(cache.layers, pre_cache.layers):
        layer.init_from_prefix(pre.keys, pre.values, batch)
    del pre_cache
    # Rest of each prompt, left-padded to the longest rest: the last `width - first - n_prefix` columns.
    rest_width = width - first - n_prefix
    rest_ids = prompt_ids[:, width - rest_width:]
    rest_mask = prompt_mask[:, width - rest_width:].clone()
    rest_mask[(lens - n_prefix).unsqueeze(1) <= torch.arange(rest_width, device=device).flip(0).unsqueeze(0)] = 0
    rest_ids = torch.where(rest_mask.bool(), rest_ids, torch.full_like(rest_ids, pad_id))
    attention = torch.cat([torch.ones(batch, n_prefix, dtype=prompt_mask.dtype, device=device), rest_mask], 1)
    positions = (attention.cumsum(-1) - 1)[:, n_prefix:].clamp(min=0)
    out = model(input_ids=rest_ids, attention_mask=attention, position_ids=positions, use_cache=True,
                logits_to_keep=1, **{cache_kw: cache})
    return out.logits[:, -1, :], attention


def _compact_worth_it(n_dead: int, n_rows: int, steps_left: int) -> bool:
    """Drop finished rows when the decode work they would still cost (``n_dead / n_rows`` of each of the
    ``steps_left`` steps) clearly exceeds one copy of the cache (about one decode step's worth)."""
    return n_dead > 0 and n_dead * steps_left >= 2 * n_rows


# --------------------------------------------------------------------------- the two decoders
@dataclass(frozen=True)
class _Decoding:
    """What every decode step needs besides the model and its cache."""

    max_new_tokens: int
    temperature: float
    top_p: float
    generator: torch.Generator | None
    eos_id: int
    pad_id: int


def _prompt_forward(model, cache, cache_kw: str, prompt_ids, prompt_mask):
    """One left-padded forward of the prompts into ``cache``: last-position logits [B, V]. Positions are
    ``cumsum(mask) - 1``, so a prompt's padding does not shift its positions."""
    positions = (prompt_mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=positions, use_cache=True,
                logits_to_keep=1, **{cache_kw: cache})
    return out.logits[:, -1, :]


def _new_response(batch: int, d: _Decoding, like):
    """Empty ``(response [B, R] of padding, response_mask [B, R] of zeros)`` with R = ``max_new_tokens``."""
    response = torch.full((batch, d.max_new_tokens), d.pad_id, dtype=like.dtype, device=like.device)
    return response, torch.zeros((batch, d.max_new_tokens), dtype=torch.long, device=like.device)


def _take_token(logits, alive, rows, step: int, response, response_mask, d: _Decoding):
    """Sample step ``step``'s token for each running row and write it to row ``rows[i]`` of ``response``
    (padding for a row that has already finished). Returns ``(token, alive after this token)``."""
    token = _sample_next(logits, d.temperature, d.top_p, d.generator)
    token = torch.where(alive, token, torch.full_like(token, d.pad_id))
    response[rows, step] = token
    response_mask[rows, step] = alive.long()
    return token, alive & (token != d.eos_id)


def _decode_fast(model, prompt_ids, prompt_mask, repeats: int, d: _Decoding):
    """The ``"fast"`` backend: ``(response, response_mask)`` [B * repeats, steps taken].

    Pre-allocated cache, shared-prefix prefill when the prompts allow it, each prompt's cache copied to
    its ``repeats`` rows, and finished rows dropped from the running batch when that pays (``rows`` maps
    a running row to its row in the output).
    """
    prompt_len, device = prompt_ids.shape[1], prompt_ids.device
    cache_kw = _cache_kwarg(model)
    cache = _prealloc_cache(model, prompt_len + d.max_new_tokens)
    # attention[:, :P + t] is the mask (in the cache's layout) of the running rows after t tokens
    attention = torch.zeros((prompt_ids.shape[0], prompt_len + d.max_new_tokens), dtype=torch.long, device=device)
    n_prefix = _shared_prefix_len(prompt_ids, prompt_mask) if _supports_shared_prefix(cache) else 0
    if n_prefix:
        logits, attention[:, :prompt_len] = _prefill_shared_prefix(model, cache, cache_kw, prompt_ids,
                                                                   prompt_mask, n_prefix, d.pad_id)
    else:
        attention[:, :prompt_len] = prompt_mask
        logits = _prompt_forward(model, cache, cache_kw, prompt_ids, prompt_mask)
    next_pos = prompt_mask.sum(1, keepdim=True)  # position of the first JD token: the prompt length
    if repeats > 1:  # k rows per prompt from here on: copy each prompt's cache to its rows
        rep = torch.arange(prompt_ids.shape[0], device=device).repeat_interleave(repeats)
        cache.batch_select_indices(rep)
        logits, attention, next_pos = logits[rep], attention[rep], next_pos[rep]
    response, response_mask = _new_response(logits.shape[0], d, prompt_ids)
    rows = torch.arange(logits.shape[0], device=device)  # output row of each running row
    alive = torch.ones(logits.shape[0], dtype=torch.bool, device=device)  # per running row
    for step in range(d.max_new_tokens):
        token, alive = _take_token(logits, alive, rows, step, response, response_mask, d)
        n_alive = int(alive.sum())  # the one host read per step
        if n_alive == 0 or step + 1 == d.max_new_tokens:
            return response[:, :step + 1], response_mask[:, :step + 1]
        n_rows = rows.shape[0]
        if _compact_worth_it(n_rows - n_alive, n_rows, d.max_new_tokens - step - 1):
            keep = alive.nonzero().squeeze(-1)
            cache.batch_select_indices(keep)
            rows, alive, token = rows[keep], alive[keep], token[keep]
            attention, next_pos = attention[keep], next_pos[keep]
        attention[:, prompt_len + step] = alive.long()
        out = model(input_ids=token.unsqueeze(1), attention_mask=attention[:, :prompt_len + step + 1],
                    position_ids=next_pos, use_cache=True, **{cache_kw: cache})
        logits = out.logits[:, -1, :]
        next_pos = next_pos + 1


def _decode_hf(model, prompt_ids, prompt_mask, repeats: int, d: _Decoding):
    """The ``"hf"`` backend: ``(response, response_mask)`` [B * repeats, steps taken], the plain way.

    transformers' own ``DynamicCache``, one left-padded prompt forward, then one token per step for every
    row until all have finished (finished rows keep running, masked). Same positions and masks per row
    as :func:`_decode_fast`, and the same :func:`_sample_next`, so greedy decoding gives the same tokens
    and sampling the same distribution. Sampling also draws the same uniforms from ``generator``:
    :func:`_inverse_cdf` takes one per *sampled* row, so the rows that :func:`_decode_fast` would have
    dropped (:func:`_compact_worth_it`) stop being sampled here too, although they stay in the batch.
    """
    cache_kw = _cache_kwarg(model)
    cache = DynamicCache(config=model.config)
    logits = _prompt_forward(model, cache, cache_kw, prompt_ids, prompt_mask)
    attention = prompt_mask
    if repeats > 1:  # k rows per prompt: each prompt's cache (and logits) copied to its rows
        cache.batch_repeat_interleave(repeats)
        logits, attention = logits.repeat_interleave(repeats, 0), attention.repeat_interleave(repeats, 0)
    next_pos = attention.sum(1, keepdim=True)  # position of the first JD token: the prompt length
    batch, device = logits.shape[0], logits.device
    response, response_mask = _new_response(batch, d, prompt_ids)
    rows = torch.arange(batch, device=device)  # the sampled rows (those _decode_fast would still run)
    alive = torch.ones(batch, dtype=torch.bool, device=device)  # per sampled row
    for step in range(d.max_new_tokens):
        token, alive = _take_token(logits[rows], alive, rows, step, response, response_mask, d)
        n_alive = int(alive.sum())
        if n_alive == 0 or step + 1 == d.max_new_tokens:
            return response[:, :step + 1], response_mask[:, :step + 1]
        if _compact_worth_it(rows.shape[0] - n_alive, rows.shape[0], d.max_new_tokens - step - 1):
            keep = alive.nonzero().squeeze(-1)
            rows, alive, token = rows[keep], alive[keep], token[keep]
        feed = torch.full((batch,), d.pad_id, dtype=token.dtype, device=device).index_put_((rows,), token)
        live = torch.zeros(batch, dtype=attention.dtype, device=device).index_put_((rows,), alive.to(attention.dtype))
        attention = torch.cat([attention, live.unsqueeze(1)], 1)
        out = model(input_ids=feed.unsqueeze(1), attention_mask=attention, position_ids=next_pos,
                    use_cache=True, **{cache_kw: cache})
        logits = out.logits[:, -1, :]
        next_pos = next_pos + 1


_FALLBACK_WARNED = False


def _resolve_backend(backend: str) -> str:
    """``backend`` checked; ``"fast"`` becomes ``"hf"`` (warning once) when transformers lacks the
    internal the fast decoder builds on."""
    global _FALLBACK_WARNED
    if backend not in BACKENDS:
        raise ValueError(f"unknown generation backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "fast" and not FAST_BACKEND_AVAILABLE:
        if not _FALLBACK_WARNED:
            warnings.warn("transformers.cache_utils.DynamicLayer could not be imported from this transformers "
                          "version: generating with backend 'hf' instead (same sampling, slower)",
                          RuntimeWarning, stacklevel=3)
            _FALLBACK_WARNED = True
        return "hf"
    return backend


def _encode_prompts(tokenizer, cvs: list[str], device):
    """The Fig. 3 prompts of ``cvs``, left-padded: ``(input_ids [B, P], attention_mask [B, P])``."""
    tokenizer.padding_side = "left"
    prompts = [render_prompt(tokenizer, cv) for cv in cvs]
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    return enc["input_ids"], enc["attention_mask"]


def _batch_result(tokenizer, prompt_ids, prompt_mask, response, response_mask) -> dict:
    """The dict :func:`sample_batch` returns. Call it outside inference mode: the clones are then plain
    tensors that training code may feed to autograd."""
    eos_id = tokenizer.eos_token_id
    response, response_mask = response.clone(), response_mask.clone()
    n_tokens = response_mask.sum(1)
    if response.shape[1]:
        last = (n_tokens - 1).clamp(min=0).unsqueeze(1)
        finished = (n_tokens > 0) & (response.gather(1, last).squeeze(1) == eos_id)
    else:
        finished = torch.zeros(response.shape[0], dtype=torch.bool, device=response.device)
    texts = []
    for row, n in zip(response.tolist(), n_tokens.tolist()):
        ids = [t for t in row[:n] if t != eos_id]
        texts.append(tokenizer.decode(ids, skip_special_tokens=True).strip())
    return {
        "input_ids": torch.cat([prompt_ids, response], dim=1),
        "attention_mask": torch.cat([prompt_mask, response_mask], dim=1),
        "prompt_len": prompt_ids.shape[1],
        "response_mask": response_mask,
        "texts": texts,
        "finished": finished,
        "n_tokens": n_tokens,
    }


def sample_batch(model, tokenizer, cvs: list[str], sampling: Sampling = Sampling(), generator=None,
                 repeats: int = 1) -> dict:
    """Generate one JD per CV with a KV cache, from the Fig. 3 prompt (left padding).

    ``repeats=k`` samples k JDs per CV: each prompt is read once and its cache copied to its k rows
    (rows come out grouped: CV 0's k JDs, then CV 1's, ...).

    Sampling draws from ``generator`` (a seeded ``torch.Generator``), so rollouts are reproducible and
    resumable. Rows that produced EOS stop contributing tokens (they are padded), and the loop ends as
    soon as every row has finished.

    ``sampling`` gives the token cap, temperature, top-p and decoder (``batch_size``/``seed`` are
    :func:`generate_jds`'s). Decoder ``"fast"``: ours (falls back to ``"hf"`` when transformers lacks the
    internal it needs); ``"hf"``: a plain loop on transformers' ``DynamicCache``; see the module docstring.
    Both sample with :func:`_sample_next`, in the same order, and return the same format.

    Returns ``input_ids`` [B, P+R] (prompt + response), ``attention_mask`` [B, P+R] (0 on left padding and
    on response tokens after EOS), ``prompt_len`` P, ``response_mask`` [B, R] (1 on response tokens up to
    and including EOS), ``texts`` (decoded JDs), ``finished`` [B] (EOS produced), ``n_tokens`` [B].
    """
    decode = _decode_fast if _resolve_backend(sampling.backend) == "fast" else _decode_hf
    device = next(model.parameters()).device
    prompt_ids, prompt_mask = _encode_prompts(tokenizer, cvs, device)
    d = _Decoding(max(sampling.max_new_tokens, 0), sampling.temperature, sampling.top_p, generator,
                  tokenizer.eos_token_id, tokenizer.pad_token_id)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            if d.max_new_tokens > 0:
                response, response_mask = decode(model, prompt_ids, prompt_mask, repeats, d)
            else:
                response, response_mask = _new_response(prompt_ids.shape[0] * repeats, d, prompt_ids)
    finally:
        if was_training:
            model.train()
    if repeats > 1:
        prompt_ids, prompt_mask = prompt_ids.repeat_interleave(repeats, 0), prompt_mask.repeat_interleave(repeats, 0)
    return _batch_result(tokenizer, prompt_ids, prompt_mask, response, response_mask)


def length_batches(cvs: list[str], batch_size: int) -> list[list[int]]:
    """Indices of ``cvs`` in batches of similar length (right-sized padding), shortest first.

    A last batch of fewer than a quarter of ``batch_size`` rows joins the batch before it: decoding costs
    about as much per step for 1 row as for 32 (the weights are read once per step either way), so 65
    CVs at batch 32 run as 32 + 33 instead of 32 + 32 + 1.
    """
    size = max(1, batch_size)
    order = sorted(range(len(cvs)), key=lambda i: len(cvs[i]))
    batches = [order[s:s + size] for s in range(0, len(order), size)]
    if len(batches) > 1 and 4 * len(batches[-1]) < size:
        last = batches.pop()
        batches[-1] += last
    return batches


def batch_generator(seed: int, first_index: int, device):
    """The random stream of the batch whose first CV is ``first_index``: order-independent seeding."""
    return torch.Generator(device=device).manual_seed(derive_seed(seed, first_index))


def generate_jds(model, tokenizer, cvs: list[str], sampling: Sampling, progress: bool = False,
                desc: str = "generate"):
    """Yield ``(index, text, n_tokens, finished)`` for every CV, batching ``sampling.batch_size`` CVs of
    similar length together (:func:`length_batches`) and seeding each batch from ``sampling.seed`` and its
    first index (:func:`batch_generator`)."""
    bar = tqdm(total=len(cvs), desc=desc, disable=not progress, leave=False)
    for idx in length_batches(cvs, sampling.batch_size):
        gen = batch_generator(sampling.seed, idx[0], next(model.parameters()).device)
        out = sample_batch(model, tokenizer, [cvs[i] for i in idx], sampling, gen)
        for j, i in enumerate(idx):
            yield i, out["texts"][j], int(out["n_tokens"][j]), bool(out["finished"][j])
        bar.update(len(idx))
    bar.close()
