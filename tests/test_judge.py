"""Tests of girl_lib.judge: verdict parsing, order-swap aggregation, bootstrap, the OpenAI backend against
a stand-in server on 127.0.0.1, the rubric judge, judge_file and run_judge."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import types
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai
import pytest

from girl_lib import judge as J
from girl_lib.runio import GirlError, mark_done, read_jsonl

FIXTURE = Path(__file__).parent / "fixtures" / "judge_pairs.jsonl"
SECRET = "sk-test-DO-NOT-LEAK-1234567890"


def verdict(d="A", r=None, c=None, o=None) -> dict:
    return {"detail": d, "relevance": r or d, "conciseness": c or d, "overall": o or d}


def reply(d="A", r=None, c=None, o=None) -> str:
    return "Some explanation first.\n" + J.format_verdict(verdict(d, r, c, o))


def overlap_fit(cv: str, jd: str) -> float:
    """Stand-in for data.oracle_fit: share of the CV's words that the JD mentions."""
    cv_w = set(re.findall(r"[a-z]+", cv.lower()))
    jd_w = set(re.findall(r"[a-z]+", jd.lower()))
    return len(cv_w & jd_w) / max(1, len(cv_w))


FIX_ROWS = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
CV, GOOD_JD, GARBAGE_JD = FIX_ROWS[0]["cv"], FIX_ROWS[0]["jd_a"], FIX_ROWS[0]["jd_b"]


# =========================================================================== parsing
def test_parse_valid_with_markdown_and_explanations():
    text = ("Relevance: JD A mentions Java, which the seeker knows.\n"
            "**Detail:** [[A]]\n- Relevance: [[b]]\nConciseness and readability: [[C]]\n### Overall: [[A]]")
    assert J.parse_verdict(text) == {"detail": "A", "relevance": "B", "conciseness": "C", "overall": "A"}


def test_parse_ignores_template_echo_and_repeated_same_token():
    text = "Detail: [[X]]\nDetail: [[B]] [[B]]\nRelevance: [[A]]\nConciseness: [[B]]\nFinal verdict: [[B]]\nDetail: [[B]]"
    assert J.parse_verdict(text) == {"detail": "B", "relevance": "A", "conciseness": "B", "overall": "B"}


def test_parse_missing_aspect_names_it():
    with pytest.raises(J.VerdictParseError, match="Overall"):
        J.parse_verdict("Detail: [[A]]\nRelevance: [[A]]\nConciseness: [[A]]")


def test_parse_two_tokens_on_one_line():
    with pytest.raises(J.VerdictParseError, match="different verdicts"):
        J.parse_verdict("Detail: [[A]] or maybe [[B]]\nRelevance: [[A]]\nConciseness: [[A]]\nOverall: [[A]]")


def test_parse_conflicting_lines_and_garbage():
    with pytest.raises(J.VerdictParseError):
        J.parse_verdict(reply("A") + "\nOverall: [[B]]")
    for bad in ("", "   ", "Both are fine. [[A]]", "Detail: A\nRelevance: A\nConciseness: A\nOverall: A"):
        with pytest.raises(J.VerdictParseError):
            J.parse_verdict(bad)
    assert issubclass(J.VerdictParseError, GirlError)


def test_messages_hold_cv_and_both_jds_and_round_trip():
    msgs = J.build_judge_messages(CV, GOOD_JD, GARBAGE_JD)
    assert [m["role"] for m in msgs] == ["system", "user"]
    for words in ("Level of detail", "Relevance", "Conciseness", "[[X]]"):
        assert words in msgs[1]["content"]
    with pytest.raises(J.VerdictParseError):  # the template's own "Detail: [[X]]" lines are no verdict
        J.parse_verdict(J.JUDGE_PROMPT)
    assert J.split_judge_messages(msgs) == (CV.strip(), GOOD_JD.strip(), GARBAGE_JD.strip())
    with pytest.raises(GirlError, match="cv"):
        J.build_judge_messages("  ", GOOD_JD, GARBAGE_JD)


# =========================================================================== aggregation
def test_aggregate_order_swap_rules():
    pairs = [
        {"cv_id": 1, "xy": verdict("A"), "yx": verdict("B")},  # both orders prefer x -> win
        {"cv_id": 2, "xy": verdict("A"), "yx": verdict("A")},  # position bias -> tie, flip
        {"cv_id": 3, "xy": verdict("C"), "yx": verdict("C")},  # tie, no flip
        {"cv_id": 4, "xy": verdict("B"), "yx": verdict("A")},  # both prefer y -> lose
        {"cv_id": 5, "xy": verdict("A"), "yx": None},          # parse error: never a win
        (verdict("A", r="B"), verdict("B", r="A", o="C")),      # tuple form, mixed aspects
    ]
    rep = J.aggregate(pairs, n_bootstrap=200, seed=0, backend="hand")
    assert list(rep)[:11] == ["win", "tie", "lose", "adv", "adv_ci", "flip_rate", "parse_errors", "n",
                              "n_cvs", "backend", "aspects"]
    assert rep["n"] == 5 and rep["n_cvs"] == 5 and rep["parse_errors"] == 1 and rep["backend"] == "hand"
    # overall: win (1), tie (2), tie (3), lose (4), x-says-A vs y-says-C -> disagree -> tie (6)
    assert (rep["win"], rep["tie"], rep["lose"]) == (0.2, 0.6, 0.2)
    assert rep["adv"] == 0.0 and rep["flip_rate"] == 0.4
    det, rel = rep["aspects"]["detail"], rep["aspects"]["relevance"]
    assert (det["win"], det["lose"], det["flip_rate"]) == (0.4, 0.2, 0.2)
    assert (rel["win"], rel["lose"], rel["flip_rate"]) == (0.2, 0.4, 0.2)  # pair 6: both orders prefer y
    assert det["parse_errors"] == 1 and det["n"] == 5


def test_aggregate_only_parse_errors_and_bad_input():
    rep = J.aggregate([(None, verdict("A")), (verdict("A"), None)], n_bootstrap=50)
    assert rep["n"] == 0 and rep["parse_errors"] == 2 and rep["win"] is None and rep["adv_ci"] is None
    with pytest.raises(GirlError, match="verdict pair 0"):
        J.aggregate([({"detail": "A"}, verdict("A"))])


def _pattern(n_cvs: int) -> list:
    out = []
    for i in range(n_cvs):  # 50% win, 25% tie, 25% lose -> adv 0.25
        kind = ("A", "B") if i % 4 < 2 else ("C", "C") if i % 4 == 2 else ("B", "A")
        out.append({"cv_id": i, "xy": verdict(kind[0]), "yx": verdict(kind[1])})
    return out


def test_bootstrap_contains_estimate_shrinks_and_is_seeded():
    small = J.aggregate(_pattern(40), n_bootstrap=400, seed=1)
    big = J.aggregate(_pattern(400), n_bootstrap=400, seed=1)
    for rep in (small, big):
        lo, hi = rep["adv_ci"]
        assert rep["adv"] == 0.25 and lo < 0.25 < hi
    assert (big["adv_ci"][1] - big["adv_ci"][0]) < 0.6 * (small["adv_ci"][1] - small["adv_ci"][0])
    assert J.aggregate(_pattern(40), n_bootstrap=400, seed=1)["adv_ci"] == small["adv_ci"]
    assert J.aggregate(_pattern(40), n_bootstrap=0)["adv_ci"] is None


def test_bootstrap_resamples_whole_cvs():
    # Every CV has one win and one lose: any resample of CVs gives adv exactly 0.
    items = [{"cv_id": i // 2, "xy": verdict("A" if i % 2 else "B"), "yx": verdict("B" if i % 2 else "A")}
             for i in range(20)]
    assert J.aggregate(items, n_bootstrap=100)["adv_ci"] == [0.0, 0.0]


# =========================================================================== stand-in OpenAI server
def completion(text: str) -> dict:
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": "judge",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class Stub:
    """``POST /v1/chat/completions`` on 127.0.0.1; ``respond(i, body) -> (status, payload[, headers])``."""

    def __init__(self, respond, delay_s: float = 0.0):
        self.respond, self.delay_s = respond, delay_s
        self.requests, self.inflight, self.max_inflight = [], 0, 0
        self.lock = threading.Lock()

    @property
    def n(self) -> int:
        return len(self.requests)


@contextmanager
def stub_server(respond, delay_s: float = 0.0):
    stub = Stub(respond, delay_s)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with stub.lock:
                i = len(stub.requests)
                stub.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body,
                                      "t": time.monotonic()})
                stub.inflight += 1
                stub.max_inflight = max(stub.max_inflight, stub.inflight)
            time.sleep(stub.delay_s)
            out = stub.respond(i, body)
            status, payload, headers = (out + ({},))[:3]
            data = json.dumps(payload).encode()
            with stub.lock:
                stub.inflight -= 1
            try:
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


def prefers_marker(i, body):
    """A consistent judge: prefers the JD that contains 'GOOD'."""
    cv, jd_a, jd_b = J.split_judge_messages(body["messages"])
    return 200, completion(reply("A" if "GOOD" in jd_a else "B" if "GOOD" in jd_b else "C"))


def rows(n: int) -> list[dict]:
    return [{"cv_id": f"c{i}", "cv": f"CV number {i}: Python developer", "jd_a": f"GOOD JD {i}",
             "jd_b": f"weak JD {i}"} for i in range(n)]


def oai(url, **kw):
    args = dict(timeout_s=5, max_retries=2, max_concurrency=2)
    args.update(kw)
    return J.OpenAIJudge(url, "judge-model", **args)


SOON = {"retry-after-ms": "1"}
"""The openai client waits what a server's ``retry-after-ms`` says (here 1 ms) instead of its own backoff."""


def error(status: int, message: str = "error", headers: dict | None = None) -> tuple:
    return status, {"error": {"message": message, "type": "error"}}, SOON if headers is None else headers


MESSAGES = J.build_judge_messages("cv", "a", "b")


@pytest.fixture
def secret_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


@pytest.fixture
def fast_backoff(monkeypatch):
    """The client's own backoff (0.5 s doubling, used when no Retry-After came: timeouts, connection errors)
    shrunk to a millisecond, in this test only."""
    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.001)
    monkeypatch.setattr(openai._base_client, "MAX_RETRY_DELAY", 0.002)


def test_openai_consistent_judge_wins_and_sends_key_and_temperature_0(secret_key, tmp_path):
    with stub_server(prefers_marker) as s:
        rep = J.judge_pairs(rows(3), oai(s.url), cache_path=tmp_path / "c.jsonl", n_bootstrap=50, progress=False)
    assert s.n == 6 and all(r["path"] == "/v1/chat/completions" for r in s.requests)
    assert all(r["auth"] == f"Bearer {SECRET}" for r in s.requests)
    assert all(r["body"]["temperature"] == 0 and r["body"]["model"] == "judge-model" for r in s.requests)
    assert rep["win"] == 1.0 and rep["flip_rate"] == 0.0 and rep["n"] == 3
    assert rep["backend"] == "openai:judge-model"


def test_openai_position_biased_server_gives_ties_and_flip_rate_1(secret_key):
    with stub_server(lambda i, b: (200, completion(reply("A")))) as s:
        rep = J.judge_pairs(rows(3), oai(s.url), n_bootstrap=50, progress=False)
    assert s.n == 6
    assert (rep["win"], rep["tie"], rep["lose"], rep["flip_rate"]) == (0.0, 1.0, 0.0, 1.0)
    assert all(rep["aspects"][a]["flip_rate"] == 1.0 for a in J.ASPECTS)


def test_openai_garbage_is_retried_once_then_a_parse_error(secret_key):
    with stub_server(lambda i, b: (200, completion("Both JDs look fine to me."))) as s:
        verdicts = J.judge_verdicts(rows(2), oai(s.url), progress=False)
        rep = J.aggregate(verdicts)
    assert s.n == 8  # 2 pairs x 2 orders x (first try + one retry)
    retries = [r for r in s.requests if len(r["body"]["messages"]) == 4]
    assert len(retries) == 4 and all("could not be read" in r["body"]["messages"][-1]["content"] for r in retries)
    assert rep["parse_errors"] == 2 and rep["n"] == 0 and rep["win"] is None
    assert verdicts[0]["xy"] is None and "no verdict" in verdicts[0]["error_xy"]


def test_openai_retry_fixes_a_bad_first_reply(secret_key):
    def respond(i, body):
        return 200, completion("hmm" if len(body["messages"]) == 2 else reply("A"))  # fixed on the retry

    with stub_server(respond) as s:
        rep = J.judge_pairs(rows(1), oai(s.url, max_concurrency=1), n_bootstrap=10, progress=False)
    assert s.n == 4 and rep["parse_errors"] == 0 and rep["n"] == 1 and rep["tie"] == 1.0


def test_openai_429_then_success_is_retried(secret_key):
    def respond(i, body):
        return error(429, "rate limited") if i < 2 else prefers_marker(i, body)

    with stub_server(respond) as s:
        rep = J.judge_pairs(rows(2), oai(s.url, max_concurrency=1), n_bootstrap=10, progress=False)
    assert s.n == 4 + 2 and rep["win"] == 1.0 and rep["parse_errors"] == 0


def test_openai_5xx_exhausts_retries_keeps_cache_and_resumes_for_free(secret_key, tmp_path):
    cache = tmp_path / "cache.jsonl"
    with stub_server(lambda i, b: prefers_marker(i, b) if i < 3 else error(503, "down")) as s:
        with pytest.raises(GirlError) as err:
            J.judge_pairs(rows(3), oai(s.url, max_concurrency=1, max_retries=1), cache_path=cache, progress=False)
    assert s.n == 3 + 2 and s.url in str(err.value) and "failed after 2 attempts (HTTP 503)" in str(err.value)
    assert "judge.base_url" in str(err.value) and "kept in the cache" in str(err.value)
    assert len(read_jsonl(cache)) == 3  # the replies before the outage stay
    with stub_server(prefers_marker) as s:
        first = J.judge_pairs(rows(3), oai(s.url), cache_path=cache, n_bootstrap=50, progress=False)
    assert s.n == 3  # only the missing three orders
    with cache.open("a") as f:  # a kill mid-write leaves a torn last line
        f.write('{"key": "abc", "rep')
    with stub_server(prefers_marker) as s:
        again = J.judge_pairs(rows(3), oai(s.url), cache_path=cache, n_bootstrap=50, progress=False)
    assert s.n == 0 and again == first and first["win"] == 1.0
    text = cache.read_text()
    assert SECRET not in text and "Bearer" not in text
    assert all(set(r) == {"key", "model", "reply"} for r in read_jsonl(cache))


@pytest.mark.parametrize("status", [408, 409, 429, 500, 503])
@pytest.mark.parametrize("max_retries", [0, 3])
def test_openai_persistent_retryable_error_makes_exactly_max_retries_plus_1_attempts(secret_key, status, max_retries):
    with stub_server(lambda i, b: error(status)) as s:
        with pytest.raises(GirlError) as err:
            oai(s.url, max_retries=max_retries).judge(MESSAGES)
    attempts = max_retries + 1
    assert s.n == attempts
    assert f"failed after {attempts} attempt{'s' * (attempts > 1)} (HTTP {status})" in str(err.value)
    assert s.url in str(err.value) and err.value.__cause__ is None


@pytest.mark.parametrize("failures, max_retries, ok", [(1, 1, True), (3, 3, True), (3, 2, False)])
def test_openai_succeeds_after_k_failures_within_the_retries(secret_key, failures, max_retries, ok):
    def respond(i, body):
        return error(500 if i % 2 else 429) if i < failures else (200, completion(reply("B")))

    with stub_server(respond) as s:
        if ok:
            assert J.parse_verdict(oai(s.url, max_retries=max_retries).judge(MESSAGES)) == verdict("B")
        else:
            with pytest.raises(GirlError, match=f"failed after {max_retries + 1} attempts"):
                oai(s.url, max_retries=max_retries).judge(MESSAGES)
    assert s.n == min(failures + 1, max_retries + 1)


def test_openai_waits_as_long_as_the_servers_retry_after(secret_key, fast_backoff):  # own backoff: 1 ms
    with stub_server(lambda i, b: error(429, headers={"retry-after-ms": "300"}) if i == 0 else
                     (200, completion(reply("A")))) as s:
        oai(s.url).judge(MESSAGES)
    assert s.n == 2 and s.requests[1]["t"] - s.requests[0]["t"] >= 0.3


def test_openai_retry_after_beyond_two_minutes_is_not_retried_and_is_counted(secret_key):
    with stub_server(lambda i, b: error(429, headers={"Retry-After": "3600"})) as s:
        with pytest.raises(GirlError) as err:
            oai(s.url, max_retries=3).judge(MESSAGES)
    assert s.n == 1 and "failed after 1 attempt (HTTP 429, Retry-After: 3600)" in str(err.value)


def _free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_openai_unreachable_is_retried_and_names_url_not_key(secret_key, fast_backoff, tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    t0 = time.time()
    with pytest.raises(GirlError) as err:
        J.judge_pairs(rows(2), oai(url, max_retries=2), cache_path=tmp_path / "c.jsonl", progress=False)
    msg = str(err.value)
    assert url in msg and "failed after 3 attempts (could not connect)" in msg and SECRET not in msg
    assert "judge.base_url" in msg and time.time() - t0 < 10
    assert SECRET not in repr(oai(url))


def test_openai_dropped_connections_are_retried(secret_key, fast_backoff):
    """A server that accepts and hangs up at once: every attempt is one accepted connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        with pytest.raises(GirlError, match=r"failed after 3 attempts \(could not connect\)"):
            oai(f"http://127.0.0.1:{server.getsockname()[1]}/v1", max_retries=2).judge(MESSAGES)
    finally:
        server.close()
    assert len(accepted) == 3


@pytest.mark.parametrize("status", [401, 403])
def test_openai_bad_key_fails_fast_without_echoing_it(secret_key, status):
    with stub_server(lambda i, b: error(status, f"Incorrect API key provided: {SECRET}")) as s:
        with pytest.raises(GirlError) as err:
            J.judge_pairs(rows(1), oai(s.url, max_concurrency=1, max_retries=3), progress=False)
    msg = str(err.value)
    assert s.n == 1 and f"HTTP {status}" in msg and "OPENAI_API_KEY" in msg and s.url in msg
    assert SECRET not in msg and err.value.__cause__ is None and err.value.__suppress_context__


def test_openai_400_is_not_retried_names_model_and_scrubs_the_key(secret_key):
    with stub_server(lambda i, b: error(400, f"bad request from key {SECRET}")) as s:
        with pytest.raises(GirlError) as err:
            oai(s.url, max_retries=3).judge(MESSAGES)
    msg = str(err.value)
    assert s.n == 1 and "HTTP 400" in msg and "'judge-model'" in msg and "bad request from key ***" in msg
    assert SECRET not in msg and "/v1" not in msg.replace(s.url, "") and err.value.__cause__ is None


def test_openai_404_is_not_retried_and_hints_at_v1(secret_key):
    with stub_server(lambda i, b: error(404, "model 'judge-model' not found")) as s:
        with pytest.raises(GirlError, match="end in /v1") as err:
            oai(s.url, max_retries=3).judge(MESSAGES)
    assert s.n == 1 and s.url in str(err.value) and "not found" in str(err.value)


def test_openai_timeout_is_retried_then_fails(secret_key, fast_backoff):
    with stub_server(lambda i, b: (200, completion(reply("A"))), delay_s=0.5) as s:
        with pytest.raises(GirlError, match=r"failed after 2 attempts \(no answer within 0.1 s\)"):
            oai(s.url, timeout_s=0.1, max_retries=1).judge(MESSAGES)
    assert s.n == 2


def test_openai_timeout_then_success(secret_key, fast_backoff):
    def respond(i, body):
        time.sleep(0.5 if i == 0 else 0.0)  # only the first request outlasts the timeout
        return 200, completion(reply("C"))

    with stub_server(respond) as s:
        assert J.parse_verdict(oai(s.url, timeout_s=0.2, max_retries=1).judge(MESSAGES)) == verdict("C")
    assert s.n == 2


def test_openai_concurrency_limit_and_placeholder_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with stub_server(prefers_marker, delay_s=0.05) as s:
        J.judge_pairs(rows(4), oai(s.url, max_concurrency=2), n_bootstrap=10, progress=False)
    assert s.n == 8 and s.max_inflight == 2
    assert all(r["auth"] == "Bearer EMPTY" for r in s.requests)


# =========================================================================== rubric judge
def test_rubric_prefers_fitting_structured_jd_on_every_aspect():
    rubric = J.RubricJudge(fit_fn=overlap_fit)
    assert "not an LLM" in rubric.name
    ab = J.parse_verdict(rubric.judge(J.build_judge_messages(CV, GOOD_JD, GARBAGE_JD)))
    ba = J.parse_verdict(rubric.judge(J.build_judge_messages(CV, GARBAGE_JD, GOOD_JD)))
    assert ab == verdict("A") and ba == verdict("B")
    rep = J.judge_pairs([{"cv": CV, "jd_a": GOOD_JD, "jd_b": GARBAGE_JD}], rubric, n_bootstrap=10, progress=False)
    assert rep["win"] == 1.0 and rep["flip_rate"] == 0.0 and rep["backend"] == rubric.name


def test_rubric_scores_measure_what_they_claim():
    # GOOD_JD: both sections, 2 skill lines (of 3-5: 2/3), years, a band, a city, a degree: 1 - 0.3 / 3
    assert J.detail_score(GOOD_JD) == pytest.approx(0.9) and J.detail_score(GARBAGE_JD) < 0.2
    assert J.distinct_ngram_ratio("a b c d e") == 1.0 and J.distinct_ngram_ratio("x y " * 20) < 0.1
    assert J.conciseness_score(GOOD_JD) == 1.0  # 60-110 words, no repetition, clean layout
    assert J.conciseness_score(GOOD_JD + "\n" + GOOD_JD) < 0.5  # repeated text, repeated headers
    assert J.conciseness_score("") == 0.0


def test_detail_reads_completeness_against_a_real_posting():
    from girl_lib.world import make_world

    real = [job.jd for job in make_world(0, 50, 50).jobs]
    assert all(J.detail_score(jd) >= 0.95 for jd in real)  # 0.95: a "competitive" salary, no band
    assert J.detail_score(real[0]) == pytest.approx(1.0)
    assert all(0.0 <= J.detail_score(jd) <= 1.0 for jd in real + [GOOD_JD, GARBAGE_JD, "", "x" * 50])
    assert J.detail_score("Requirements:\n- Python") == pytest.approx(0.1 + 0.3 / 3)  # one section, one line
    assert J.detail_score("") == 0.0
    head = ("Data Analyst\nLocation: Boston, MA | Salary: $60k–$80k\nResponsibilities:\n- Build reports\n"
            "Requirements:\n- 3+ years of experience\n- BSc in statistics\n")
    lines = ["SQL", "Tableau dashboards", "Python scripting", "Excel modelling", "Stakeholder management",
             "Forecasting", "A/B testing", "Data cleaning", "Looker", "Airflow", "dbt", "Spark"]
    score = {n: J.detail_score(head + "\n".join(f"- {x}" for x in lines[:n])) for n in (1, 3, 5, 8, 12)}
    assert score[3] == score[5] == pytest.approx(1.0)  # every part present, 3-5 skill lines
    assert score[1] == pytest.approx(1.0 - 0.3 * 2 / 3)  # 1 of 3 lines
    assert score[8] == pytest.approx(1.0 - 0.3 * 3 / 5) and score[12] == pytest.approx(0.7)  # a longer list is less real
    parts = J.detail_parts(head.replace("$60k–$80k", "competitive") + "- Nice to have: Looker\n- SQL")
    assert parts["salary"] == 0.5 and parts["requirements"] == pytest.approx(1 / 3)  # nice-to-have lines do not count
    assert sum(J.DETAIL_WEIGHTS.values()) == pytest.approx(1.0)


def test_rubric_is_position_invariant_and_deterministic():
    rubric = J.RubricJudge(fit_fn=overlap_fit)
    jds = [GOOD_JD, GARBAGE_JD, "", FIX_ROWS[1]["jd_a"], FIX_ROWS[1]["jd_b"], FIX_ROWS[2]["jd_a"],
           GOOD_JD.replace("\n", " "), GOOD_JD[:200]]
    mirror = {"A": "B", "B": "A", "C": "C"}
    for a in jds:
        for b in jds:
            ab = J.parse_verdict(rubric.judge(J.build_judge_messages(CV, a, b)))
            ba = J.parse_verdict(rubric.judge(J.build_judge_messages(CV, b, a)))
            assert ba == {k: mirror[v] for k, v in ab.items()}
    msgs = J.build_judge_messages(CV, jds[3], jds[6])
    assert rubric.judge(msgs) == rubric.judge(msgs)
    rep = J.judge_pairs([{"cv": CV, "jd_a": a, "jd_b": b} for a in jds for b in jds], rubric,
                        n_bootstrap=10, progress=False)
    assert rep["flip_rate"] == 0.0 and all(rep["aspects"][k]["flip_rate"] == 0.0 for k in J.ASPECTS)
    assert rep["parse_errors"] == 0


# =========================================================================== judge_file, make_backend
def test_judge_file_writes_report(tmp_path):
    out = tmp_path / "REPORT.json"
    rep = J.judge_file(FIXTURE, out, J.RubricJudge(fit_fn=overlap_fit), n_bootstrap=20, progress=False)
    assert json.loads(out.read_text()) == rep
    assert set(rep["aspects"]) == set(J.ASPECTS) and rep["n"] == 3
    # fixture rows: jd_a fits and is complete (demo-1, demo-2); jd_b is the matching designer JD (demo-3)
    assert (rep["win"], rep["tie"], rep["lose"]) == (pytest.approx(2 / 3), 0.0, pytest.approx(1 / 3))
    assert rep["aspects"]["relevance"]["lose"] == pytest.approx(1 / 3) and rep["flip_rate"] == 0.0
    assert (tmp_path / "REPORT.cache.jsonl").exists()


def test_judge_file_bad_rows_name_line_and_field(tmp_path):
    bad = tmp_path / "pairs.jsonl"
    bad.write_text(json.dumps({"cv": "x", "jd_a": "y", "jd_b": "z"}) + "\n" + json.dumps({"cv": "x", "jd_a": "y"}) + "\n")
    with pytest.raises(GirlError, match=r"line 2: missing field 'jd_b'"):
        J.judge_file(bad, tmp_path / "r.json", J.RubricJudge(fit_fn=overlap_fit))
    bad.write_text("{not json\n")
    with pytest.raises(GirlError, match="line 1: not valid JSON"):
        J.judge_file(bad, tmp_path / "r.json", J.RubricJudge(fit_fn=overlap_fit))
    with pytest.raises(GirlError, match="not found"):
        J.judge_file(tmp_path / "missing.jsonl", tmp_path / "r.json", J.RubricJudge(fit_fn=overlap_fit))


def test_make_backend():
    from girl_lib.config import JudgeConfig

    assert isinstance(J.make_backend(JudgeConfig()), J.RubricJudge)
    with pytest.raises(GirlError, match="judge.model"):
        J.make_backend(JudgeConfig(backend="openai"))
    b = J.make_backend(JudgeConfig(backend="openai", base_url="http://127.0.0.1:9/v1", model="m", max_concurrency=3))
    assert isinstance(b, J.OpenAIJudge) and b.max_concurrency == 3 and b.base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(GirlError, match="unknown judge.backend"):
        J.make_backend(JudgeConfig(backend="gpt"))


def test_make_backend_hf_passes_batch_size(monkeypatch):
    from girl_lib.config import JudgeConfig

    monkeypatch.setattr(J.backends, "load_generator", lambda name, cfg=None: (FakeLM(), FakeTokenizer()))
    assert JudgeConfig().batch_size == 8
    b = J.make_backend(JudgeConfig(backend="hf", model="m", max_new_tokens=7, batch_size=3))
    assert isinstance(b, J.HFJudge) and b.batch_size == 3 and b.max_new_tokens == 7
    for bad in (0, -2, 2.5, True):
        with pytest.raises(GirlError, match="batch_size"):
            J.make_backend(JudgeConfig(backend="hf", model="m", batch_size=bad))


class FakeTokenizer:
    pad_token_id = 0
    padding_side = "right"

    def __init__(self):
        self.padded = []  # padding_side at each padded (batch) call

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        assert add_generation_prompt and not tokenize
        return "|".join(m["content"] for m in messages) + "|assistant:"

    def __call__(self, text, return_tensors=None, add_special_tokens=True, padding=False):
        import torch

        if padding:
            self.padded.append(self.padding_side)
        ids = torch.tensor([[1] * 5] * (len(text) if isinstance(text, list) else 1))
        return types.SimpleNamespace(**{"input_ids": ids}, to=lambda device: {"input_ids": ids})

    def decode(self, ids, skip_special_tokens=False):
        assert [int(i) for i in ids] == [7]  # only the generated tokens, not the prompt
        return reply("A")


class FakeLM:
    """Greedy 'model': answers [[A]] to a short prompt (5 tokens, as FakeTokenizer gives)."""

    def __init__(self):
        import torch

        self.calls, self._p = [], torch.nn.Parameter(torch.zeros(1))

    def eval(self):
        return self

    def parameters(self):
        return iter([self._p])

    def generate(self, input_ids, **kw):
        import torch

        self.calls.append(kw)
        return torch.cat([input_ids, torch.full((len(input_ids), 1), 7)], dim=1)


def test_hf_judge_decodes_greedily_and_only_new_tokens():
    lm, tok = FakeLM(), FakeTokenizer()
    hf = J.HFJudge("fake-model", model=lm, tokenizer=tok, max_new_tokens=33)
    assert J.parse_verdict(hf.judge(J.build_judge_messages(CV, GOOD_JD, GARBAGE_JD))) == verdict("A")
    assert lm.calls == [{"do_sample": False, "max_new_tokens": 33, "pad_token_id": 0}]
    rep = J.judge_pairs(FIX_ROWS[:2], hf, n_bootstrap=10, progress=False)  # always "A": position bias
    assert rep["flip_rate"] == 1.0 and rep["backend"] == "hf:fake-model"
    # default batch_size 8: the 4 requests went out in one greedy, left-padded generate call
    assert hf.batch_size == 8 and lm.calls[1:] == [{"do_sample": False, "max_new_tokens": 33, "pad_token_id": 0}]
    assert tok.padded == ["left"] and tok.padding_side == "right"  # restored after the call


def test_hf_judge_runs_offline_on_tiny_model():
    hf = J.HFJudge("tiny", max_new_tokens=4)
    verdicts = J.judge_verdicts(FIX_ROWS[:1], hf, progress=False)
    rep = J.aggregate(verdicts, n_bootstrap=10, backend=hf.name)
    assert rep["parse_errors"] + rep["n"] == 1 and rep["backend"] == "hf:tiny"
    if rep["n"] == 0:  # a random tiny model writes no verdict: judging it is an error, not an empty table
        with pytest.raises(GirlError, match="no usable verdict"):
            J.judge_pairs(FIX_ROWS[:1], hf, n_bootstrap=10, progress=False)


@pytest.fixture(scope="module")
def chatty_lm(tiny_generator):
    """(model, tokenizer): a random 2-layer Llama on the tiny tokenizer whose greedy text depends on the prompt.
    The shared tiny model repeats one whitespace token whatever it reads, so it cannot show a padding bug."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tiny_generator[1]
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         initializer_range=0.2, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id)
    return LlamaForCausalLM(config).eval(), tok


def test_hf_judge_batch_gives_the_serial_greedy_replies_on_prompts_of_different_lengths(chatty_lm):
    model, tok = chatty_lm
    hf = J.HFJudge("chatty", model=model, tokenizer=tok, max_new_tokens=12, batch_size=4)
    batch = [J.build_judge_messages(r["cv"], r["jd_a"], r["jd_b"]) for r in FIX_ROWS]
    batch += [J.build_judge_messages("Short CV.", "JD one.", "JD two."), [{"role": "user", "content": "hi"}]]
    lengths = [len(tok(tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True),
                       add_special_tokens=False)["input_ids"]) for m in batch]
    assert len(set(lengths)) == len(batch)  # every prompt but the longest is padded
    serial = [hf.judge(m) for m in batch]
    assert all(serial) and len(set(serial)) == len(serial)  # real, prompt-dependent text
    side = tok.padding_side
    tok.padding_side = "right"
    try:
        assert hf.judge_batch(batch) == serial
        assert tok.padding_side == "right"  # restored
    finally:
        tok.padding_side = side
    assert hf.judge_batch([]) == []


def test_hf_batched_verdicts_equal_the_serial_ones(chatty_lm, monkeypatch):
    """Same model, batch_size 1 (one generate per request) against 4: identical rows. The random model writes
    no verdict, so every order is retried once, and the retries are batched too."""
    model, tok = chatty_lm
    serial = J.HFJudge("chatty", model=model, tokenizer=tok, max_new_tokens=10, batch_size=1)
    batched = J.HFJudge("chatty", model=model, tokenizer=tok, max_new_tokens=10, batch_size=4)
    batches = []
    real = batched.judge_batch
    monkeypatch.setattr(batched, "judge_batch", lambda b: batches.append(len(b)) or real(b))
    monkeypatch.setattr(batched, "judge", lambda m: pytest.fail("the batched path asked one by one"))
    want = J.judge_verdicts(FIX_ROWS, serial, progress=False)
    got = J.judge_verdicts(FIX_ROWS, batched, progress=False)
    assert got == want
    assert all(v[o] is None and v[f"error_{o}"] for v in got for o in ("xy", "yx"))  # retried, still unreadable
    assert batches == [4, 2, 4, 2]  # 6 first requests, then 6 retries


class ScriptedJudge:
    """A batching backend with fixed replies: pair 0 in order xy first answers unreadably, then fixes it on the
    retry; pair 1 in order yx stays unreadable; the rest answer [[A]]. Records every request and what the cache
    file held when each batch was sent."""

    name = cache_id = "scripted"
    max_concurrency = 1

    def __init__(self, batch_size: int, cache_path=None, delay_s: float = 0.0):
        self.batch_size, self.cache_path, self.delay_s = batch_size, cache_path, delay_s
        self.asked, self.batches, self.cached_at_send = [], [], []

    def _reply(self, messages) -> str:
        if len(messages) > 2:  # a retry: the first reply and the retry prompt follow the first request
            return reply("B") if "cannot decide" in messages[2]["content"] else "still no idea"
        cv, jd_a, jd_b = J.split_judge_messages(messages)
        if (jd_a, jd_b) == (FIX_ROWS[0]["jd_a"], FIX_ROWS[0]["jd_b"]):
            return "I cannot decide."
        return "no idea" if (jd_a, jd_b) == (FIX_ROWS[1]["jd_b"], FIX_ROWS[1]["jd_a"]) else reply("A")

    def judge(self, messages):
        self.asked.append(messages)
        return self._reply(messages)

    def judge_batch(self, batch):
        assert 0 < len(batch) <= self.batch_size
        path = self.cache_path
        self.cached_at_send.append(len(read_jsonl(path)) if path and path.exists() else 0)
        self.batches.append(len(batch))
        time.sleep(self.delay_s * len(batch))
        return [self.judge(m) for m in batch]


def test_batched_judging_asks_the_same_requests_caches_and_retries_as_the_serial_path(tmp_path, capsys):
    key = lambda m: json.dumps(m, sort_keys=True)  # noqa: E731
    serial = ScriptedJudge(batch_size=1)  # no batches: _judge_order, request by request
    want = J.judge_verdicts(FIX_ROWS, serial, cache_path=tmp_path / "serial.jsonl", progress=False)
    assert serial.batches == [] and len(serial.asked) == 8  # 6 first requests, 2 retries
    assert "requests left" not in capsys.readouterr().out

    cache = tmp_path / "batched.jsonl"
    batched = ScriptedJudge(batch_size=2, cache_path=cache, delay_s=0.05)
    got = J.judge_verdicts(FIX_ROWS, batched, cache_path=cache, progress=True)
    assert got == want
    assert sorted(map(key, batched.asked)) == sorted(map(key, serial.asked))
    assert got[0]["xy"] == verdict("B") and got[0]["error_xy"] is None  # fixed by its retry
    assert got[1]["yx"] is None and got[1]["reply_yx"] == "still no idea" and got[1]["error_yx"]
    assert batched.batches == [2, 2, 2, 2]  # 3 batches of first requests, 1 of the 2 retries
    assert batched.cached_at_send == [0, 1, 2, 4]  # each batch's readable replies were stored when it returned
    assert {r["key"] for r in read_jsonl(cache)} == {r["key"] for r in read_jsonl(tmp_path / "serial.jsonl")}
    assert len(read_jsonl(cache)) == 5 and "no idea" not in cache.read_text()  # unreadable: never cached
    out = capsys.readouterr().out
    m = re.search(r"(\d+) requests left after a first batch of 2, ([\d.]+) s per request measured: about "
                  r"([\d.]+) min", out)
    assert m and out.count("requests left") == 1, out
    assert int(m.group(1)) == 4 and 0.05 <= float(m.group(2)) < 1.0  # measured, not a constant

    # rerun: only never-cached unreadable replies are asked again (0/xy's cached retry reply is reused), as serially
    again, serial_again = ScriptedJudge(batch_size=2, cache_path=cache), ScriptedJudge(batch_size=1)
    assert J.judge_verdicts(FIX_ROWS, again, cache_path=cache, progress=False) == want
    assert J.judge_verdicts(FIX_ROWS, serial_again, cache_path=tmp_path / "serial.jsonl", progress=False) == want
    first_0xy = J.build_judge_messages(FIX_ROWS[0]["cv"], FIX_ROWS[0]["jd_a"], FIX_ROWS[0]["jd_b"])
    first_1yx = J.build_judge_messages(FIX_ROWS[1]["cv"], FIX_ROWS[1]["jd_b"], FIX_ROWS[1]["jd_a"])
    assert [m[:2] for m in again.asked] == [first_0xy, first_1yx, first_1yx] and again.batches == [2, 1]
    assert sorted(map(key, again.asked)) == sorted(map(key, serial_again.asked))
    assert len(read_jsonl(cache)) == 5


# =========================================================================== the stage
def _fake_judge_data(monkeypatch) -> dict:
    """The fixture CVs as the run's judge_eval split, the overlap fit as the oracle: ``{cv_id: cv}``."""
    cvs = {r["cv_id"]: r["cv"] for r in FIX_ROWS}
    # where the callers look them up: run_judge (judge.judging) and RubricJudge (judge.rubric)
    monkeypatch.setattr(J.judging, "load_data", lambda run_dir: {"judge_eval": {"cv": list(cvs.values()),
                                                                                "seeker_id": list(cvs)}})
    monkeypatch.setattr(J.rubric, "oracle_fit", overlap_fit)
    return cvs


def test_run_judge_writes_table_ii_analogue(tmp_path, monkeypatch):
    from girl_lib.config import get_profile

    cvs = _fake_judge_data(monkeypatch)
    cfg = get_profile("tiny")
    with pytest.raises(GirlError, match="generate"):
        J.run_judge(cfg, tmp_path, progress=False)

    good = {r["cv_id"]: (r["jd_b"] if r["cv_id"] == "demo-3" else r["jd_a"]) for r in FIX_ROWS}
    jds = {"girl": good, "sft": good, "base": {k: "sales sales sales sales" for k in cvs}}
    gen = tmp_path / "generate"
    gen.mkdir()
    for key, by_cv in jds.items():
        gen.joinpath(f"{key}.jsonl").write_text("".join(
            json.dumps({"subset": "judge_eval", "cv_id": k, "sample": 0, "jd": v, "n_tokens": 9, "finished": True})
            + "\n" for k, v in by_cv.items()))
    mark_done(tmp_path, "generate")
    metrics = J.run_judge(cfg, tmp_path, progress=False)  # default backend: rubric with the (fake) oracle

    assert list(metrics) == ["GIRL_vs_GIRL-SFT", "GIRL-SFT_vs_base", "GIRL_vs_base"]
    assert metrics["GIRL_vs_base"]["win"] == 1.0 and metrics["GIRL-SFT_vs_base"]["win"] == 1.0
    assert metrics["GIRL_vs_GIRL-SFT"]["tie"] == 1.0  # identical JDs
    judge_dir = tmp_path / "judge"
    assert json.loads((judge_dir / "metrics.json").read_text()) == metrics
    assert json.loads((judge_dir / "GIRL_vs_base.json").read_text()) == metrics["GIRL_vs_base"]
    assert len(read_jsonl(judge_dir / "GIRL_vs_base.verdicts.jsonl")) == 3
    table = (judge_dir / "table.md").read_text()
    assert "0.45/0.25/0.26/0.19" in table and "not an LLM" in table and "GIRL vs base | 1.00" in table
    assert (judge_dir / "DONE").exists() and (judge_dir / "cache.jsonl").exists()
    n_cached = len(read_jsonl(judge_dir / "cache.jsonl"))
    assert J.run_judge(cfg, tmp_path, progress=False) == metrics  # rerun: all from the cache
    assert len(read_jsonl(judge_dir / "cache.jsonl")) == n_cached


def test_run_judge_compares_every_sample_and_resamples_cvs(tmp_path, monkeypatch):
    """With k JDs per CV from GIRL and GIRL-SFT (generate.judge_samples), JD k meets JD k: k pairs per CV, one
    cluster per CV in the bootstrap; base has one JD, so its pairs use sample 0 only."""
    from girl_lib.config import get_profile

    cvs = _fake_judge_data(monkeypatch)
    good = {r["cv_id"]: r["jd_a"] for r in FIX_ROWS}  # fits its CV
    bad = {r["cv_id"]: "sales sales sales sales" for r in FIX_ROWS}
    # GIRL: sample 0 and 2 good, sample 1 bad; GIRL-SFT: always bad -> 2 wins, 1 tie-or-loss per CV
    samples = {"girl": [good, bad, good], "sft": [bad, bad, bad], "base": [bad]}
    gen = tmp_path / "generate"
    gen.mkdir()
    for key, per_sample in samples.items():
        gen.joinpath(f"{key}.jsonl").write_text("".join(
            json.dumps({"subset": "judge_eval", "cv_id": cid, "sample": k, "jd": by_cv[cid], "n_tokens": 9,
                        "finished": True}) + "\n" for k, by_cv in enumerate(per_sample) for cid in cvs))
    mark_done(tmp_path, "generate")
    metrics = J.run_judge(get_profile("tiny"), tmp_path, progress=False)
    m = metrics["GIRL_vs_GIRL-SFT"]
    assert m["n"] == 3 * len(cvs) and m["n_cvs"] == len(cvs)
    assert m["win"] == pytest.approx(2 / 3) and m["lose"] == 0.0
    assert metrics["GIRL_vs_base"]["n"] == len(cvs) and metrics["GIRL_vs_base"]["n_cvs"] == len(cvs)
    verdicts = read_jsonl(tmp_path / "judge" / "GIRL_vs_GIRL-SFT.verdicts.jsonl")
    assert sorted((v["cv_id"], v["sample"]) for v in verdicts) == sorted((c, k) for c in cvs for k in range(3))
    # every CV has the same 2/3 win share, so resampling CVs cannot move adv: a zero-width interval
    assert m["adv_ci"][0] == pytest.approx(m["adv"]) == pytest.approx(m["adv_ci"][1])
    table = (tmp_path / "judge" / "table.md").read_text()
    assert f"| {3 * len(cvs)} ({len(cvs)}) |" in table and "relevance" in table


def test_unreadable_replies_are_never_cached_and_zero_verdicts_is_an_error(secret_key, tmp_path):
    """An empty, HTML or verdict-less reply with HTTP 200 is counted as a parse error, not cached: a rerun against
    a working server asks again and gets real verdicts. Judging that yields no usable verdict is an error."""
    cache = tmp_path / "cache.jsonl"
    for bad in ("", "<html><body>502 Bad Gateway</body></html>", "Both JDs look fine to me."):
        with stub_server(lambda i, b, bad=bad: (200, completion(bad))) as s:
            with pytest.raises(GirlError, match="no usable verdict"):
                J.judge_pairs(rows(2), oai(s.url), cache_path=cache, progress=False)
        assert not cache.exists() or read_jsonl(cache) == []
    good = J.format_verdict({a: "A" for a in J.VERDICT_KEYS})
    with stub_server(lambda i, b: (200, completion(good))) as s:
        rep = J.judge_pairs(rows(2), oai(s.url), cache_path=cache, progress=False)
    assert s.n == 4 and rep["n"] == 2 and len(read_jsonl(cache)) == 4  # asked again, and now cached
    # an old cache holding an unreadable reply does not serve it
    key_rows = read_jsonl(cache)
    key_rows[0]["reply"] = "garbage"
    cache.write_text("".join(json.dumps(r) + "\n" for r in key_rows))
    assert len(J.ReplyCache(cache, valid=J.parses)._replies) == 3
    with pytest.raises(GirlError, match="no pairs to judge"):
        J.judge_pairs([], J.RubricJudge(), progress=False)


def test_rubric_warns_on_cvs_from_outside_the_synthetic_world():
    foreign = ("Registered nurse, 6 years in intensive care at a university hospital. Ventilator management, "
               "sedation protocols, family communication.")
    from girl_lib.world.people import World

    world_cv = World(0).new_seeker().cv
    assert J.world_readable(world_cv) and not J.world_readable(foreign)
    row = {"cv": foreign, "jd_a": GOOD_JD, "jd_b": GARBAGE_JD}
    with pytest.warns(UserWarning, match="cannot read 1 of 1 CVs"):
        J.judge_verdicts([row], J.RubricJudge(), progress=False)


def test_rubric_replies_are_cached_under_the_code_and_margins_they_came_from(tmp_path, monkeypatch):
    """The rubric's cache id follows its code (the rubric, the recruiter it reads) and its margins: after a change
    of either, a rebuilt judge stage must not be served the replies of the old reading."""
    import shutil

    from girl_lib.judge import rubric

    here, root = Path(rubric.__file__).resolve().parents[1], tmp_path / "girl_lib"
    for rel in rubric.RUBRIC_SOURCES:
        if (here / rel).is_dir():
            shutil.copytree(here / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(here / rel, root / rel)
    assert rubric.rubric_code_digest(root) == rubric.rubric_code_digest()
    recruiter = root / "world" / "recruiter.py"
    recruiter.write_text(recruiter.read_text() + "\n# a changed reading\n")
    assert rubric.rubric_code_digest(root) != rubric.rubric_code_digest()

    assert J.RubricJudge().cache_id == J.RubricJudge().cache_id
    assert J.RubricJudge(margins={"relevance": 0.1}).cache_id != J.RubricJudge().cache_id
    monkeypatch.setattr(rubric, "rubric_code_digest", lambda root=None: "0123456789ab")
    assert J.RubricJudge().cache_id.startswith("rubric-0123456789ab-oracle-")
    messages = [{"role": "user", "content": "which JD suits this CV better?"}]
    cache = J.ReplyCache(tmp_path / "cache.jsonl")
    cache.put(J.RubricJudge(), messages, "old reading")
    monkeypatch.setattr(rubric, "rubric_code_digest", lambda root=None: "ba9876543210")
    assert J.ReplyCache(tmp_path / "cache.jsonl").get(J.RubricJudge(), messages) is None
