"""Data stage: the synthetic recruiting world (or RJDB / a generic file) as the splits of paper Table I.

``build_dataset(cfg)`` returns a :class:`datasets.DatasetDict` with exactly these splits and columns
(extra columns such as ``occupation`` or ``timestamp`` may follow):

=============  =================================================
``sft``        cv, jd, seeker_id, job_id
``reward``     cv, chosen, rejected, seeker_id
``rl``         cv, seeker_id
``rec_train``  seeker_id, cv, job_id, jd, label (int 0/1)
``rec_valid``  seeker_id, cv, job_id, jd, label
``rec_test``   seeker_id, cv, job_id, jd, label, cold_start (bool)
``judge_eval`` cv, seeker_id
=============  =================================================

The synthetic world lives in :mod:`girl_lib.world`: its taxonomy, texts, hidden fit function (the
formula is documented in :mod:`girl_lib.world.fit`), oracle recruiter and time windows
(:mod:`girl_lib.world.splits`). ``run_data`` saves the splits under ``<run_dir>/data`` with
``stats.json`` (the Table I analogue of :func:`world_stats`).

Loaders for real text: :func:`load_rjdb` (megagonlabs/rjdb JSONL; CC BY-SA 4.0, not shipped here) and
:func:`load_generic` (JSONL/CSV with a column map). Bad input raises :class:`GirlError` naming the
file, the row (1-based) and the field; overlong text is truncated with a warning, never silently.

One file on purpose (~600 lines): the world, RJDB and a generic file all go through the same splitting
(:func:`units_to_splits`) and validation, so the three sources cannot drift apart.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import warnings
from pathlib import Path

from .config import validate_profile
from .runio import GirlError, atomic_dir, atomic_write_json, is_done, mark_done, run_profile
from .world import JD_SECTIONS, Recruiter, World, jd_format_ok, make_world, oracle_fit, parse_cv, parse_jd
from .world.splits import PAPER_JUDGE_EVAL, PAPER_TABLE_I, build_splits

__all__ = ["DataError", "JD_SECTIONS", "MIN_ROWS", "PAPER_JUDGE_EVAL", "PAPER_TABLE_I", "REQUIRED_COLUMNS", "SPLITS",
           "build_dataset", "jd_format_ok", "load_data", "load_generic", "load_rjdb", "make_world", "oracle_fit", "oracle_for",
           "negative_mix_stats", "parse_cv", "parse_jd", "run_data", "sample_corpus", "validate_dataset",
           "world_stats"]

SPLITS = ("sft", "reward", "rl", "rec_train", "rec_valid", "rec_test", "judge_eval")
REC = ("seeker_id", "cv", "job_id", "jd", "label")
REQUIRED_COLUMNS = {
    "sft": ("cv", "jd", "seeker_id", "job_id"), "reward": ("cv", "chosen", "rejected", "seeker_id"),
    "rl": ("cv", "seeker_id"), "rec_train": REC, "rec_valid": REC, "rec_test": REC + ("cold_start",),
    "judge_eval": ("cv", "seeker_id"),
}
"""The columns every split must have, in this order (extra columns may follow)."""
RJDB_FIELDS = ("Job-Description", "Resume-matched", "Resume-unmatched", "Skills", "Experiences")
"""Keys every RJDB row must have."""
OUR_COLUMNS = ("cv", "jd", "label", "seeker_id", "job_id")
"""The names a generic file's column map may map (to the file's own column names)."""
MIN_ROWS = {"sft": 2, "reward": 2, "rl": 1, "rec_train": 2, "rec_valid": 2, "rec_test": 2, "judge_eval": 1}
"""The fewest rows each split's consumer works with (rec splits also need both labels)."""
CONSUMERS = {"sft": "SFT (one held-out row and at least one to train on)",
             "reward": "the reward model (one held-out pair and at least one to train on)",
             "rl": "PPO (CVs to roll out on)", "rec_train": "the recommender's training",
             "rec_valid": "the recommender's early stopping (validation AUC)",
             "rec_test": "the recommender's test AUC", "judge_eval": "generation and the judge"}


class DataError(GirlError):
    """Input data that cannot make the splits: the message names the file, and the row and field where
    there is one."""


# ------------------------------------------------------------------------------------------- building
def to_dataset_dict(splits: dict):
    """``{split: [row dicts]}`` -> ``DatasetDict`` with the required columns first and explicit types."""
    # datasets is local here and in load_data: it reads HF_*_OFFLINE when first imported, so it must come after
    # models.env_offline() (cli imports models, and models this module, before calling it)
    from datasets import Dataset, DatasetDict, Features, Value

    out = {}
    for name in SPLITS:
        rows = splits.get(name, [])
        extra = [k for k in (rows[0] if rows else {}) if k not in REQUIRED_COLUMNS[name]]
        columns = list(REQUIRED_COLUMNS[name]) + extra
        feats = {}
        for col in columns:
            sample = next((r[col] for r in rows if r.get(col) is not None), "")
            if col == "cold_start" or isinstance(sample, bool):
                feats[col] = Value("bool")
            elif col == "label" or isinstance(sample, int):
                feats[col] = Value("int64")
            else:
                feats[col] = Value("string")
        data = {col: [r.get(col) for r in rows] for col in columns}
        out[name] = Dataset.from_dict(data, features=Features(feats))
    return DatasetDict(out)


def build_dataset(cfg):
    """All splits for ``cfg.data.source``: ``synthetic`` (the embedded world), ``rjdb``, ``jsonl`` or ``csv``.
    Their sizes are checked by the stage (:func:`run_data` calls :func:`validate_dataset`), so a small file
    can still be loaded to look at."""
    source = str(cfg.data.source).lower()
    if source == "synthetic":
        return to_dataset_dict(build_splits(cfg.data))
    if source not in ("rjdb", "jsonl", "csv"):
        raise GirlError(f"data.source={cfg.data.source!r} is unknown: use 'synthetic', 'rjdb', 'jsonl' or 'csv'.")
    if not cfg.data.path:
        raise GirlError(f"data.source={source!r} needs a file: set data.path (CLI: --path FILE).")
    if source == "rjdb":
        return load_rjdb(cfg.data.path, cfg)
    return load_generic(cfg.data.path, cfg.data.column_map, cfg, fmt=source)


def validate_dataset(ds, where: str, fix: str = "add rows to the file") -> None:
    """Every split present, at least :data:`MIN_ROWS` long, and the rec splits holding both labels; else a
    :class:`DataError` naming ``where`` (the file), the split and its consumer."""
    for name in SPLITS:
        n = len(ds[name]) if name in ds else 0
        if n < MIN_ROWS[name]:
            raise DataError(f"{where}: split '{name}' has {n} row(s); {CONSUMERS[name]} needs at least "
                            f"{MIN_ROWS[name]}. {fix[0].upper() + fix[1:]}.")
        if name.startswith("rec_"):
            labels = sorted(set(ds[name]["label"]))
            if labels != [0, 1]:
                raise DataError(f"{where}: split '{name}' holds only label {labels[0]} ({n} rows); "
                                f"{CONSUMERS[name]} needs both 0 and 1 there. {fix[0].upper() + fix[1:]} (with "
                                f"both labels for several seekers), or leave the label column out so negatives "
                                f"are sampled.")


def sample_corpus(n: int, seed: int = 0) -> list[str]:
    """``n`` texts, CVs and JDs alternating, from a fresh world (e.g. to train a tiny tokenizer)."""
    world = World(seed)
    return [world.new_seeker().cv if i % 2 == 0 else world.new_job().jd for i in range(n)]


# ------------------------------------------------------------------------------------------- run dir
def run_data(cfg, run_dir) -> dict:
    """Build the dataset, save it to ``<run_dir>/data`` (atomically) with ``stats.json``, mark the stage done.

    Returns the statistics (see :func:`world_stats`)."""
    validate_profile(cfg)  # before any work, also when a field was set by hand after the profile was built
    ds = build_dataset(cfg)
    source = str(cfg.data.source).lower()
    validate_dataset(ds, "the synthetic world" if source == "synthetic" else str(cfg.data.path),
                     fix="raise data.scale or data.min_rows" if source == "synthetic" else "add rows to the file")
    stats = world_stats(ds)
    stats.update(source=str(cfg.data.source), seed=int(cfg.data.seed), scale=float(cfg.data.scale))
    with atomic_dir(Path(run_dir) / "data") as tmp:
        ds.save_to_disk(str(tmp))
        atomic_write_json(tmp / "stats.json", stats)
    mark_done(run_dir, "data", {"rows": {k: len(v) for k, v in ds.items()}, "source": stats["source"]}, cfg=cfg)
    return stats


def load_data(run_dir):
    """The ``DatasetDict`` saved by :func:`run_data` in ``<run_dir>/data``."""
    from datasets import load_from_disk  # local: see to_dataset_dict

    path = Path(run_dir) / "data"
    if not is_done(run_dir, "data") or not (path / "dataset_dict.json").exists():
        raise GirlError(f"No dataset in {path}: run `girl data --run-dir {run_dir} --profile "
                        f"{run_profile(run_dir) or '<profile>'}` first.")
    return load_from_disk(str(path))


def check_split(split, name: str, columns: tuple) -> None:
    """Refuse, naming the fix, a split without ``columns`` or without rows."""
    missing = [c for c in columns if c not in split.column_names]
    if missing:
        raise GirlError(f"the '{name}' split lacks column(s) {missing} (has {split.column_names}); it needs "
                        f"{list(columns)}. Rebuild the data with `girl data --run-dir DIR`.")
    if len(split) == 0:
        raise GirlError(f"the '{name}' split is empty; rebuild the data with a larger data.scale")


def held_out_split(run_dir, name: str, columns: tuple, seed: int, n_eval: int, eval_share: int):
    """The ``name`` split of the data stage, shuffled with ``seed``, cut into ``(held_out, rest)``: the first
    ``min(n_eval, max(1, len // eval_share))`` rows as a column dict (column -> list), the others as a
    ``Dataset``. The split is checked first (:func:`check_split`)."""
    split = load_data(run_dir)[name]
    check_split(split, name, columns)
    split = split.shuffle(seed=seed)
    n = min(n_eval, max(1, len(split) // eval_share))
    return split.select(range(n)).to_dict(), split.select(range(n, len(split)))


def oracle_for(cfg) -> Recruiter:
    """The hidden recruiter the profile asks for (``cfg.recruiter.kind``), as ``fn(cv, jd) -> fit``."""
    return Recruiter(cfg.recruiter.kind)


READING_SAMPLE = 1000
"""Rows per split whose real JDs :func:`recruiter_readings` reads under both recruiters."""


def recruiter_readings(ds) -> dict:
    """Per split: of (up to :data:`READING_SAMPLE`) real (CV, JD) pairs, how many the ``posting`` and
    ``lenient`` recruiters read differently (fit differs by more than 1e-9), and the mean fit under each.
    The labels never change (they come from the true facts); only how a real JD's *text* is read can."""
    out = {}
    for name, d in ds.items():
        cols = set(d.column_names)
        jd_cols = [c for c in ("jd", "chosen", "rejected") if c in cols]
        if "cv" not in cols or not jd_cols or not len(d):
            continue
        pairs = [(cv, jd) for c in jd_cols for cv, jd in zip(d["cv"][:READING_SAMPLE], d[c][:READING_SAMPLE])]
        post = [oracle_fit(cv, jd, "posting") for cv, jd in pairs]
        lenient = [oracle_fit(cv, jd, "lenient") for cv, jd in pairs]
        out[name] = {"pairs": len(pairs),
                     "reading_differs": sum(abs(a - b) > 1e-9 for a, b in zip(post, lenient)),
                     "mean_fit_posting": sum(post) / len(post), "mean_fit_lenient": sum(lenient) / len(lenient)}
    return out


def world_stats(ds) -> dict:
    """Table I analogue: per split rows, seekers, jobs, label rate, cold-start share, mean CV/JD words,
    share of JDs with both sections, and the paper's row count."""
    splits = {}
    for name, d in ds.items():
        cols = set(d.column_names)
        st = {"rows": len(d)}
        if "seeker_id" in cols:
            st["seekers"] = len(set(d["seeker_id"]))
        job_cols = [c for c in ("job_id", "chosen_job_id", "rejected_job_id") if c in cols]
        if job_cols:
            st["jobs"] = len({j for c in job_cols for j in d[c]})
        if "label" in cols and len(d):
            st["label_rate"] = sum(d["label"]) / len(d)
        if "cold_start" in cols and len(d):
            cold = d["cold_start"]
            st["cold_start_rows"] = sum(cold) / len(d)
            st["cold_start_seekers"] = (len({s for s, c in zip(d["seeker_id"], cold) if c})
                                        / max(1, len(set(d["seeker_id"]))))
        if "cv" in cols and len(d):
            st["mean_cv_words"] = _mean_words(d["cv"])
        jds = [t for c in ("jd", "chosen", "rejected") if c in cols for t in d[c]]
        if jds:
            st["mean_jd_words"] = _mean_words(jds)
            st["jd_format_ok"] = sum(jd_format_ok(t) for t in jds) / len(jds)
        if "rejected_kind" in cols and len(d):  # the reward split's negatives: own occupation, related, any
            kinds = list(d["rejected_kind"])
            st["rejected_mix"] = {k: kinds.count(k) / len(kinds) for k in sorted(set(kinds))}
        st.update(negative_mix_stats(d))
        if name in PAPER_TABLE_I:
            st["paper_rows"] = PAPER_TABLE_I[name]
        elif name == "judge_eval":
            st["paper_rows"] = PAPER_JUDGE_EVAL
        splits[name] = st
    return {"splits": splits, "paper_table_i": dict(PAPER_TABLE_I), "recruiter_readings": recruiter_readings(ds)}


def negative_mix_stats(d) -> dict:
    """A rec split's negatives: ``negative_mix`` (share drawn from the seeker's own occupation, a related
    one or any: ``pair_kind``, :data:`girl_lib.world.splits.REC_NEGATIVE_MIX`) and, where rows carry the
    evaluation-only ``same_occupation`` flag, ``negative_same_occupation`` (share of negatives whose job is
    in the seeker's occupation, by the world's truth; a "random" draw can land there too) and
    ``positive_same_occupation``. Empty for splits without labels or kinds."""
    cols = set(d.column_names)
    if "label" not in cols or "pair_kind" not in cols or not len(d):
        return {}
    labels = list(d["label"])
    kinds = [k for k, y in zip(d["pair_kind"], labels) if y == 0]
    out = {"negative_mix": {k: kinds.count(k) / len(kinds) for k in sorted(set(kinds))}} if kinds else {}
    if "same_occupation" in cols:
        for name, want in (("negative_same_occupation", 0), ("positive_same_occupation", 1)):
            same = [bool(s) for s, y in zip(d["same_occupation"], labels) if y == want]
            if same:
                out[name] = sum(same) / len(same)
    return out


def _mean_words(texts) -> float:
    texts = list(texts)
    return sum(len(t.split()) for t in texts) / max(1, len(texts))


# ------------------------------------------------------------------------------------------- reading
def _read_bytes(path) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found; check data.path (CLI: --path FILE).")
    return p.read_bytes()


def _decode(path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DataError(f"{path}, row {line}: bytes are not valid UTF-8 (byte {e.start} of the file); "
                        f"re-save the file as UTF-8.") from None


def read_jsonl_numbered(path) -> list[tuple[int, dict]]:
    """``(row number, object)`` for each non-blank line; rows are 1-based line numbers."""
    text = _decode(path, _read_bytes(path))
    out = []
    for i, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}, row {i}: not valid JSON ({e.msg}, column {e.colno}); each line must be "
                            f"one JSON object.") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}, row {i}: expected a JSON object, got {type(obj).__name__}.")
        out.append((i, obj))
    if not out:
        raise DataError(f"{path}: no rows found; the file is empty.")
    return out


def read_csv(path) -> list[tuple[int, dict]]:
    """``(row number, dict)`` per data row; row 1 is the first row after the header."""
    text = _decode(path, _read_bytes(path))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    out = []
    try:
        for i, row in enumerate(reader, 1):
            out.append((i, {k: v for k, v in row.items() if k is not None}))  # fields beyond the header dropped
    except csv.Error as e:
        raise DataError(f"{path}, row {len(out) + 1}: not valid CSV ({e}); check the quoting and that the "
                        f"file is text.") from None
    if not out:
        raise DataError(f"{path}: no rows found under the header.")
    return out


def _field(path, row, obj: dict, name: str, expected, limit=None, cfg_field=None) -> str:
    """A text field of one row: present, a non-empty string; truncated with a warning beyond ``limit``."""
    if name not in obj:
        raise DataError(f"{path}, row {row}: missing column {name!r}. Found columns: {_columns(obj)}; "
                        f"expected: {list(expected)}.")
    value = obj[name]
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DataError(f"{path}, row {row}, field {name!r}: expected text, got {type(value).__name__}.")
    if not value.strip():
        raise DataError(f"{path}, row {row}, field {name!r} is empty: fill it in or remove the row.")
    if limit and len(value) > limit:
        warnings.warn(f"{path}, row {row}, field {name!r}: {len(value)} characters, truncated to {limit} "
                      f"({cfg_field}).", stacklevel=3)
        value = value[:limit]
    return value


def _columns(obj: dict) -> list[str]:
    return sorted(str(k) for k in obj if k is not None)


def _label(path, row, value, name) -> int:
    if isinstance(value, bool) or value in (0, 1):
        return int(value)
    text = str(value).strip().lower()
    if text in ("1", "1.0", "true", "yes"):
        return 1
    if text in ("0", "0.0", "false", "no"):
        return 0
    raise DataError(f"{path}, row {row}, field {name!r}: label must be 0 or 1, got {value!r}.")


# ------------------------------------------------------------------------------------------- splitting
class Unit:
    """One person of a file (the unit that is never split across datasets): their CV variants and
    interactions ``(seeker_id, job_id, jd, label)``."""

    def __init__(self, row: int):
        self.row = row
        self.cvs: dict = {}  # seeker_id -> cv
        self.interactions: list = []


def _allocate(n: int, cfg, rng: random.Random) -> dict:
    """Unit indices per split: judge_eval gets min(n_judge_eval, ~1%), the rest follow Table I ratios with
    at least one unit per split where possible."""
    order = list(range(n))
    rng.shuffle(order)
    n_judge = min(int(cfg.data.n_judge_eval), max(1, round(0.01 * n))) if n >= 7 else 0
    rest = n - n_judge
    names = list(PAPER_TABLE_I)
    total = sum(PAPER_TABLE_I.values())
    base = [1 if rest >= len(names) else 0 for _ in names]
    free = rest - sum(base)
    quotas = [PAPER_TABLE_I[k] / total * free for k in names]
    counts = [b + math.floor(q) for b, q in zip(base, quotas)]
    for i in sorted(range(len(names)), key=lambda i: quotas[i] - math.floor(quotas[i]), reverse=True):
        if sum(counts) >= rest:
            break
        counts[i] += 1
    out, k = {"judge_eval": order[:n_judge]}, n_judge
    for name, c in zip(names, counts):
        out[name] = order[k:k + c]
        k += c
    return out


def units_to_splits(units: list, cfg, rng: random.Random, sample_negatives: bool, source: str) -> dict:
    """Rows of every split from file units (shared by :func:`load_rjdb` and :func:`load_generic`).

    Rejected JDs of ``reward`` are the same seeker's negatives when the file has them, else another
    unit's JD of the same split drawn with the seed. ``sample_negatives`` adds one such negative per
    positive to the rec splits (files without labels). In rec_valid/rec_test, a seeker with several
    interactions moves its earlier half to rec_train with probability 1 - cold_start_fraction
    (warm seekers); ``cold_start`` marks seekers absent from rec_train.
    """
    alloc = _allocate(len(units), cfg, rng)
    rows = {name: [] for name in SPLITS}

    def other_jd(pool, unit):
        """An interaction of another unit, drawn from ``pool`` (or from all units when ``pool`` is too small)."""
        pool = pool if len(pool) > 1 else units
        if len(pool) < 2:
            return None
        other = unit
        while other is unit:
            other = pool[rng.randrange(len(pool))]
        return rng.choice(other.interactions) if other.interactions else None

    for name in ("rl", "judge_eval"):
        for i in alloc[name]:
            sid, cv = next(iter(units[i].cvs.items()))
            rows[name].append({"cv": cv, "seeker_id": sid, "source_row": units[i].row})
    for i in alloc["sft"]:
        u = units[i]
        for sid, job_id, jd, label in u.interactions:
            if label == 1:
                rows["sft"].append({"cv": u.cvs[sid], "jd": jd, "seeker_id": sid, "job_id": job_id,
                                    "source_row": u.row})
    pool = [units[i] for i in alloc["reward"]]
    for u in pool:
        for sid, job_id, jd, label in u.interactions:
            if label != 1:
                continue
            negs = [x for x in u.interactions if x[0] == sid and x[3] == 0]
            neg = rng.choice(negs) if negs else other_jd(pool, u)
            if neg is not None:
                rows["reward"].append({"cv": u.cvs[sid], "chosen": jd, "rejected": neg[2], "seeker_id": sid,
                                       "chosen_job_id": job_id, "rejected_job_id": neg[1], "source_row": u.row})
    rec_units = {name: [units[i] for i in alloc[name]] for name in ("rec_train", "rec_valid", "rec_test")}
    rec_pool = [u for us in rec_units.values() for u in us]
    for name, us in rec_units.items():
        for u in us:
            inter = list(u.interactions)
            if sample_negatives:
                for x in u.interactions:
                    neg = other_jd(rec_pool, u)
                    if x[3] == 1 and neg is not None:
                        inter.append((x[0], neg[1], neg[2], 0))
            for sid in u.cvs:
                mine = [x for x in inter if x[0] == sid]
                if name != "rec_train" and len(mine) >= 2 and rng.random() >= float(cfg.data.cold_start_fraction):
                    rows["rec_train"] += [_rec_row(u, x) for x in mine[:len(mine) // 2]]  # warm seeker
                    mine = mine[len(mine) // 2:]
                rows[name] += [_rec_row(u, x) for x in mine]
    train_ids = {r["seeker_id"] for r in rows["rec_train"]}
    for name in ("rec_valid", "rec_test"):
        for r in rows[name]:
            r["cold_start"] = r["seeker_id"] not in train_ids
    for name in SPLITS:
        for r in rows[name]:
            r["source"] = source
    return rows


def _rec_row(unit, x) -> dict:
    sid, job_id, jd, label = x
    return {"seeker_id": sid, "cv": unit.cvs[sid], "job_id": job_id, "jd": jd, "label": int(label),
            "source_row": unit.row}


# ------------------------------------------------------------------------------------------- loaders
def load_rjdb(path, cfg):
    """RJDB JSONL (megagonlabs/rjdb) into the standard splits.

    Each row is one person and one job: sft gets (Resume-matched, Job-Description); reward gets
    (Resume-matched, chosen = its JD, rejected = another reward row's JD drawn with ``cfg.data.seed``);
    rec gets (Resume-matched, JD, 1) and (Resume-unmatched, JD, 0); rl and judge_eval get held-out
    matched resumes. Rows go to splits whole, shuffled with the seed, in Table I ratios. Each person has
    a single interaction, so every rec_valid/rec_test seeker is a cold start.
    """
    units = []
    for row, obj in read_jsonl_numbered(path):
        for name in RJDB_FIELDS:
            if name not in obj:
                raise DataError(f"{path}, row {row}: missing column {name!r}. Found columns: {_columns(obj)}; "
                                f"expected: {list(RJDB_FIELDS)}.")
        jd = _field(path, row, obj, "Job-Description", RJDB_FIELDS, cfg.data.max_jd_chars, "data.max_jd_chars")
        matched = _field(path, row, obj, "Resume-matched", RJDB_FIELDS, cfg.data.max_cv_chars,
                         "data.max_cv_chars")
        unmatched = _field(path, row, obj, "Resume-unmatched", RJDB_FIELDS, cfg.data.max_cv_chars,
                           "data.max_cv_chars")
        u = Unit(row)
        sid, job_id = f"s{row:06d}", f"j{row:06d}"
        u.cvs = {sid: matched.strip(), sid + "u": unmatched.strip()}
        u.interactions = [(sid, job_id, jd.strip(), 1), (sid + "u", job_id, jd.strip(), 0)]
        units.append(u)
    rng = random.Random(f"girl-rjdb-{cfg.data.seed}")
    return to_dataset_dict(units_to_splits(units, cfg, rng, sample_negatives=False, source="rjdb"))


def load_generic(path, column_map: dict | None, cfg, fmt: str | None = None):
    """A JSONL or CSV file (``fmt`` ``"jsonl"``/``"csv"``; default: by extension) with one CV-JD pair per row.

    ``column_map`` maps our names to the file's columns: ``cv`` and ``jd`` (required), ``label`` (0/1),
    ``seeker_id``, ``job_id`` (optional, kept as given; otherwise one id per distinct CV / JD text);
    unmapped names default to themselves. Rows of the same seeker stay in one split. Without labels every
    row is a positive and negatives are sampled from other rows (see :func:`units_to_splits`).
    """
    cmap = _column_map(column_map)
    fmt = (fmt or ("csv" if str(path).lower().endswith(".csv") else "jsonl")).lower()
    rows = read_csv(path) if fmt == "csv" else read_jsonl_numbered(path)
    present = set().union(*(obj.keys() for _, obj in rows))
    # Every column the map names must be in the file (the unmapped defaults only where the file has them).
    missing = [ours for ours, theirs in cmap.items() if (ours in ("cv", "jd", "label") and ours in (column_map or {})
               or ours in ("cv", "jd")) and theirs not in present]
    for ours in ("seeker_id", "job_id"):  # optional: ids are made up when the file has none
        if ours in (column_map or {}) and cmap[ours] not in present:
            warnings.warn(f"{path}: the column map names {ours} -> {cmap[ours]!r}, but no row has that column; "
                          f"one {ours} per distinct {'CV' if ours == 'seeker_id' else 'JD'} text is used instead. "
                          f"Found columns: {sorted(map(str, present))}.", stacklevel=2)
    expected = [cmap["cv"], cmap["jd"]]
    label_col = cmap["label"]
    labelled = [row for row, obj in rows if label_col in obj]
    has_label = bool(labelled) or "label" in (column_map or {})
    if has_label:
        expected.append(label_col)
    if missing:
        first = missing[0]
        how = f" (column map: {first} -> {cmap[first]!r})" if first in (column_map or {}) else ""
        others = ", ".join(f"{m} -> {cmap[m]!r}" for m in missing[1:])
        raise DataError(f"{path}, row 1: missing column {cmap[first]!r}{how}; no row of the file has it"
                        f"{'; nor ' + others if others else ''}. Found columns: {sorted(map(str, present))}; "
                        f"expected: {expected}. Fix the column map (CLI: --column-map).")
    if has_label and len(labelled) < len(rows):
        row = next(row for row, obj in rows if label_col not in obj)
        raise DataError(f"{path}, row {row}: missing column {label_col!r}, which row {labelled[0] if labelled else 1} "
                        f"has: label every row, or none (then negatives are sampled). Expected: {expected}.")
    units: dict = {}
    job_ids: dict = {}
    seeker_ids: dict = {}
    seen: dict = {}  # (seeker, cv, jd) -> (row, label): duplicates and contradictions are reported
    dupes, clashes, cv_clash = [], [], []
    for row, obj in rows:
        cv = _field(path, row, obj, cmap["cv"], expected, cfg.data.max_cv_chars, "data.max_cv_chars").strip()
        jd = _field(path, row, obj, cmap["jd"], expected, cfg.data.max_jd_chars, "data.max_jd_chars").strip()
        label = _label(path, row, obj[label_col], label_col) if has_label else 1
        given = obj.get(cmap["seeker_id"])
        sid = str(given) if given not in (None, "") else seeker_ids.setdefault(cv, f"s{len(seeker_ids) + 1:06d}")
        given = obj.get(cmap["job_id"])
        job_id = str(given) if given not in (None, "") else job_ids.setdefault(jd, f"j{len(job_ids) + 1:06d}")
        first = seen.setdefault((sid, cv, jd), (row, label))
        if first[0] != row:
            (dupes if first[1] == label else clashes).append((first[0], row))
        unit = units.setdefault(sid, Unit(row))
        if unit.cvs.setdefault(sid, cv) != cv:
            cv_clash.append((unit.row, row, sid))
        unit.interactions.append((sid, job_id, jd, label))
    _report(path, dupes, "duplicate row(s): same seeker, CV, JD and label", "they are kept and count twice; "
            "remove them if that is not meant")
    _report(path, clashes, "row(s) contradict an earlier row: same seeker, CV and JD, other label",
            "both are kept; fix the labels")
    if cv_clash:
        a, b, sid = cv_clash[0]
        warnings.warn(f"{path}: {len(cv_clash)} row(s) give seeker {sid!r} another CV than its first row (e.g. row "
                      f"{b} vs row {a}); the first CV is used for all of that seeker's rows.", stacklevel=2)
    rng = random.Random(f"girl-generic-{cfg.data.seed}")
    return to_dataset_dict(units_to_splits(list(units.values()), cfg, rng, sample_negatives=not has_label,
                                           source=fmt))


def _column_map(column_map) -> dict:
    """Our column names -> the file's, defaults filled in; a :class:`DataError` for anything but a mapping of
    our names to strings."""
    if column_map is None:
        column_map = {}
    if not isinstance(column_map, dict):
        raise DataError(f"data.column_map must map our column names to the file's, e.g. {{'cv': 'resume'}}; got "
                        f"{column_map!r} (CLI: --column-map '{{\"cv\": \"resume\"}}').")
    unknown = [k for k in column_map if k not in OUR_COLUMNS]
    if unknown:
        raise DataError(f"data.column_map: {', '.join(map(repr, unknown))} not among our columns "
                        f"{', '.join(OUR_COLUMNS)}; the map goes from ours to the file's, e.g. {{'cv': 'resume'}}.")
    bad = {k: v for k, v in column_map.items() if not isinstance(v, str) or not v}
    if bad:
        raise DataError(f"data.column_map: {bad!r}: each value must be a column name of the file (text).")
    cmap = {k: k for k in OUR_COLUMNS}
    cmap.update(column_map)
    return cmap


def _report(path, pairs: list, what: str, advice: str) -> None:
    if pairs:
        shown = ", ".join(f"row {b} = row {a}" for a, b in pairs[:3])
        warnings.warn(f"{path}: {len(pairs)} {what} ({shown}{', ...' if len(pairs) > 3 else ''}); {advice}.",
                      stacklevel=3)
