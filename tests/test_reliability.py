"""Clear errors instead of tracebacks: data validated at the data stage (with a property-based test of the
loaders), the OS (a run dir that is a file or not writable), interrupts, and "run X first" hints."""

import csv
import io
import json
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from girl_lib import pipeline
from girl_lib.cli import main
from girl_lib.config import get_profile
from girl_lib.data import (MIN_ROWS, REQUIRED_COLUMNS, SPLITS, DataError, load_generic, load_rjdb, run_data,
                           validate_dataset)
from girl_lib.runio import GirlError, check_run_dir, is_done

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GENERIC_MAP = {"cv": "resume", "jd": "posting", "label": "matched", "seeker_id": "candidate"}


@pytest.fixture(scope="module")
def tiny():
    return get_profile("tiny")


def _pairs(n_seekers, labels=(1, 0), extra=None):
    """JSONL rows: each seeker one CV and one JD per label."""
    rows = []
    for i in range(n_seekers):
        for k, label in enumerate(labels):
            rows.append({"cv": f"CV of person {i}: skills {i % 7}, years {i % 11}.",
                         "jd": f"Job {(i + k) % n_seekers}. Requirements: skill {(i + k) % 7}.", "label": label,
                         **(extra or {})})
    return rows


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------- the data stage
def test_a_file_too_small_for_a_split_is_refused_naming_file_split_and_consumer(tmp_path, tiny):
    cfg = get_profile("tiny", {"data.source": "csv", "data.path": str(FIXTURES / "generic_tiny.csv"),
                               "data.column_map": GENERIC_MAP})
    with pytest.raises(DataError, match=r"generic_tiny\.csv: split '\w+' has \d row\(s\); .* needs at least"):
        run_data(cfg, tmp_path)
    assert not is_done(tmp_path, "data")
    rc = main(["data", "--profile", "tiny", "--run-dir", str(tmp_path), "--source", "csv", "--path",
               str(FIXTURES / "generic_tiny.csv"), "--column-map", json.dumps(GENERIC_MAP)])
    assert rc == 2


def test_rec_splits_need_both_labels(tmp_path, tiny):
    path = _write_jsonl(tmp_path / "pos.jsonl", _pairs(60, labels=(1,)))
    ds = load_generic(path, {"label": "label"}, tiny)  # labelled, all positive: no negatives are sampled
    with pytest.raises(DataError, match=r"pos\.jsonl: split 'rec_\w+' holds only label 1 .*both 0 and 1"):
        validate_dataset(ds, str(path))
    ds = load_generic(_write_jsonl(tmp_path / "ok.jsonl", _pairs(400)), None, tiny)
    validate_dataset(ds, "ok.jsonl")
    assert all(len(ds[n]) >= MIN_ROWS[n] for n in SPLITS)


def test_the_column_map_is_checked_against_the_file(tmp_path, tiny):
    path = _write_jsonl(tmp_path / "f.jsonl", _pairs(10))
    with pytest.raises(DataError, match=r"f\.jsonl, row 1: missing column 'resume' \(column map: cv -> 'resume'\)"
                                        r".*Found columns: \['cv', 'jd', 'label'\]"):
        load_generic(path, {"cv": "resume"}, tiny)
    with pytest.raises(DataError, match=r"'cvs' not among our columns"):
        load_generic(path, {"cvs": "cv"}, tiny)
    with pytest.raises(DataError, match="must map our column names"):
        load_generic(path, "cv=resume", tiny)
    with pytest.raises(DataError, match=r"missing column 'matched'"):
        load_generic(path, {"label": "matched"}, tiny)
    with pytest.warns(UserWarning, match=r"seeker_id -> 'person'.*no row has that column"):
        load_generic(path, {"seeker_id": "person"}, tiny)


def test_a_label_in_some_rows_only_is_refused_naming_the_row(tmp_path, tiny):
    rows = _pairs(10)
    del rows[4]["label"]
    with pytest.raises(DataError, match=r"f\.jsonl, row 5: missing column 'label', which row 1 has: label every "
                                        r"row, or none"):
        load_generic(_write_jsonl(tmp_path / "f.jsonl", rows), None, tiny)
    rows = [{k: v for k, v in r.items() if k != "label"} for r in _pairs(10)]
    rows[7]["label"] = 1
    with pytest.raises(DataError, match=r"row 1: missing column 'label', which row 8 has"):
        load_generic(_write_jsonl(tmp_path / "f.jsonl", rows), None, tiny)


def test_duplicate_and_contradicting_rows_are_reported(tmp_path, tiny):
    rows = _pairs(10)
    rows.append(dict(rows[0]))
    rows.append(dict(rows[2], label=0))
    with pytest.warns(UserWarning) as caught:
        load_generic(_write_jsonl(tmp_path / "d.jsonl", rows), None, tiny)
    text = " | ".join(str(w.message) for w in caught)
    assert "1 duplicate row(s)" in text and "row 21 = row 1" in text
    assert "1 row(s) contradict an earlier row" in text and "row 22 = row 3" in text


def test_broken_csv_and_encodings_are_clear_errors(tmp_path, tiny):
    path = tmp_path / "huge.csv"
    path.write_text("cv,jd\nsome cv,some jd\nother cv,\"" + "x" * 200_000 + "\"\n")
    with pytest.raises(DataError, match=r"huge\.csv, row 2: not valid CSV \(field larger than field limit"):
        load_generic(path, None, tiny)
    path = tmp_path / "u16.jsonl"
    path.write_bytes(json.dumps({"cv": "x", "jd": "y"}).encode("utf-16"))
    with pytest.raises(DataError, match=r"u16\.jsonl, row 1: bytes are not valid UTF-8"):
        load_generic(path, None, tiny)


def test_cli_column_map_that_is_not_json(tmp_path, capsys):
    rc = main(["data", "--profile", "tiny", "--run-dir", str(tmp_path), "--source", "csv", "--path",
               str(FIXTURES / "generic_tiny.csv"), "--column-map", "{cv: resume}"])
    err = capsys.readouterr().err
    assert rc == 2 and "--column-map is not valid JSON" in err and "{cv: resume}" in err
    rc = main(["data", "--profile", "tiny", "--run-dir", str(tmp_path), "--source", "csv", "--path",
               str(FIXTURES / "generic_tiny.csv"), "--column-map", '["cv"]'])
    assert rc == 2 and "must be a JSON object" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- property test
_NAMES = ["cv", "jd", "label", "seeker_id", "job_id", "resume", "Label", "", "x y"]
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_WORDS = st.lists(st.sampled_from(["Python", "nurse", "SQL", "forklift", "5 years", "HACCP", "React", "ü", "é"]),
                  min_size=1, max_size=6).map(" ".join)
_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-1, 2), st.floats(allow_nan=True), _TEXT, _WORDS,
                   st.lists(st.integers(0, 1), max_size=2), st.sampled_from(["0", "1", "yes", "true", " 1 "]))
_RANDOM_ROW = st.dictionaries(st.sampled_from(_NAMES), _VALUE, max_size=6)
_GOOD_ROW = st.fixed_dictionaries({"cv": _WORDS, "jd": _WORDS},
                                  optional={"label": st.sampled_from([0, 1, "0", "1", True]),
                                            "seeker_id": st.sampled_from(["a", "b", "c", 7, None, ""]),
                                            "job_id": st.sampled_from(["j1", "j2", 3, None])})
_ROWS = st.one_of(
    st.lists(st.one_of(_GOOD_ROW, _GOOD_ROW, _GOOD_ROW, _RANDOM_ROW), max_size=40),
    # big enough for every split, with a few odd rows mixed in (or none)
    st.builds(lambda n, odd, at: (_pairs(n)[:at] + odd + _pairs(n)[at:]), st.integers(300, 360),
              st.lists(_GOOD_ROW, max_size=3), st.integers(0, 600)))
_MAP = st.one_of(st.none(), st.just({}), st.dictionaries(st.sampled_from(["cv", "jd", "label", "seeker_id", "bogus"]),
                                                         st.sampled_from(["cv", "jd", "label", "resume", ""]),
                                                         max_size=3),
                 st.just(["cv"]))


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


def _as_csv(rows) -> str:
    header = list(dict.fromkeys(k for r in rows for k in r)) or ["cv"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow(["" if r.get(k) is None else str(r.get(k)) for k in header])
    return buf.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                 HealthCheck.function_scoped_fixture])
@given(rows=_ROWS, fmt=st.sampled_from(["jsonl", "csv"]), encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1",
                                                                                 "utf-16", "cp1252"]),
       newline=st.sampled_from(["\n", "\r\n"]), garbage=st.one_of(st.none(), st.binary(min_size=1, max_size=12)),
       column_map=_MAP)
def test_loaders_return_clean_splits_or_a_girl_error(tmp_path_factory, tiny, rows, fmt, encoding, newline, garbage,
                                                     column_map):
    """Random rows, columns, values, encodings and stray bytes: either every split with its columns and
    0/1 labels (and, when the stage's checks pass, big enough), or a GirlError; never another exception."""
    path = tmp_path_factory.mktemp("prop") / f"in.{fmt}"
    text = _as_csv(rows) if fmt == "csv" else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    data = _encode(text.replace("\n", newline) if fmt == "jsonl" else text, encoding)
    if garbage is not None:
        data = data + garbage
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = load_generic(path, column_map, tiny, fmt=fmt)
        except GirlError as err:
            assert str(path) in str(err) or "column_map" in str(err)
            event("refused by the loader")
            return
    for name in SPLITS:
        assert list(ds[name].column_names[:len(REQUIRED_COLUMNS[name])]) == list(REQUIRED_COLUMNS[name])
        if name.startswith("rec_"):
            assert set(ds[name]["label"]) <= {0, 1}
        for col in ("cv", "jd"):
            if col in ds[name].column_names:
                assert all(isinstance(t, str) and t.strip() for t in ds[name][col])
    try:
        validate_dataset(ds, str(path))
    except DataError as err:
        assert str(path) in str(err)
        event("loaded, refused by the stage's checks")
        return
    event("loaded and valid")
    assert all(len(ds[n]) >= MIN_ROWS[n] for n in SPLITS)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(
    st.fixed_dictionaries({k: _WORDS for k in ("Job-Description", "Resume-matched", "Resume-unmatched", "Skills",
                                               "Experiences")}),
    st.dictionaries(st.sampled_from(["Job-Description", "Resume-matched", "Resume-unmatched", "Skills"]), _VALUE)),
    max_size=20))
def test_rjdb_loader_returns_splits_or_a_girl_error(tmp_path_factory, tiny, rows):
    path = tmp_path_factory.mktemp("rjdb") / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = load_rjdb(path, tiny)
        except GirlError:
            return
    assert set(ds) == set(SPLITS)


# ------------------------------------------------------------------------------------------- OS and interrupts
def test_a_run_dir_that_is_a_file_or_unwritable_is_a_message(tmp_path, monkeypatch, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["run", "--profile", "tiny", "--run-dir", str(f)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["data", "--profile", "tiny", "--run-dir", str(f / "sub")]) == 2
    assert "cannot create the run dir" in capsys.readouterr().err
    real = Path.write_text

    def refuse(self, *a, **k):
        if self.name.startswith(".write-test-"):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", refuse)
    with pytest.raises(GirlError, match="is not writable"):
        check_run_dir(tmp_path / "r")
    assert main(["report", "--profile", "tiny", "--run-dir", str(tmp_path / "r")]) == 2


def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path, monkeypatch, capsys):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_pipeline", interrupted)
    assert main(["run", "--profile", "tiny", "--run-dir", str(tmp_path)]) == 130
    assert "interrupted; rerun the same command to resume" in capsys.readouterr().err
    assert main(["run", "--profile", "tiny", "--run-dir", str(tmp_path), "--force", "ppo"]) == 130
    assert "without --force" in capsys.readouterr().err
    monkeypatch.setattr(pipeline, "run_stage", interrupted)
    assert main(["ppo", "--profile", "tiny", "--run-dir", str(tmp_path)]) == 130
    assert "girl ppo --resume" in capsys.readouterr().err


def test_run_first_hints_name_the_profile(tmp_path, capsys):
    assert main(["sft", "--profile", "tiny", "--run-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"girl data --run-dir {tmp_path} --profile tiny" in err
    assert not (tmp_path / "sft").exists()  # nothing was started
    assert main(["judge", "--profile", "tiny", "--run-dir", str(tmp_path)]) == 2
    assert "--profile tiny" in capsys.readouterr().err


def test_other_os_errors_are_a_message(tmp_path, monkeypatch, capsys):
    def full(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(pipeline, "run_pipeline", full)
    assert main(["run", "--profile", "tiny", "--run-dir", str(tmp_path)]) == 1  # a write failure: exit 1
    assert "No space left on device" in capsys.readouterr().err

    def missing(*a, **k):
        raise FileNotFoundError(2, "No such file or directory", str(tmp_path / "y"))

    monkeypatch.setattr(pipeline, "run_pipeline", missing)
    assert main(["run", "--profile", "tiny", "--run-dir", str(tmp_path)]) == 2
    assert "No such file or directory" in capsys.readouterr().err
