"""The generic CV / JD extractors and the pair features of the reward model's feature head (hand-computed)."""

import math
import random

import pytest

from girl_lib import extract as X

CV = """Dana Lee
Boston, MA | Expected salary: $80k · Open to relocation
Bookkeeper with 4 years of experience.
Experience:
2019 - present: Bookkeeper, Acme
Education: Bachelor's degree in Finance, Some University, 2018
Skills: Xero, Excel"""

JD_ONSITE = """Senior Bookkeeper
Location: Denver, CO (on-site) | Salary: $75,000–$90,000
Requirements:
- At least 6 years in a similar role
- Master's degree in Accounting
- PhD is a plus"""

JD_REMOTE = """Bookkeeper
Remote within the US | Salary: $60k-$70k
Requirements:
- 2–4 years of experience
- Xero"""

JD_SILENT = """Bookkeeper
We need a great bookkeeper.
Salary: competitive"""


def feats(cv, jd) -> dict:
    return dict(zip(X.FEATURE_NAMES, X.pair_features(cv, jd)))


# --------------------------------------------------------------------------- years
@pytest.mark.parametrize("text, years", [
    ("Bookkeeper with 4 years of experience.", 4.0),
    ("Experienced store manager (5 years) who values calm", 5.0),
    ("10+ years of relevant experience", 10.0),
    ("At least 3 years in a similar role", 3.0),
    ("0–2 years of experience; graduates welcome", 0.0),
    ("2.5 yrs in sales", 2.5),
    ("Drove 20k miles a year", None),
    ("", None),
])
def test_stated_years(text, years):
    assert X.stated_years(text) == years


def test_cv_years_sums_the_union_of_date_spans():
    cv = "Clerk, 2015 – 2018\nAssistant (2017 - 2019)\n2021 - present: Bookkeeper"
    assert X.date_spans(cv) == [(2015, 2018), (2017, 2019), (2021, X.PRESENT_YEAR)]
    # 2015-2019 (overlap counted once) = 4, plus 2021-2023 = 2
    assert X.cv_years(cv) == 6.0
    assert X.cv_years(cv, present_year=2025) == 8.0
    assert X.cv_years("Worked 2020 to now.") == float(X.PRESENT_YEAR - 2020)
    assert X.cv_years("2021 - 2019 typo") is None  # a span that ends before it starts is dropped
    assert X.cv_years(CV) == 4.0  # a stated total comes first


def test_jd_years_prefers_the_experience_line():
    jd = "About us: 20 years serving customers\nRequirements:\n- 5+ years of experience with budgets"
    assert X.jd_years(jd) == 5.0
    assert X.jd_years(JD_ONSITE) == 6.0
    assert X.jd_years(JD_REMOTE) == 2.0
    assert X.jd_years(JD_SILENT) is None


# --------------------------------------------------------------------------- money
def test_money_amounts_in_thousands_a_year():
    assert X.money_amounts("$85k–$105k") == [85.0, 105.0]
    assert X.money_amounts("$85,000 - $105,000") == [85.0, 105.0]
    assert X.money_amounts("$85-105k") == [85.0, 105.0]  # the upper bound's k applies to both
    assert X.money_amounts("$85.5K then $12 then $40/hour") == [85.5, 40 * 2080 / 1000]
    assert X.money_amounts("$30 an hour") == [62.4]
    assert X.money_amounts("no money here") == []


def test_salary_band_and_ask():
    assert X.salary_band(JD_ONSITE) == (75.0, 90.0)
    assert X.salary_band(JD_REMOTE) == (60.0, 70.0)
    assert X.salary_band(JD_SILENT) is None
    assert X.salary_band("Pay: $50,000 a year") == (50.0, 50.0)
    assert X.salary_ask("Based in Atlanta, GA. Looking for $41k per year.") == 41.0
    assert X.salary_ask("Location: Miami, FL · Salary expectation: $74,000") == 74.0
    assert X.salary_ask("Cut costs by $20k.\nExpected salary: $60k-$70k") == 65.0  # the salary line, midpoint
    assert X.salary_ask("no pay asked") is None


# --------------------------------------------------------------------------- places
def test_places_remote_and_relocation():
    assert X.places("Based in New York, NY. Moved from St. Louis, MO") == ["new york, ny", "st. louis, mo"]
    assert X.places("Paris, FR and Lyon") == []  # FR is no US state
    assert X.place(CV) == "boston, ma"
    assert X.place("Acme Corp\nLocation: Chicago, IL (hybrid)") == "chicago, il"
    assert X.place("Remote (US)") is None
    assert X.same_place("boston, ma", "team lead boston, ma")
    assert not X.same_place("boston, ma", "boston, ga") and not X.same_place(None, "boston, ma")
    assert X.is_remote("Location: Remote (US)") and X.is_remote(JD_REMOTE)
    assert not X.is_remote("on-site, no remote work") and not X.is_remote("a non-remote role")
    assert X.open_to_relocation(CV) and not X.open_to_relocation(JD_ONSITE)


# --------------------------------------------------------------------------- degrees
@pytest.mark.parametrize("text, levels", [
    ("High school diploma", [0]),
    ("Vocational training welcome", [0]),
    ("BSc in Mathematics", [1]),
    ("B.Sc. in Business, Riverside University", [1]),
    ("Bachelor's degree in Psychology", [1]),
    ("MBA, 2019", [2]),
    ("MSc in Data Science", [2]),
    ("PhD in Physics", [3]),
    ("Doctorate in Chemistry", [3]),
    ("a degree in nursing", [1]),
    ("Boston, MA", []),  # the state code is no master's
    ("Tidied vendor master data", []),
    ("", []),
])
def test_degree_levels(text, levels):
    assert X.degree_levels(text) == levels


def test_cv_takes_the_highest_degree_and_jd_the_lowest_required():
    assert X.cv_degree("BSc in Maths, 2015\nMSc in Physics, 2017") == 2
    assert X.jd_degree("Bachelor's or Master's degree in Finance") == 1
    assert X.jd_degree(JD_ONSITE) == 2  # the PhD is only "a plus"
    assert X.jd_degree(JD_REMOTE) is None


# --------------------------------------------------------------------------- pair features
def test_pair_features_on_site_elsewhere_and_asking_for_more():
    f = feats(CV, JD_ONSITE)
    assert list(f) == list(X.FEATURE_NAMES) and len(X.pair_features(CV, JD_ONSITE)) == len(X.FEATURE_NAMES)
    assert f["years_short"] == pytest.approx((6 - 4) / 5) and f["years_short_any"] == 1.0
    assert f["years_excess"] == 0.0
    # ask 80, band top 90: no shortfall, not over budget
    assert f["pay_short"] == 0.0 and f["over_budget"] == 0.0
    assert f["log_pay_ratio"] == pytest.approx(math.log(90 / 80))
    assert f["same_place"] == 0.0 and f["away"] == 1.0 and f["away_relocate"] == 1.0 and f["jd_remote"] == 0.0
    assert f["degree_short"] == 1.0  # master's asked, bachelor's held
    assert [f[k] for k in ("jd_no_years", "jd_no_band", "jd_no_place", "jd_no_degree")] == [0.0] * 4


def test_pair_features_remote_low_pay_over_qualified():
    f = feats(CV, JD_REMOTE)
    assert f["years_short"] == 0.0 and f["years_short_any"] == 0.0
    assert f["years_excess"] == pytest.approx((4 - 2) / 10)
    assert f["pay_short"] == pytest.approx(1 - 70 / 80)
    assert f["over_budget"] == pytest.approx(80 / 70 - 1)
    assert f["log_pay_ratio"] == pytest.approx(math.log(70 / 80))
    assert f["away"] == 0.0 and f["jd_remote"] == 1.0 and f["same_place"] == 0.0  # remote: no city to be away from
    assert f["degree_short"] == 0.0
    assert f["jd_no_place"] == 0.0 and f["jd_no_degree"] == 1.0 and f["jd_no_years"] == 0.0


def test_pair_features_same_city_and_clipping():
    jd = "Bookkeeper\nLocation: Boston, MA (on-site) | Salary: $15k–$20k\n- 1+ years of experience\n- BSc"
    f = feats(CV, jd)
    assert f["same_place"] == 1.0 and f["away"] == 0.0 and f["away_relocate"] == 0.0
    assert f["pay_short"] == pytest.approx(1 - 20 / 80)
    assert f["over_budget"] == 2.0  # 80 / 20 - 1 = 3, clipped at 2
    assert f["log_pay_ratio"] == -1.0  # log(20 / 80) = -1.39, clipped at -1
    assert f["years_excess"] == pytest.approx(0.3) and f["degree_short"] == 0.0


def test_a_jd_that_omits_facts_is_flagged_not_matched():
    f = feats(CV, JD_SILENT)
    for name in ("years_short", "years_short_any", "years_excess", "pay_short", "over_budget", "log_pay_ratio",
                 "same_place", "away", "away_relocate", "jd_remote", "degree_short"):
        assert f[name] == 0.0, name
    assert [f[k] for k in ("jd_no_years", "jd_no_band", "jd_no_place", "jd_no_degree")] == [1.0] * 4
    # a CV that states nothing compares with nothing, but the JD's omissions are still its own
    g = feats("", JD_ONSITE)
    assert g["away"] == 0.0 and g["years_short"] == 0.0 and g["jd_no_band"] == 0.0 and g["jd_no_place"] == 0.0


def test_garbage_never_raises_and_gives_finite_features():
    rng = random.Random(0)
    alphabet = "$k,.-–+0123456789 \n\tyearsYEARSRemote,MA NY PhD BSc present 2019()/hour\x00\xff€"
    samples = [None, "", 12, 3.5, b"\xff\xfe$85k", ["a", 1], object(), "$" * 500, "9" * 400 + " years",
               "$1,000,000,000,000,000k–$0", "2019 - 2019 - present", "$0k–$0k", ", MA" * 100, "\ud800 bad"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(200))) for _ in range(300)]
    for cv in samples[:40]:
        for jd in samples:
            f = X.pair_features(cv, jd)
            assert len(f) == len(X.FEATURE_NAMES) and all(isinstance(v, float) and math.isfinite(v) for v in f)
    for s in samples:
        X.cv_facts(s)
        X.jd_facts(s)


def test_extract_does_not_read_the_synthetic_world():
    src = open(X.__file__, encoding="utf-8").read()
    assert "world" not in "".join(ln for ln in src.splitlines() if ln.startswith(("import", "from")))
