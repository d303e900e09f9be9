"""The harness: pinned prior numbers (REFERENCE.md section 4), lodo leakage, lomo cold start, report schema."""

import json
import math
from typing import ClassVar

import numpy as np
import pytest

from fennec.evaluation import METHODS, FitContext, Method, evaluate
from fennec.evaluation.methods import RandomMethod, create_method
from fennec.evaluation.protocols import check_benchmarks, get_benchmark
from fennec.evaluation.report import format_table
from fennec.records import RecordStore, ingest_file
from fennec.validation import FennecInputError

KEYS = ["weighted_tau", "weighted_tau_ms", "pearson", "spearman", "rel1", "rel3"]


def test_prior_lodo_sfda_supervised(store):
    rep = evaluate("sfda_supervised", "prior", "lodo", store=store)
    assert len(rep["per_dataset"]) == 11
    assert round(rep["mean"]["weighted_tau"], 3) == 0.837


def test_prior_lodo_logme_tllib_with_birdsnap(store):
    rep = evaluate("logme_tllib", "prior", "lodo", store=store)
    assert len(rep["per_dataset"]) == 9 and "birdsnap" in rep["per_dataset"]
    assert round(rep["mean"]["weighted_tau"], 3) == 0.752


def test_prior_lodo_modelspider_eight_datasets(store):
    rep = evaluate("modelspider_single_source", "prior", "lodo", store=store)
    assert len(rep["per_dataset"]) == 8
    assert round(rep["mean"]["weighted_tau"], 3) == 0.757


def test_prior_lodo_parc_controlled(store):
    rep = evaluate("parc_controlled", "prior", "lodo", store=store)
    assert sorted(rep["per_dataset"]) == sorted(["cifar10", "pets", "cub200", "caltech101", "stanford_dogs",
                                                 "nabird"])
    assert round(rep["mean"]["pearson_parc"], 1) == 61.0


def test_report_schema(store):
    rep = evaluate("parc_controlled", "imagenet", "lodo", store=store)
    assert set(rep) == {"benchmark", "protocol", "method", "per_dataset", "mean"}
    assert (rep["benchmark"], rep["protocol"], rep["method"]) == ("parc_controlled", "lodo", "imagenet")
    for m in [*rep["per_dataset"].values(), rep["mean"]]:
        assert list(m) == [*KEYS, "pearson_parc"]
    # PARC models have no ImageNet top-1 record: no correlation, rel@k at the random level, valid JSON.
    assert rep["mean"]["weighted_tau"] is None and rep["mean"]["rel1"] is not None
    json.loads(json.dumps(rep, allow_nan=False))
    rep = evaluate("sfda_supervised", "imagenet", "lodo", store=store)
    assert list(rep["mean"]) == KEYS and rep["mean"]["weighted_tau"] > 0.3
    assert "mean" in format_table([rep])


def test_random_is_seeded_and_near_zero(store):
    a = evaluate("sfda_supervised", lambda: RandomMethod(n_draws=20), "lodo", store=store, seed=1)
    b = evaluate("sfda_supervised", lambda: RandomMethod(n_draws=20), "lodo", store=store, seed=1)
    assert a == b
    assert abs(a["mean"]["weighted_tau"]) < 0.15
    c = evaluate("sfda_supervised", lambda: RandomMethod(n_draws=20), "lodo", store=store, seed=2)
    assert c["mean"] != a["mean"]
    assert create_method("random").n_draws == 100


class Spy(Method):
    """Records everything it is shown."""

    log: ClassVar[list] = []

    def fit(self, train, context: FitContext):
        self.context = context
        Spy.log.append(("fit", {r.dataset for r in train}, {r.model for r in train}, set(context.tasks),
                        set(context.train_datasets), context.held_out_models))
        return self

    def score(self, task, models):
        Spy.log.append(("score", task.name, [m.id for m in models], [m.architecture for m in models]))
        return np.arange(len(models), dtype=float)


@pytest.fixture
def spy():
    Spy.log = []
    return Spy


def test_lodo_never_shows_the_held_out_dataset_in_any_spelling(empty_store, tmp_path, spy):
    # The same task under three spellings in three benchmarks, plus one more dataset.
    rows = ["benchmark,model,dataset,metric,value"]
    for i, m in enumerate(["timm:resnet18", "timm:resnet34", "timm:resnet50"]):
        rows += [f"alpha,{m},pets,acc,{60 + i}", f"alpha,{m},cifar10,acc,{80 + i}",
                 f"beta,{m},oxford_pets,acc,{0.5 + i / 10}", f"gamma,{m},Oxford-IIIT-Pet,top1,{70 - i}",
                 f"gamma,{m},dtd,top1,{50 + i}"]
    p = tmp_path / "r.csv"
    p.write_text("\n".join(rows) + "\n")
    ingest_file(empty_store, p)
    rep = evaluate("alpha", spy, "lodo", store=empty_store)
    assert sorted(rep["per_dataset"]) == ["cifar10", "pets"]
    fits = [e for e in spy.log if e[0] == "fit"]
    scores = [e for e in spy.log if e[0] == "score"]
    for fit, sc in zip(fits, scores, strict=True):
        target = sc[1]
        seen_datasets, _, seen_cards, train_scope = fit[1], fit[2], fit[3], fit[4]
        assert target not in seen_datasets and target not in seen_cards and target not in train_scope
        for spelling in ("oxford_pets", "oxford_iiit_pet") if target == "pets" else ():
            assert spelling not in seen_datasets
    pets_fit = fits[[s[1] for s in scores].index("pets")]
    assert pets_fit[1] == {"cifar10", "dtd"}


def test_lodo_prior_uses_only_its_benchmark(store):
    bench = get_benchmark("parc_controlled", store)
    assert "voc2007" not in bench.datasets
    assert get_benchmark("transfergraph_records").record_benchmark == "transfergraph_records"
    with pytest.raises(FennecInputError, match="did you mean"):
        get_benchmark("parc_controled", store)


def test_an_unknown_benchmark_lists_only_those_the_store_can_evaluate(empty_store, tmp_path):
    (tmp_path / "r.csv").write_text("benchmark,model,dataset,metric,value\nmine,timm:resnet18,pets,top1_acc,80\n")
    ingest_file(empty_store, tmp_path / "r.csv")
    with pytest.raises(FennecInputError, match=r"\(known: mine\)$"):  # not the built-in ones it has no records of
        get_benchmark("mien", empty_store)


def test_benchmark_close_matches_ignore_case(store):
    with pytest.raises(FennecInputError, match=r"--benchmark 'PARC_controled': unknown benchmark .*did you mean "
                                               r"parc_controlled"):
        get_benchmark("PARC_controled", store)


def test_check_benchmarks_refuses_one_the_store_has_no_records_of(empty_store, tmp_path):
    (tmp_path / "r.csv").write_text("benchmark,model,dataset,metric,value\nmine,timm:resnet18,pets,top1_acc,80\n")
    ingest_file(empty_store, tmp_path / "r.csv")
    assert [b.name for b in check_benchmarks(["mine"], empty_store)] == ["mine"]
    with pytest.raises(FennecInputError, match=r"^--benchmark 'sfda_supervised': the store .* has no records "
                                               r"labelled 'sfda_supervised'.*\(it has: mine\)$"):
        check_benchmarks(["mine", "sfda_supervised"], empty_store)
    with pytest.raises(FennecInputError, match=r"^benchmark 'sfda_supervised' \(run by default\)"):
        check_benchmarks(["sfda_supervised"], empty_store, given=False)


def test_lomo_hides_every_record_of_held_out_models(store, spy):
    rep = evaluate("sfda_supervised", spy, "lomo", store=store, seed=3)
    fits = [e for e in spy.log if e[0] == "fit"]
    assert len(fits) == 5
    held_all = set()
    for fit in fits:
        held = set(fit[5])
        assert held and not (held & fit[2])  # no record of a held-out model, from any benchmark
        held_all |= held
    assert len(held_all) == 11  # every model is held out exactly once
    scored = [e for e in spy.log if e[0] == "score"]
    assert all(set(s[2]) <= held_all for s in scored)
    assert all(a for s in scored for a in s[3])  # cold-start models come with their architecture
    assert len(rep["per_dataset"]) == 11


def test_lomo_prior_cannot_score_cold_start_but_params_can(store):
    rep = evaluate("sfda_supervised", "prior", "lomo", store=store)
    assert rep["mean"]["weighted_tau"] is None
    rep = evaluate("sfda_supervised", "params", "lomo", store=store)
    assert rep["mean"]["weighted_tau"] is not None


def test_methods_registry():
    assert {"prior", "random", "imagenet", "params"} <= set(METHODS.names())
    with pytest.raises(KeyError, match="did you mean prior"):
        METHODS.get("prio")


def test_bad_protocol_and_shape(store):
    with pytest.raises(FennecInputError):
        evaluate("sfda_supervised", "prior", "loo", store=store)

    class Bad(Method):
        def score(self, task, models):
            return np.zeros(len(models) + 1)

    with pytest.raises(ValueError, match="shape"):
        evaluate("sfda_supervised", Bad, "lodo", store=store)


def test_plot(store, tmp_path):
    from fennec.evaluation.plot import plot_reports

    reps = [evaluate("parc_controlled", m, "lodo", store=store) for m in ("prior", "params")]
    out = tmp_path / "bars.png"
    assert plot_reports(reps, out) == "pearson_parc"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_default_store_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FENNEC_STORE", str(tmp_path / "s.sqlite"))
    from fennec.records import default_store_path

    assert default_store_path() == tmp_path / "s.sqlite"
    rep = evaluate("logme_tllib", "prior")
    assert round(rep["mean"]["weighted_tau"], 3) == 0.752
    assert RecordStore(default_store_path()).stats()["records"] == 3045


def test_an_error_rate_benchmark_is_evaluated_the_right_way_up(empty_store, tmp_path):
    """The same table as accuracies and as error rates: the prior (learned from the records) and the parameter
    count (which knows nothing of the metric) get the same, positive, metrics on both."""
    rng = np.random.default_rng(0)
    quality = {"timm:resnet18": 0.0, "timm:resnet34": 2.0, "timm:resnet50": 4.0, "timm:resnet101": 6.0}
    rows = ["benchmark,model,dataset,metric,value"]
    for d in ("pets", "cifar10", "dtd", "flowers"):
        for m, q in quality.items():
            acc = 60 + q + rng.normal(0, 0.5)
            rows += [f"acc_table,{m},{d},top1_acc,{acc:.3f}", f"err_table,{m},{d},top1_error,{100 - acc:.3f}"]
    p = tmp_path / "r.csv"
    p.write_text("\n".join(rows) + "\n")
    ingest_file(empty_store, p)
    for method, protocol in (("prior", "lodo"), ("params", "lomo")):
        acc = evaluate("acc_table", method, protocol, store=empty_store, n_folds=2)["mean"]
        err = evaluate("err_table", method, protocol, store=empty_store, n_folds=2)["mean"]
        assert acc["weighted_tau"] > 0.5
        for key in ("weighted_tau", "pearson", "spearman"):
            assert err[key] == pytest.approx(acc[key])
        # rel@k: the best error over the picked one's, never above 1 (the negated errors' ratio was above 1)
        for key in ("rel1", "rel3"):
            assert 0 < err[key] <= 1


def test_params_counts_an_architecture_the_table_lacks_the_way_the_table_was_made() -> None:
    import csv

    from fennec.evaluation.methods import counted_params, param_count
    from fennec.records.aliases import data_dir

    with open(data_dir() / "aliases" / "params.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["architecture"] == "resnet50")
    assert counted_params("resnet50") == float(row["n_params"])  # the same count as the shipped table's
    assert param_count("mobilenetv3_small_100") == counted_params("mobilenetv3_small_100") > 1e6
    assert math.isnan(param_count("no_such_net")) and math.isnan(param_count(""))


def test_evaluate_refuses_bad_arguments_in_one_line(empty_store):
    for folds in (0, -1, 1):
        with pytest.raises(FennecInputError, match=r"^n_folds: expected "):
            evaluate("sfda_supervised", "prior", "lomo", store=empty_store, n_folds=folds)
    with pytest.raises(FennecInputError, match=r"^datasets: expected a list of dataset names, got the string 'pets'"):
        evaluate("sfda_supervised", "prior", store=empty_store, datasets="pets")
    with pytest.raises(FennecInputError, match=r"^store: expected a RecordStore or the path of a store file, got int"):
        evaluate("sfda_supervised", "prior", store=3)
    with pytest.raises(FennecInputError, match=r"^method: .* got a RandomMethod instance; pass the class"):
        evaluate("sfda_supervised", RandomMethod(), store=empty_store)


def test_evaluate_refuses_a_store_path_that_names_no_file(tmp_path):
    """A mistyped path made and seeded a new store of the shipped records, evaluated as if it were the caller's."""
    typo = tmp_path / "recrods.sqlite"
    with pytest.raises(FennecInputError, match=r"^store '.*recrods.sqlite': no such store"):
        evaluate("sfda_supervised", "prior", store=str(typo))
    assert not typo.exists()


def test_evaluate_takes_a_store_path(store_path):
    rep = evaluate("sfda_supervised", "prior", "lodo", store=store_path, datasets=["cifar10"])
    assert list(rep["per_dataset"]) == ["cifar10"]
