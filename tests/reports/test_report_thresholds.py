"""Threshold rules: the TOML shape, the grammar, one-line errors, evaluation and noise."""

from __future__ import annotations

import pytest

from reports.errors import ReportInputError
from reports.thresholds import Thresholds, evaluate, evaluate_change, load_thresholds, parse_rule

EXAMPLE = """
[thresholds]
rules = ["run.p95_ms <= 250", "runsync.error_rate <= 0.001", "all.rate_limited_share <= 0.01",
         "conformance.violations == 0", "run.p95_ms.regression <= 10%"]
"""


def write(tmp_path, text):
    path = tmp_path / "t.toml"
    path.write_text(text)
    return path


def test_the_issue_example_parses(tmp_path):
    thresholds = load_thresholds(write(tmp_path, EXAMPLE))
    assert [r.key for r in thresholds.rules] == [
        "run.p95_ms",
        "runsync.error_rate",
        "all.rate_limited_share",
        "conformance.violations",
        "run.p95_ms",
    ]
    last = thresholds.rules[-1]
    assert last.regression and last.percent and last.limit == 10.0 and last.comparator == "<="
    assert thresholds.missing == "fail"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules = [", "not valid TOML"),
        ("[other]\nrules = []", "expected a [thresholds] table"),
        ('[thresholds]\nrules = ["run.p95 <= 3"]', "unknown metric 'p95'"),
        ('[thresholds]\nrules = ["nowhere.p95_ms <= 3"]', "unknown scope 'nowhere'"),
        ('[thresholds]\nrules = ["run.p95_ms is small"]', "bad threshold rule"),
        ('[thresholds]\nrules = ["run.p95_ms <= 5%"]', "only for .regression"),
        ("[thresholds]\nrules = [3]", "every rule must be a string"),
        ('[thresholds]\nrules = []\nmissing = "maybe"', "missing must be"),
        ("[thresholds]\nrules = []\nextra = 1", "unknown key(s) extra"),
    ],
)
def test_malformed_files_give_one_line(tmp_path, text, message):
    with pytest.raises(ReportInputError) as caught:
        load_thresholds(write(tmp_path, text))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(ReportInputError, match="cannot read thresholds file"):
        load_thresholds(tmp_path / "absent.toml")


def test_every_comparator():
    values = {"run.p95_ms": 100.0}
    for text, ok in [
        ("<= 100", True),
        ("< 100", False),
        (">= 100", True),
        ("> 100", False),
        ("== 100", True),
        ("!= 100", False),
    ]:
        result = evaluate(Thresholds((parse_rule(f"run.p95_ms {text}"),)), values)[0]
        assert result.status == ("met" if ok else "broken"), text


def test_missing_metric_fails_by_default_and_can_be_skipped():
    rule = parse_rule("runsync.p95_ms <= 5")
    assert evaluate(Thresholds((rule,)), {})[0].status == "broken"
    assert evaluate(Thresholds((rule,), missing="skip"), {})[0].status == "no data"


def test_regression_rules_wait_for_a_baseline():
    result = evaluate(Thresholds((parse_rule("run.p95_ms.regression <= 10%"),)), {"run.p95_ms": 1.0})[0]
    assert result.status == "skipped" and not result.breached


def test_regression_needs_both_the_threshold_and_the_noise():
    rules = Thresholds((parse_rule("run.p95_ms.regression <= 10%"),))
    base, worse = {"run.p95_ms": 100.0}, {"run.p95_ms": 130.0}
    assert (
        evaluate_change(rules, base, worse, lambda r: 5.0)[0].status == "broken"
    )  # +30% and 30 ms > 5 ms noise
    quiet = evaluate_change(rules, base, worse, lambda r: 40.0)[0]  # 30 ms is inside +-40 ms of noise
    assert quiet.status == "met" and "within noise" in quiet.detail
    assert evaluate_change(rules, base, {"run.p95_ms": 105.0}, lambda r: 1.0)[0].status == "met"  # +5% < 10%
    assert evaluate_change(rules, base, worse, lambda r: None)[0].status == "broken"  # no noise estimate


def test_throughput_regression_is_a_drop():
    rules = Thresholds((parse_rule("all.achieved_rps.regression <= 5%"),))
    assert (
        evaluate_change(rules, {"all.achieved_rps": 100.0}, {"all.achieved_rps": 120.0}, lambda r: 0.0)[
            0
        ].status
        == "met"
    )
    assert (
        evaluate_change(rules, {"all.achieved_rps": 100.0}, {"all.achieved_rps": 80.0}, lambda r: 0.0)[
            0
        ].status
        == "broken"
    )


def test_absolute_regression_in_metric_units():
    rules = Thresholds((parse_rule("run.error_rate.regression <= 0.001"),))
    result = evaluate_change(rules, {"run.error_rate": 0.0}, {"run.error_rate": 0.01}, lambda r: 0.0)[0]
    assert result.status == "broken" and result.value == pytest.approx(0.01)
