"""The LLM judges, one interface (``judge(messages) -> reply``): :class:`OpenAIJudge` (any
OpenAI-compatible server) and :class:`HFJudge` (a local Hugging Face model, batched); :func:`make_backend`
builds the one a profile asks for, the :class:`~girl_lib.judge.rubric.RubricJudge` included."""

from __future__ import annotations

import os

import openai
import torch

from ..models import load_generator
from ..runio import GirlError
from ..world import Recruiter
from .rubric import RubricJudge


_RETRIED = (408, 409, 429)
"""HTTP statuses the ``openai`` client retries, besides every 5xx (``SyncAPIClient._should_retry``)."""


class OpenAIJudge:
    """Any OpenAI-compatible chat server (ChatGPT, vLLM, Ollama, llama.cpp server) at temperature 0.

    The API key comes from ``OPENAI_API_KEY`` only (``"EMPTY"`` when unset, which local servers accept);
    it is never printed, cached or put in an error message. Each request has ``timeout_s``. Retries are the
    ``openai`` client's own (``max_retries`` of them): HTTP 408, 409, 429, 5xx, timeouts and connection
    errors are retried after the server's ``Retry-After`` (``retry-after-ms`` or ``retry-after``, up to
    2 minutes; a server asking for longer is not retried), else after an exponential backoff of 0.5 s,
    doubling, at most 8 s, minus up to 25% jitter. A bad key (401/403) fails at once; other errors raise
    :class:`GirlError` naming the server URL. ``max_concurrency`` requests run at once (a thread pool in
    :func:`judge_verdicts`).
    """

    def __init__(self, base_url: str | None, model: str, timeout_s: float = 60.0, max_retries: int = 4,
                 max_concurrency: int = 4):
        if not model:
            raise GirlError("the OpenAI judge needs a model name: set judge.model (CLI: --model), e.g. "
                            "'gpt-4o-mini' or the name your vLLM/Ollama server serves")
        self.model = model
        self.max_retries = max(0, int(max_retries))
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout_s = float(timeout_s)
        self._client = openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY") or "EMPTY", base_url=base_url,
                                     timeout=self.timeout_s, max_retries=self.max_retries)
        self.base_url = str(self._client.base_url).rstrip("/")
        self.name = f"openai:{model}"
        self.cache_id = model

    def __repr__(self) -> str:
        return f"OpenAIJudge(base_url={self.base_url!r}, model={self.model!r})"

    def _scrub(self, text: str) -> str:
        key = os.environ.get("OPENAI_API_KEY")
        return text.replace(key, "***") if key else text

    def _attempts(self, error: openai.APIError) -> int:
        """Requests the client sent before giving up: it numbers each in its ``x-stainless-retry-count``
        header (fewer than ``max_retries + 1`` when the server said not to retry)."""
        try:
            return int(error.request.headers["x-stainless-retry-count"]) + 1
        except (AttributeError, KeyError, TypeError, ValueError):
            return self.max_retries + 1

    def judge(self, messages: list[dict]) -> str:
        """One chat completion at temperature 0 (the client retries); the reply text."""
        url = self.base_url
        try:
            resp = self._client.chat.completions.create(model=self.model, messages=messages, temperature=0)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
            raise GirlError(
                f"the judge server at {url} rejected the API key (HTTP {e.status_code}). Set OPENAI_API_KEY "
                f"to a key valid for this server (local servers accept any value).") from None
        except openai.APIStatusError as e:
            status = e.status_code
            if status not in _RETRIED and status < 500:
                hint = " Does the base URL end in /v1, and does the server serve this model?" if status == 404 else ""
                raise GirlError(f"the judge server at {url} answered HTTP {status} for model "
                                f"'{self.model}': {self._scrub(str(e.message))[:300]}.{hint}") from None
            wait = e.response.headers.get("retry-after") if e.response is not None else None
            failure = f"HTTP {status}" + (f", Retry-After: {self._scrub(wait)[:40]}" if wait else "")
            attempts = self._attempts(e)
        except openai.APITimeoutError as e:  # before APIConnectionError, its base class
            failure, attempts = f"no answer within {self.timeout_s:g} s", self._attempts(e)
        except openai.APIConnectionError as e:
            failure, attempts = "could not connect", self._attempts(e)
        else:
            choices = getattr(resp, "choices", None) or []
            return (choices[0].message.content or "") if choices else ""
        raise GirlError(
            f"the judge server at {url} failed after {attempts} attempt{'s' * (attempts != 1)} ({failure}). "
            f"Check that it is running and that judge.base_url (CLI: --base-url) is right, e.g. "
            f"http://localhost:8000/v1. Replies judged so far are kept in the cache; rerun to resume.")


class HFJudge:
    """A local Hugging Face chat model as judge, greedy decoding (offline).

    Small models follow the verdict format poorly: expect parse errors, and prefer a capable model
    (e.g. Qwen2.5-7B-Instruct on a GPU). ``model``/``tokenizer`` may be passed already loaded.
    :func:`judge_verdicts` sends up to ``batch_size`` prompts per ``generate`` call (:meth:`judge_batch`);
    ``batch_size=1`` asks one prompt at a time (:meth:`judge`).
    """

    max_concurrency = 1

    def __init__(self, model_name_or_path: str, cfg=None, max_new_tokens: int = 512, model=None, tokenizer=None,
                 batch_size: int = 8):
        if not model_name_or_path:
            raise GirlError("the HF judge needs a model: set judge.model to a local folder or hub name")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise GirlError(f"judge.batch_size must be an integer >= 1, got {batch_size!r}")
        self.batch_size = batch_size
        if model is None or tokenizer is None:
            model, tokenizer = load_generator(model_name_or_path, cfg)
        self.model, self.tokenizer = model.eval(), tokenizer
        self.max_new_tokens = int(max_new_tokens)
        self.name = f"hf:{model_name_or_path}"
        self.cache_id = f"hf:{model_name_or_path}"

    def judge(self, messages: list[dict]) -> str:
        tok = self.tokenizer
        prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        enc = tok(prompt, return_tensors="pt", add_special_tokens=False).to(next(self.model.parameters()).device)
        with torch.no_grad():
            out = self.model.generate(**enc, do_sample=False, max_new_tokens=self.max_new_tokens,
                                      pad_token_id=tok.pad_token_id)
        return tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()

    def judge_batch(self, batch: list[list[dict]]) -> list[str]:
        """Replies to several chats, in order, from one greedy ``generate`` call.

        Prompts are padded on the left (``padding_side`` is set for this call only, then restored), so every
        reply starts at the same column and is decoded from its own generated tokens. A tokenizer without a
        pad token gets its EOS token as one."""
        if not batch:
            return []
        tok = self.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        prompts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in batch]
        side, tok.padding_side = tok.padding_side, "left"
        try:
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        finally:
            tok.padding_side = side
        enc = enc.to(next(self.model.parameters()).device)
        with torch.no_grad():
            out = self.model.generate(**enc, do_sample=False, max_new_tokens=self.max_new_tokens,
                                      pad_token_id=tok.pad_token_id)
        new = out[:, enc["input_ids"].shape[1]:]
        return [tok.decode(row, skip_special_tokens=True).strip() for row in new]


def make_backend(cfg_judge, cfg=None):
    """The backend a :class:`~girl_lib.config.JudgeConfig` asks for (``rubric``, ``openai`` or ``hf``)."""
    kind = (cfg_judge.backend or "").lower()
    if kind == "rubric":
        return RubricJudge(fit_fn=Recruiter(cfg.recruiter.kind) if cfg is not None else None)
    if kind == "openai":
        return OpenAIJudge(cfg_judge.base_url, cfg_judge.model, timeout_s=cfg_judge.timeout_s,
                           max_retries=cfg_judge.max_retries, max_concurrency=cfg_judge.max_concurrency)
    if kind == "hf":
        return HFJudge(cfg_judge.model, cfg, max_new_tokens=cfg_judge.max_new_tokens,
                       batch_size=getattr(cfg_judge, "batch_size", 8))
    raise GirlError(f"unknown judge.backend {cfg_judge.backend!r}: choose 'rubric', 'openai' or 'hf'")
