"""The domain content: eight domains tied to real catalog datasets, shipped-model recipes and translations."""
from pathlib import Path

from bigmodel_core.app import domains
from bigmodel_core.data import catalog
from bigmodel_core.nn.zoo import ARCHITECTURES
from bigmodel_core.train.recipes import RECIPES
from ui.i18n import table

ROOT = Path(__file__).resolve().parent.parent


def test_each_of_the_eight_domains_has_its_page_and_shows_models_of_its_own_kind():
    """Behaviour, not the table again: a page per domain, every shown model on one page only, of the data's kind."""
    assert len(domains.DOMAINS) == 8                                  # the product brief's eight domains
    shown = [m for d in domains.DOMAINS.values() for s in d.showcases for m in s.models]
    assert len(shown) == len(set(shown)), "a model is shown on one domain page only"
    for d in domains.DOMAINS.values():
        page = ROOT / "pages" / f"domain_{d.id.replace('-', '_')}.py"
        assert page.exists() and f'"{d.id}"' in page.read_text(encoding="utf-8"), d.id
        assert d.icon and d.showcases, d.id
        for s in d.showcases:
            assert s.models, (d.id, s.dataset)
            for m in s.models:                                         # an image model on image data, …
                assert ARCHITECTURES[RECIPES[m].spec.architecture][0] == catalog.get(s.dataset).task, m
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
