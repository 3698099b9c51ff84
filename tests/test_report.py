"""The report's one formatter for paired differences: every "shown / not shown" goes through it."""

from girl_lib.report import diff_text


def test_diff_text_signs_rounds_and_gives_the_verdict():
    assert diff_text({"mean": 0.4094, "ci95": [0.3171, 0.5109]}) == "+0.409 [+0.317, +0.511] (shown)"
    assert diff_text({"mean": -0.02, "ci95": [-0.25, 0.21]}, 2) == "-0.02 [-0.25, +0.21] (not shown)"
    assert diff_text({"mean": -0.3, "ci95": [-0.41, -0.19]}, 2) == "-0.30 [-0.41, -0.19] (shown)"  # below 0: shown
    # an interval touching 0 does not exclude it
    assert diff_text({"mean": 0.23, "ci95": [0.0, 0.46]}, 2).endswith("(not shown)")
    # too few units behind the interval: never shown
    assert diff_text({"mean": 0.1, "ci95": [0.05, 0.15]}, too_few=True).endswith("(not shown)")
    # a bootstrap over one CV gives a point, not an interval: never shown; units that all agree are shown
    assert diff_text({"mean": 0.2, "ci95": [0.2, 0.2], "n": 1}, 2) == "+0.20 [+0.20, +0.20] (not shown)"
    assert diff_text({"mean": 0.2, "ci95": [0.2, 0.2], "n": 3}, 2) == "+0.20 [+0.20, +0.20] (shown)"
    assert diff_text({"mean": 0.2, "ci95": [0.1, 0.3], "n": 1}, 2).endswith("(not shown)")
    assert diff_text({"mean": 0.2, "ci95": [0.1, 0.3], "n": 2}, 2).endswith("(shown)")
    assert diff_text({"mean": 0.01234, "ci95": [-0.004, 0.029]}, 4, verdict=False) == "+0.0123 [-0.0040, +0.0290]"


def test_diff_text_without_an_interval_or_a_difference():
    assert diff_text(None) == "—"
    assert diff_text({"mean": None, "ci95": None}) == "—"
    assert diff_text({"mean": 0.5, "ci95": None}, 2) == "+0.50"
    assert diff_text({"mean": 0.5, "ci95": [None, None]}, 2) == "+0.50"
