import numpy as np
import pytest

from fennec.records import Record, record_matrix


def test_record_matrix_of_the_shipped_table(store):
    models, datasets, mat = record_matrix(store.records(benchmark="sfda_supervised"))
    assert mat.shape == (11, 11) and np.isfinite(mat).all()
    assert models == sorted(models) and datasets == sorted(datasets)


def test_record_matrix_averages_a_cell_and_leaves_gaps():
    recs = [Record("a", "x", "b", "m1", 1.0), Record("a", "x", "b", "m2", 3.0), Record("b", "y", "b", "m1", 5.0)]
    models, datasets, mat = record_matrix(recs)
    assert models == ["a", "b"] and datasets == ["x", "y"]
    np.testing.assert_array_equal(mat, [[2.0, np.nan], [np.nan, 5.0]])


def test_record_matrix_orients_error_metrics_and_follows_the_given_order():
    recs = [Record("a", "x", "b", "top1_error", 20.0), Record("b", "x", "b", "top1_error", 30.0),
            Record("c", "x", "b", "top1_error", 25.0)]
    models, _, mat = record_matrix(recs, models=["c", "b", "a", "unknown"], datasets=["x", "z"])
    assert models == ["c", "b", "a", "unknown"]
    # An error rate is negated, so the lowest error is the largest value of its column.
    np.testing.assert_array_equal(mat[:, 0], [-25.0, -30.0, -20.0, np.nan])
    assert np.isnan(mat[:, 1]).all()
    assert models[int(np.nanargmax(mat[:, 0]))] == "a"



def test_check_record_is_the_one_check_of_store_and_fit():
    from fennec.records.record import check_record
    from fennec.validation import FennecInputError

    ok = Record(model="timm:a", dataset="d", benchmark="b", metric="top1_acc", value="80.5")
    assert check_record(ok) == 80.5
    with pytest.raises(FennecInputError, match=r"^record: expected a fennec.records.Record .* got dict"):
        check_record({"model": "timm:a"})
    with pytest.raises(FennecInputError, match=r"^record value of 'timm:a' on 'd': expected a number, got True"):
        check_record(Record(model="timm:a", dataset="d", benchmark="b", metric="top1_acc", value=True))
