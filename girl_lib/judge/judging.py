"""Judging pairs with a backend: both orders, one retry of an unreadable reply, the on-disk reply cache
(:class:`ReplyCache`), concurrency or batches (:func:`judge_verdicts`), pairs files (:func:`judge_file`),
and the ``judge`` stage (:func:`run_judge`, the Table II analogue)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm.auto import tqdm

from .. import paper
from ..config import validate_profile
from ..data import load_data
from ..generate import generated_models, load_generations
from ..names import JUDGE_PAIRS
from ..report import render_judge_table
from ..runio import GirlError, append_jsonl, atomic_write_json, atomic_write_text, mark_done, read_jsonl, require_stage
from .backends import make_backend
from .outcomes import aggregate
from .rubric import RubricJudge, world_readable
from .verdicts import RETRY_PROMPT, VerdictParseError, build_judge_messages, parse_verdict, parses

PAIRS = JUDGE_PAIRS
"""The comparisons of ``run_judge``: (name, model key x, model key y); ``win`` means x is better."""

PAPER_TABLE_II = paper.TABLE_II
"""Paper Table II (ChatGPT as judge, 200 CVs), from :mod:`girl_lib.paper`."""


def cache_key(model: str, messages: list[dict]) -> str:
    """sha256 of (model id, messages): the reply cache's key."""
    blob = json.dumps([model, messages], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ReplyCache:
    """Judge replies on disk, one JSONL row ``{"key", "model", "reply"}`` each (appended and fsynced).

    Holds no messages and no credentials; ``path=None`` keeps replies in memory only. A line torn by a
    kill mid-write is dropped when the cache is opened, so appending after it stays valid JSONL.
    """

    def __init__(self, path: str | Path | None = None, valid=None):
        self.path = Path(path) if path else None
        self.valid = valid  # reply -> bool: replies that fail it are neither kept nor reused (a rerun asks again)
        self._lock = threading.Lock()
        rows = read_jsonl(self.path) if self.path else []
        torn = self.path and self.path.exists() and self.path.stat().st_size
        if torn and not self.path.read_bytes().endswith(b"\n"):
            atomic_write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        self._replies = {r["key"]: r["reply"] for r in rows if valid is None or valid(r["reply"])}
        self.hits = self.misses = 0

    def ask(self, backend, messages: list[dict]) -> str:
        """The cached reply of ``backend`` to ``messages``, or a fresh one (then stored)."""
        cached = self.get(backend, messages)
        return cached if cached is not None else self.put(backend, messages, backend.judge(messages))

    def get(self, backend, messages: list[dict]) -> str | None:
        """The cached reply of ``backend`` to ``messages`` (counted as a hit), or None."""
        key = cache_key(backend.cache_id, messages)
        with self._lock:
            if key in self._replies:
                self.hits += 1
                return self._replies[key]
        return None

    def put(self, backend, messages: list[dict], reply) -> str:
        """Count a fresh ``reply`` (a non-string counts as ``""``) and store it unless ``valid`` rejects it."""
        key = cache_key(backend.cache_id, messages)
        reply = reply if isinstance(reply, str) else ""
        with self._lock:
            self.misses += 1
            if self.valid is not None and not self.valid(reply):  # empty, HTML, unparseable: never cached
                return reply
            self._replies[key] = reply
            if self.path:
                append_jsonl(self.path, [{"key": key, "model": backend.cache_id, "reply": reply}])
        return reply


def _check_row(row, where: str) -> dict:
    if not isinstance(row, dict):
        raise GirlError(f"{where}: expected an object with fields cv, jd_a, jd_b, got {type(row).__name__}")
    for field in ("cv", "jd_a", "jd_b"):
        if field not in row:
            raise GirlError(f"{where}: missing field '{field}' (each pair needs cv, jd_a, jd_b)")
        if not isinstance(row[field], str):
            raise GirlError(f"{where}: field '{field}' must be a string, got {type(row[field]).__name__}")
    if not row["cv"].strip():
        raise GirlError(f"{where}: field 'cv' is empty")
    return row


def _judge_order(backend, cache: ReplyCache, cv: str, jd_a: str, jd_b: str) -> tuple[dict | None, str, str | None]:
    """(verdict or None, last reply, parse error or None) for one order; an unreadable reply is retried once."""
    messages = build_judge_messages(cv, jd_a, jd_b)
    reply = cache.ask(backend, messages)
    try:
        return parse_verdict(reply), reply, None
    except VerdictParseError as e:
        retry = messages + [{"role": "assistant", "content": reply},
                            {"role": "user", "content": RETRY_PROMPT.format(error=e)}]
    reply = cache.ask(backend, retry)
    try:
        return parse_verdict(reply), reply, None
    except VerdictParseError as e:
        return None, reply, str(e)


def _ask_batched(backend, cache: ReplyCache, requests: list[list[dict]], batch_size: int, done=None,
                 estimate: bool = False) -> list[str]:
    """``cache.ask`` for many requests, the uncached ones sent ``batch_size`` at a time through
    ``backend.judge_batch``. Identical requests are sent once; each reply is stored (when readable) as soon
    as its batch returns. ``done(n)`` is told how many requests got their reply. ``estimate``: after the
    first batch, print the requests left and the minutes they should take at the cost measured on it."""
    replies = [cache.get(backend, m) for m in requests]
    todo: dict[str, list[int]] = {}  # cache key -> indices of the requests that are that message list
    for n, (messages, reply) in enumerate(zip(requests, replies)):
        if reply is None:
            todo.setdefault(cache_key(backend.cache_id, messages), []).append(n)
    if done:
        done(len(requests) - sum(map(len, todo.values())))
    keys = list(todo)
    for start in range(0, len(keys), batch_size):
        chunk = keys[start:start + batch_size]
        t0 = time.perf_counter()
        fresh = backend.judge_batch([requests[todo[k][0]] for k in chunk])
        seconds = time.perf_counter() - t0
        if len(fresh) != len(chunk):
            raise GirlError(f"{backend.name} answered {len(fresh)} replies to a batch of {len(chunk)} requests")
        for k, reply in zip(chunk, fresh):
            reply = cache.put(backend, requests[todo[k][0]], reply)
            for n in todo[k]:
                replies[n] = reply
        if done:
            done(sum(len(todo[k]) for k in chunk))
        left = len(keys) - start - len(chunk)
        if estimate and start == 0 and left:
            per = seconds / len(chunk)
            tqdm.write(f"judge ({backend.name}): {left} requests left after a first batch of {len(chunk)}, "
                       f"{per:.2f} s per request measured: about {left * per / 60:.1f} min "
                       f"(plus retries of unreadable replies)")
    return replies


def _judge_batched(backend, cache: ReplyCache, orders: list[tuple[str, str, str]], batch_size: int,
                   bar=None) -> list[tuple[dict | None, str, str | None]]:
    """:func:`_judge_order` for every (cv, jd_a, jd_b) of ``orders``, batched: the same requests, cache and
    results, but all first requests go out first, then one retry of each unreadable reply."""
    done = bar.update if bar is not None else None
    firsts = [build_judge_messages(*o) for o in orders]
    replies = _ask_batched(backend, cache, firsts, batch_size, done=done, estimate=True)
    results: list = [None] * len(orders)
    retries: dict[int, list[dict]] = {}
    for n, (messages, reply) in enumerate(zip(firsts, replies)):
        try:
            results[n] = (parse_verdict(reply), reply, None)
        except VerdictParseError as e:
            retries[n] = messages + [{"role": "assistant", "content": reply},
                                     {"role": "user", "content": RETRY_PROMPT.format(error=e)}]
    if bar is not None and retries:
        bar.total += len(retries)
        bar.refresh()
    again = _ask_batched(backend, cache, list(retries.values()), batch_size, done=done)
    for n, reply in zip(retries, again):
        try:
            results[n] = (parse_verdict(reply), reply, None)
        except VerdictParseError as e:
            results[n] = (None, reply, str(e))
    return results


def judge_verdicts(rows, backend, cache_path=None, progress: bool = True) -> list[dict]:
    """Judge every row (``cv``, ``jd_a`` = x, ``jd_b`` = y, optional ``cv_id``) in both orders.

    Returns one dict per row: ``cv_id``, ``xy``/``yx`` (verdict dicts or None), ``reply_xy``/``reply_yx``
    and ``error_xy``/``error_yx``. Up to ``backend.max_concurrency`` requests run at once; each reply is
    appended to the cache at ``cache_path`` as soon as it arrives, so a failure keeps all finished work.
    A backend with ``judge_batch`` and ``batch_size > 1`` (:class:`HFJudge`) gets its uncached requests in
    batches (:func:`_judge_batched`), with the same requests, cache use, retries and results; it prints an
    estimate of the time left after its first batch.
    """
    rows = [_check_row(r, f"judge pair {i}") for i, r in enumerate(rows)]
    if not rows:
        raise GirlError("no pairs to judge: give at least one row with cv, jd_a, jd_b")
    if isinstance(backend, RubricJudge):
        foreign = sum(not world_readable(cv) for cv in {r["cv"] for r in rows})
        if foreign:
            warnings.warn(f"the rubric judge cannot read {foreign} of {len({r['cv'] for r in rows})} CVs (no skill, "
                          f"city or salary of the synthetic world): its relevance verdict reads that world's hidden "
                          f"recruiter, so on these pairs it judges noise. Use an LLM judge (judge.backend=openai or hf) "
                          f"for CVs from elsewhere.", stacklevel=2)
    cache = ReplyCache(cache_path, valid=parses)
    jobs = [(i, order) for i in range(len(rows)) for order in ("xy", "yx")]

    def triple(job) -> tuple[str, str, str]:
        r = rows[job[0]]
        return (r["cv"], r["jd_a"], r["jd_b"]) if job[1] == "xy" else (r["cv"], r["jd_b"], r["jd_a"])

    def run(job):
        return _judge_order(backend, cache, *triple(job))

    results = {}
    workers = max(1, int(getattr(backend, "max_concurrency", 1)))
    batch_size = int(getattr(backend, "batch_size", 1)) if hasattr(backend, "judge_batch") else 1
    with tqdm(total=len(jobs), desc="judge", disable=not progress, leave=False) as bar:
        if batch_size > 1:
            results = dict(zip(jobs, _judge_batched(backend, cache, [triple(j) for j in jobs], batch_size, bar)))
        elif workers == 1:
            for job in jobs:
                results[job] = run(job)
                bar.update(1)
        else:
            pool = ThreadPoolExecutor(max_workers=workers)
            futures = {pool.submit(run, job): job for job in jobs}
            try:
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(1)
            finally:  # on an error: drop queued requests, let running ones finish (and be cached)
                pool.shutdown(wait=True, cancel_futures=True)
    out = []
    for i, r in enumerate(rows):
        cv_id = r.get("cv_id") or "cv-" + hashlib.sha256(r["cv"].encode("utf-8")).hexdigest()[:12]
        item = {"cv_id": cv_id, "sample": r.get("sample", 0)}
        for order in ("xy", "yx"):
            verdict, reply, error = results[(i, order)]
            item.update({order: verdict, f"reply_{order}": reply, f"error_{order}": error})
        out.append(item)
    return out


def judge_pairs(rows, backend, cache_path=None, n_bootstrap: int = 1000, seed: int = 0,
                progress: bool = True) -> dict:
    """Judge ``rows`` (``cv``, ``jd_a``, ``jd_b``) in both orders and aggregate: the REPORT of
    :func:`aggregate`, where ``win`` means ``jd_a`` is better."""
    verdicts = judge_verdicts(rows, backend, cache_path=cache_path, progress=progress)
    return _usable(aggregate(verdicts, n_bootstrap=n_bootstrap, seed=seed, backend=backend.name), backend.name)


def _usable(report: dict, backend_name: str, what: str = "the pairs") -> dict:
    """``report``, or a clear error when not one pair got a readable verdict in both orders."""
    if not report["n"]:
        raise GirlError(f"no usable verdict for {what}: all {report['parse_errors']} pairs got unreadable replies from "
                        f"{backend_name} (see the verdicts' error_xy / error_yx). Nothing unreadable was cached, so a "
                        f"rerun asks again; check the server, the model name and that it follows the verdict format")
    return report


def read_pairs(pairs_path) -> list[dict]:
    """Rows of a pairs JSONL file, each checked for ``cv``, ``jd_a``, ``jd_b``."""
    path = Path(pairs_path)
    if not path.exists():
        raise GirlError(f"pairs file {path} not found; it needs one JSON object per line with cv, jd_a, jd_b")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise GirlError(f"{path}, line {n}: not valid JSON ({e.msg})") from None
        rows.append(_check_row(row, f"{path}, line {n}"))
    if not rows:
        raise GirlError(f"pairs file {path} holds no rows")
    return rows


def judge_file(pairs_path, out_path, backend, cache_path=None, n_bootstrap: int = 1000, seed: int = 0,
               progress: bool = True) -> dict:
    """Judge the pairs of a JSONL file and write the REPORT to ``out_path`` (atomically).

    Replies are cached at ``cache_path`` (default: ``<out_path without suffix>.cache.jsonl``), so an
    interrupted run resumes.
    """
    rows = read_pairs(pairs_path)
    out_path = Path(out_path)
    cache_path = cache_path or out_path.with_suffix(".cache.jsonl")
    report = judge_pairs(rows, backend, cache_path=cache_path, n_bootstrap=n_bootstrap, seed=seed,
                         progress=progress)
    atomic_write_json(out_path, report)
    return report


def run_judge(cfg, run_dir, backend=None, progress: bool = True) -> dict:
    """Judge the run's generations on ``judge_eval`` CVs (sample 0) for every pair of :data:`PAIRS`
    whose two models were generated. Writes ``judge/<pair>.json``, ``judge/<pair>.verdicts.jsonl``,
    ``judge/metrics.json`` ({pair: report}), ``judge/table.md``, caches replies in
    ``judge/cache.jsonl`` (resume), then marks the stage done. ``backend`` defaults to
    ``make_backend(cfg.judge, cfg)``."""
    validate_profile(cfg)  # before any work, also when a field was set by hand after the profile was built
    require_stage(run_dir, "generate", "judge")
    run_dir = Path(run_dir)
    out_dir = run_dir / "judge"
    split = load_data(run_dir)["judge_eval"]
    cvs = {str(sid): cv for sid, cv in zip(split["seeker_id"], split["cv"])}
    present = set(generated_models(run_dir, cfg.generate.models))  # what generate recorded, each file checked
    pairs = [p for p in PAIRS if p[1] in present and p[2] in present]
    if not pairs:
        raise GirlError(f"judge needs generations of at least two of base, sft, girl in {run_dir / 'generate'} "
                        f"(the generate stage made: {', '.join(sorted(present)) or 'none'}); set generate.models "
                        f"and run `girl generate --run-dir {run_dir}`")
    gens = {k: load_generations(run_dir, k, "judge_eval") for k in present}
    backend = backend or make_backend(cfg.judge, cfg)
    metrics = {}
    for name, x, y in pairs:
        # JD k of x against JD k of y, for every k both models have (generate.judge_samples); pairs of one CV
        # share its cv_id, so the bootstrap resamples CVs, not pairs.
        rows = [{"cv_id": cid, "sample": k, "cv": cv, "jd_a": gens[x][cid][k], "jd_b": gens[y][cid][k]}
                for cid, cv in cvs.items() for k in range(min(len(gens[x].get(cid, [])), len(gens[y].get(cid, []))))]
        if not rows:
            raise GirlError(f"no judge_eval CV has generations from both '{x}' and '{y}' in {run_dir / 'generate'}; "
                            f"rerun `girl generate --run-dir {run_dir}`")
        verdicts = judge_verdicts(rows, backend, cache_path=out_dir / "cache.jsonl", progress=progress)
        report = aggregate(verdicts, n_bootstrap=cfg.judge.n_bootstrap, seed=cfg.judge.seed, backend=backend.name)
        atomic_write_text(out_dir / f"{name}.verdicts.jsonl",
                          "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in verdicts))
        _usable(report, backend.name, name)
        atomic_write_json(out_dir / f"{name}.json", report)
        metrics[name] = report
    atomic_write_json(out_dir / "metrics.json", metrics)
    atomic_write_text(out_dir / "table.md", render_judge_table(metrics, backend.name))
    mark_done(run_dir, "judge", {"backend": backend.name, "pairs": list(metrics)}, cfg=cfg)
    return metrics
