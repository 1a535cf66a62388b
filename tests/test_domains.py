"""The domain content: eight domains tied to real catalog datasets, shipped-model recipes and translations."""
from bigmodel_core import catalog, domains
from bigmodel_core.defaults import RECIPES
from ui.i18n import table

EXPECTED = {
    "healthcare": {"diabetes": ["diabetes-mlp"], "breast-cancer": ["breast-cancer-mlp"]},
    "finance": {"credit-default": ["credit-default-mlp"]},
    "education": {"student-performance": ["student-grade-mlp"]},
    "manufacturing": {"ai4i2020": ["ai4i-failure-mlp"]},
    "public-safety": {"cifar10-images": ["cifar10-cnn", "cifar10-lenet-seed"]},
    "transport": {"bike-sharing": ["bike-demand-mlp"]},
    "smart-home": {"energy-efficiency": ["energy-heating-mlp"]},
    "customer-service": {"sst2": ["sst2-minilm", "sst2-tiny"], "waimai10k": ["waimai-tiny"]},
}


def test_the_eight_domains_and_their_pairs():
    assert list(domains.DOMAINS) == list(EXPECTED)
    for d in domains.DOMAINS.values():
        assert {s.dataset: list(s.models) for s in d.showcases} == EXPECTED[d.id]
        assert d.icon
    assert domains.check() == []


def test_every_model_has_a_recipe_and_trains_on_its_dataset():
    for d in domains.DOMAINS.values():
        for s in d.showcases:
            for m in s.models:
                assert m in RECIPES, m
                assert RECIPES[m].spec.dataset == s.dataset
            assert s.train_preset() == {"task": catalog.get(s.dataset).task, "dataset": s.dataset}


def test_cross_domain_map_covers_every_model_once():
    rows = domains.cross_domain_map()
    models = [m for r in rows for m in r["models"]]
    assert sorted(models) == sorted(m for d in domains.DOMAINS.values() for m in d.models)
    assert {r["kind"] for r in rows} == set(domains.KINDS)
    assert domains.domain_of_model("sst2-tiny") == "customer-service"
    assert domains.domain_of_model("my-own-model", "bike-sharing") == "transport"
    assert domains.build_command(["a", "b"]) == "python -m bigmodel_core build-defaults --only a b"


def test_visible_words_exist_in_both_languages():
    for lang in ("en", "zh"):
        words = table(lang)
        for d in domains.DOMAINS.values():
            for key in ("title", "tagline", "uses"):
                assert f"domain.{d.id}.{key}" in words, (lang, d.id, key)
            for s in d.showcases:
                assert f"domain.ds.{s.dataset}.title" in words
                for i in range(1, len(s.charts) + 1):
                    assert f"domain.chart.{s.dataset}.{i}" in words, (lang, s.dataset, i)
                for col in s.key_features:
                    assert f"domain.feat.{s.dataset}.{domains.slug(col)}" in words, (lang, s.dataset, col)
        for kind in domains.KINDS:
            assert f"common.kind.{kind}" in words


def test_the_home_tour_tries_a_built_model_and_times_one_that_keeps_its_pytorch_weights(tmp_path):
    nothing = domains.tour("customer-service", tmp_path)              # no model built: the pages say how
    assert nothing == dict(domain="customer-service", dataset="sst2", train_preset={"task": "text", "dataset": "sst2"},
                           try_model="sst2-minilm", bench_model="sst2-minilm")
    (tmp_path / "sst2-minilm").mkdir()
    (tmp_path / "sst2-minilm" / "model.onnx").write_bytes(b"onnx")
    (tmp_path / "sst2-tiny").mkdir()
    (tmp_path / "sst2-tiny" / "model.onnx").write_bytes(b"onnx")
    (tmp_path / "sst2-tiny" / "weights.safetensors").write_bytes(b"torch")
    built = domains.tour("customer-service", tmp_path)
    assert built["try_model"] == "sst2-minilm" and built["bench_model"] == "sst2-tiny"
    assert domains.tour("healthcare", tmp_path)["train_preset"] == {"task": "tabular", "dataset": "diabetes"}
