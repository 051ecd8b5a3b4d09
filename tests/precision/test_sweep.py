"""Looking up and tabulating the records of a precision sweep."""

import pytest

from bn.precision.sweep import error_of, error_table

RECORDS = [
    {"mean": 1.0, "dtype": "float32", "impl": "storage only", "y": 1e-8, "dx": None, "m": 4},
    {"mean": 1.0, "dtype": "float32", "impl": "book", "y": 2e-7, "dx": 3e-7, "m": 4},
    {"mean": 10.0, "dtype": "float32", "impl": "book", "y": 4e-6, "dx": 5e-6, "m": 4},
]


def test_error_of_picks_the_one_matching_record():
    assert error_of(RECORDS, "float32", "book", mean=10.0) == 4e-6
    assert error_of(RECORDS, "float32", "book", key="dx", mean=1.0) == 3e-7
    with pytest.raises(KeyError, match="0 records"):
        error_of(RECORDS, "float16", "book", mean=1.0)
    with pytest.raises(KeyError, match="2 records"):
        error_of(RECORDS, "float32", "book")


def test_error_table_leaves_out_storage_and_formats_errors():
    html = error_table(RECORDS, "mean", "mean/std").html()
    assert html.count("<tr>") == 3  # header and the two book rows
    assert "<th>mean/std</th>" in html and "<td>4.0e-06</td><td>5.0e-06</td>" in html
    assert "storage only" not in html
    by_m = error_table(RECORDS, "n", "m").html()
    assert "<tr><td>4</td><td>float32</td>" in by_m  # for n the column shows m
