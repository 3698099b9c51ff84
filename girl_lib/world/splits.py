"""Time-stamped interactions of the synthetic world and the splits of paper Table I.

Seekers *apply* to plausible jobs (mostly their own occupation and city, sometimes a related occupation,
sometimes anything) and get feedback from the hidden fit function (:mod:`girl_lib.world.fit`). Windows
follow the paper (Sec. VI-A):

=============  ======================  ==========================================================
split          window (2023)           rows
=============  ======================  ==========================================================
sft            Apr 1 - Apr 30          matched (CV, JD) pairs
reward         May 1 - May 7           (CV, matched JD, mismatched JD) of the same CV
rl             May 8 - May 10          CVs only; seekers never seen in sft/reward
rec_train      May 8 - May 24          (CV, JD, label); job pool shared by the three rec splits
rec_valid      May 25 - May 27         later interactions of train seekers + new (cold) seekers
rec_test       May 28 - May 31         same; ``cold_start`` marks seekers absent from rec_train
judge_eval     Jun 1 - Jun 3           CVs held out from everything (paper: 200 CVs)
=============  ======================  ==========================================================

Seeker groups of sft, reward, rl, rec and judge_eval are disjoint. Sizes are Table I times
``cfg.scale`` (at least ``cfg.min_rows``); ``rec_valid``/``rec_test`` can instead be set by their number of
seekers (:func:`rec_plan`), since a paired interval over test seekers needs dozens of them. In rec splits each seeker gets about ``REC_POSITIVE_RATE``
positives (at least one) and negatives for the rest, each found by applying until the hidden feedback
gives that label; each negative first draws where it comes from (:data:`REC_NEGATIVE_MIX`: mostly the
seeker's own occupation, so it is *hard*: wrong seniority, pay, city or skills) and then searches only
there. rec_valid/rec_test rows carry ``same_occupation`` (the job's occupation is the seeker's, from the
world's truth), an evaluation-only flag: the recommender never reads it as an input.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from .. import paper
from . import taxonomy as T
from .people import _OCC_IDS, OCC_WEIGHTS, World, _weighted

PAPER_TABLE_I, PAPER_JUDGE_EVAL = paper.TABLE_I, paper.JUDGE_EVAL_CVS
"""Paper Table I rows per dataset and the judge's 200 CVs, from :mod:`girl_lib.paper`."""
WINDOWS = {
    "sft": ("2023-04-01", "2023-04-30"), "reward": ("2023-05-01", "2023-05-07"),
    "rl": ("2023-05-08", "2023-05-10"), "rec_train": ("2023-05-08", "2023-05-24"),
    "rec_valid": ("2023-05-25", "2023-05-27"), "rec_test": ("2023-05-28", "2023-05-31"),
    "judge_eval": ("2023-06-01", "2023-06-03"),
}
"""First and last day of each split's time window."""
STREAM_MIX = (("same", 0.45), ("related", 0.30), ("random", 0.25))
"""Where applications come from: the seeker's occupation, a related one (shares skills), or any."""
POSITIVE_MIX = (("same", 0.85), ("related", 0.15))
"""Where the matched jobs of rec seekers come from."""
REC_POSITIVE_RATE = 0.27
"""Share of positive interactions per rec seeker (the paper does not report its rate)."""
REC_NEGATIVE_MIX = (("same", 0.6), ("related", 0.25), ("random", 0.15))
"""Where the negatives of rec_train/rec_valid/rec_test come from: the seeker's occupation, a related one
(shares skills), or any. On a job platform a seeker sees and applies to jobs in their own field (search,
alerts and the platform's own recall all filter by occupation), so most logged negatives are same-field
jobs that failed on seniority, pay, place or skills; a quarter are neighbouring fields a seeker also
browses, a few anything. The paper's AUCs (~0.63 on its platform) look like such a hard, same-field test.
Before, negatives came from the whole application stream (:data:`STREAM_MIX`) and only ~12% were
same-occupation after the feedback filter, so "is this job in my field?" alone scored AUC 0.87 and a
within-field gain showed at a tenth of its size. Each negative draws its kind first and then searches
only that kind (as :data:`REJECTED_MIX`), so the mix holds after the feedback filter."""
SAME_CITY_SHARE = 0.7
"""Share of applications to jobs in the seeker's city (or remote); the rest anywhere."""
MAX_SEARCH = 40
"""Pool draws tried when searching a seeker's positive (or negative) before posting a tailored job."""


def _table_sizes(data_cfg) -> dict:
    """Table I's rows times ``scale``, at least ``min_rows``, per split."""
    return {k: max(int(data_cfg.min_rows), int(round(v * float(data_cfg.scale)))) for k, v in PAPER_TABLE_I.items()}


def split_sizes(data_cfg) -> dict:
    """Rows per split: Table I x ``scale``, at least ``min_rows``; ``judge_eval`` = ``n_judge_eval``;
    ``rec_valid``/``rec_test`` = their seekers x rows per seeker where ``rec_valid_seekers`` /
    ``rec_test_seekers`` are set (:func:`rec_plan`)."""
    sizes = _table_sizes(data_cfg)
    sizes["judge_eval"] = max(1, int(data_cfg.n_judge_eval))
    for split, (seekers, per_seeker) in rec_plan(data_cfg, sizes).items():
        if split != "rec_train" and getattr(data_cfg, f"{split}_seekers", None):
            sizes[split] = seekers * per_seeker
    return sizes


def rec_plan(data_cfg, sizes: dict | None = None) -> dict:
    """``{rec split: (seekers, rows per seeker)}``. rec_train: Table I rows / ``rec_rows_per_seeker``;
    rec_valid/rec_test: ``rec_valid_seekers``/``rec_test_seekers`` when set (each with
    ``rec_eval_rows_per_seeker`` rows), else their Table I rows / rows per seeker."""
    sizes = sizes or _table_sizes(data_cfg)
    k_train = max(2, int(data_cfg.rec_rows_per_seeker))
    k_eval = max(2, int(data_cfg.rec_eval_rows_per_seeker or data_cfg.rec_rows_per_seeker))
    plan = {"rec_train": (max(1, round(sizes["rec_train"] / k_train)), k_train)}
    for split in ("rec_valid", "rec_test"):
        fixed = getattr(data_cfg, f"{split}_seekers", None)
        plan[split] = (int(fixed), k_eval) if fixed else (max(1, round(sizes[split] / k_eval)), k_eval)
    return plan


def distribute(total: int, n: int, rng: random.Random, min_each: int = 1) -> list[int]:
    """Split ``total`` rows over ``n`` seekers, each at least ``min_each``, a little uneven."""
    n = max(1, n)
    min_each = min(min_each, total // n) if total >= n else 0
    counts = [total // n] * n
    for i in rng.sample(range(n), total % n):
        counts[i] += 1
    for _ in range(n // 2):  # jitter: move one row between random seekers
        a, b = rng.randrange(n), rng.randrange(n)
        if counts[a] > min_each:
            counts[a] -= 1
            counts[b] += 1
    return counts


class Stamper:
    """Random timestamps (ISO strings, second resolution) inside a split's window."""

    def __init__(self, split: str):
        first, last = WINDOWS[split]
        self.start = datetime.fromisoformat(first)
        self.span = int((datetime.fromisoformat(last) + timedelta(days=1) - self.start).total_seconds()) - 1

    def __call__(self, rng: random.Random) -> str:
        return (self.start + timedelta(seconds=rng.randint(0, self.span))).isoformat()


class Market:
    """A pool of open jobs, indexed by occupation and city, that seekers apply to."""

    def __init__(self, world: World, n_jobs: int, rng: random.Random):
        self.world = world
        self.by_occ: dict = {}
        self.by_occ_city: dict = {}
        self.jobs: list = []
        for _ in range(n_jobs):
            self.add(world.new_job(rng=rng))

    def add(self, job):
        self.jobs.append(job)
        self.by_occ.setdefault(job.occupation, []).append(job)
        self.by_occ_city.setdefault((job.occupation, "remote" if job.remote else job.city), []).append(job)
        return job

    def _draw(self, occ: str, seeker, rng):
        if rng.random() < SAME_CITY_SHARE:
            local = self.by_occ_city.get((occ, seeker.city), []) + self.by_occ_city.get((occ, "remote"), [])
            if local:
                return rng.choice(local)
        jobs = self.by_occ.get(occ)
        return rng.choice(jobs) if jobs else self.add(self.world.new_job(occupation=occ, rng=rng))

    def candidate(self, seeker, rng, kinds=STREAM_MIX):
        """One application: (job, kind) with kind ``same``, ``related`` or ``random``."""
        kind = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds], k=1)[0]
        occ_id = T.OCC_INDEX[seeker.occupation]
        if kind == "same":
            occ = seeker.occupation
        elif kind == "related" and T.RELATED[occ_id]:
            occ = T.OCCUPATIONS[rng.choice(T.RELATED[occ_id][:6])].key
        else:
            kind = "random"
            occ = T.OCCUPATIONS[_weighted(rng, _OCC_IDS, OCC_WEIGHTS)].key
        return self._draw(occ, seeker, rng), kind

    def tailored(self, seeker, rng):
        """Post a new job close to the seeker (own occupation, level and city) into the pool."""
        return self.add(self.world.new_job(occupation=seeker.occupation, level=seeker.level, city=seeker.city,
                                           rng=rng))

    def search(self, seeker, rng, want: int, exclude: set, kinds=(("same", 1.0),)):
        """Apply until feedback equals ``want``; returns (job, kind) or None. Falls back to tailored
        postings when the pool has nothing that fits."""
        for attempt in range(2 * MAX_SEARCH):
            if attempt < MAX_SEARCH:
                job, kind = self.candidate(seeker, rng, kinds)
            else:
                job, kind = self.tailored(seeker, rng), "same"
            if job.id in exclude:
                continue
            if self.world.feedback(seeker, job, rng) == want:
                return job, kind
        return None


def _seekers(world: World, n: int, rng: random.Random) -> list:
    return [world.new_seeker(rng=rng) for _ in range(n)]


def _rows_per_seeker(world, n_rows: int, per_seeker: int, rng, make_rows) -> list:
    """``n_rows`` rows from about ``n_rows / per_seeker`` new seekers; ``make_rows(seeker, count)`` returns
    at most ``count`` rows. Seekers whose search failed are replaced, so the count is exact."""
    n_seekers = max(1, math.ceil(n_rows / per_seeker))
    rows = []
    for seeker, count in zip(_seekers(world, n_seekers, rng), distribute(n_rows, n_seekers, rng)):
        rows += make_rows(seeker, count)
    for _ in range(10 * n_rows):
        if len(rows) >= n_rows:
            break
        rows += make_rows(world.new_seeker(rng=rng), min(per_seeker, n_rows - len(rows)))
    return rows


def build_sft(world, n_rows, rng):
    """Matched pairs: each seeker 1-3 matched jobs (paper: SFT on matched CV-JD pairs, Eq. 1)."""
    market = Market(world, max(300, n_rows // 3), rng)
    stamp = Stamper("sft")

    def make_rows(seeker, count):
        rows, seen = [], set()
        for _ in range(count):
            found = market.search(seeker, rng, want=1, exclude=seen)
            if found is None:
                continue
            job, _ = found
            seen.add(job.id)
            rows.append({"cv": seeker.cv, "jd": job.jd, "seeker_id": seeker.id, "job_id": job.id,
                         "occupation": seeker.occupation, "job_occupation": job.occupation,
                         "timestamp": stamp(rng)})
        return rows

    return _rows_per_seeker(world, n_rows, 2, rng, make_rows)


REJECTED_MIX = (("same", 0.7), ("related", 0.15), ("random", 0.15))
"""Where the rejected JDs of the ``reward`` split come from. On a job platform most feedback is about jobs
the seeker applied to, which are mostly in their own occupation: such a pair turns on skills, seniority,
pay and city, not on the occupation. Each row draws its kind first and then searches only that kind, so
the mix holds (searching all kinds at once returns other occupations' jobs more often: they are rejected
more readily)."""


def build_reward(world, n_rows, rng):
    """Preference pairs of the same CV: a matched job (chosen) and a mismatched one (rejected, paper Eq. 2);
    the rejected jobs' occupations follow :data:`REJECTED_MIX`."""
    market = Market(world, max(300, n_rows // 4), rng)
    stamp = Stamper("reward")

    def make_rows(seeker, count):
        rows, seen, positives = [], set(), []
        for _ in range(max(1, math.ceil(count / 2))):
            found = market.search(seeker, rng, want=1, exclude=seen)
            if found:
                seen.add(found[0].id)
                positives.append(found[0])
        if not positives:
            return rows
        for i in range(count):
            kind = rng.choices([k for k, _ in REJECTED_MIX], weights=[w for _, w in REJECTED_MIX], k=1)[0]
            found = market.search(seeker, rng, want=0, exclude=seen, kinds=((kind, 1.0),))
            if found is None:
                continue
            job, kind = found
            seen.add(job.id)
            chosen = positives[i % len(positives)]
            rows.append({"cv": seeker.cv, "chosen": chosen.jd, "rejected": job.jd, "seeker_id": seeker.id,
                         "chosen_job_id": chosen.id, "rejected_job_id": job.id, "rejected_kind": kind,
                         "occupation": seeker.occupation, "timestamp": stamp(rng)})
        return rows

    return _rows_per_seeker(world, n_rows, 3, rng, make_rows)


def build_cv_only(world, n_rows, rng, split):
    """CV-only rows (``rl``: paper's RL dataset; ``judge_eval``: the held-out evaluation CVs)."""
    stamp = Stamper(split)
    return [{"cv": s.cv, "seeker_id": s.id, "occupation": s.occupation, "timestamp": stamp(rng)}
            for s in _seekers(world, n_rows, rng)]


def _interactions(market, seeker, count, rng, seen):
    """``count`` interactions of one seeker with about ``REC_POSITIVE_RATE`` positives (at least one positive
    and one negative when ``count`` >= 2). Each is found by applying until the feedback says so: positives
    from :data:`POSITIVE_MIX`; each negative draws its kind from :data:`REC_NEGATIVE_MIX` and searches only
    that kind (a failed search falls back to the whole :data:`STREAM_MIX`)."""
    n_pos = int(count * REC_POSITIVE_RATE + rng.random())
    if count >= 2:
        n_pos = min(count - 1, max(1, n_pos))
    out = []
    for i in range(count):
        want = 1 if i < n_pos else 0
        if want:
            found = market.search(seeker, rng, want=1, exclude=seen, kinds=POSITIVE_MIX)
        else:
            kind = rng.choices([k for k, _ in REC_NEGATIVE_MIX], weights=[w for _, w in REC_NEGATIVE_MIX], k=1)[0]
            found = (market.search(seeker, rng, want=0, exclude=seen, kinds=((kind, 1.0),))
                     or market.search(seeker, rng, want=0, exclude=seen, kinds=STREAM_MIX))
        if found:
            out.append((found[0], found[1], want))
            seen.add(found[0].id)
    return out


def build_rec(world, sizes, data_cfg, rng):
    """rec_train / rec_valid / rec_test over one shared job pool, with warm and cold-start seekers."""
    cold_frac = float(data_cfg.cold_start_fraction)
    plan_sizes = rec_plan(data_cfg)
    n = {s: plan_sizes[s][0] for s in ("rec_train", "rec_valid", "rec_test")}
    total = sizes["rec_train"] + sizes["rec_valid"] + sizes["rec_test"]
    market = Market(world, max(300, total // 5), rng)
    train = _seekers(world, n["rec_train"], rng)
    plan = {"rec_train": train}
    for split in ("rec_valid", "rec_test"):
        n_cold = min(n[split], round(cold_frac * n[split]))
        warm = rng.sample(train, min(len(train), n[split] - n_cold))
        plan[split] = warm + _seekers(world, n[split] - len(warm), rng)
    train_ids = {s.id for s in train}
    seen_by: dict = {}
    out = {}
    for split, seekers in plan.items():
        stamp = Stamper(split)
        rows: list = []
        # valid/test: every seeker gets its full share (no jitter), so per-seeker AUCs have enough rows
        min_each = 2 if split == "rec_train" else plan_sizes[split][1]
        plan_counts = list(zip(seekers, distribute(sizes[split], len(seekers), rng, min_each=min_each)))
        for _ in range(10 * sizes[split]):  # after the plan, top up from random seekers of the split
            if len(rows) >= sizes[split]:
                break
            seeker, count = plan_counts.pop(0) if plan_counts else (rng.choice(seekers), 1)
            seen = seen_by.setdefault(seeker.id, set())
            for job, kind, label in _interactions(market, seeker, count, rng, seen):
                row = {"seeker_id": seeker.id, "cv": seeker.cv, "job_id": job.id, "jd": job.jd, "label": label,
                       "pair_kind": kind, "occupation": seeker.occupation, "job_occupation": job.occupation,
                       "timestamp": stamp(rng)}
                if split != "rec_train":
                    row["cold_start"] = seeker.id not in train_ids
                    row["same_occupation"] = job.occupation == seeker.occupation  # evaluation only
                rows.append(row)
        out[split] = rows[:sizes[split]]
    return out


def build_splits(data_cfg) -> dict:
    """All splits of the synthetic world as ``{split: [row dicts]}``, rows sorted by timestamp.

    Deterministic: the same ``data_cfg.seed`` gives identical rows. One :class:`World` assigns unique
    ids; each split draws from its own random stream.
    """
    seed = int(data_cfg.seed)
    world = World(seed)
    sizes = split_sizes(data_cfg)

    def stream(name):
        return random.Random(f"girl-{seed}-{name}")

    splits = {
        "sft": build_sft(world, sizes["sft"], stream("sft")),
        "reward": build_reward(world, sizes["reward"], stream("reward")),
        "rl": build_cv_only(world, sizes["rl"], stream("rl"), "rl"),
    }
    splits.update(build_rec(world, sizes, data_cfg, stream("rec")))
    splits["judge_eval"] = build_cv_only(world, sizes["judge_eval"], stream("judge"), "judge_eval")
    for rows in splits.values():
        rows.sort(key=lambda r: r["timestamp"])
    return splits
