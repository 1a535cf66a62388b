"""The eight application domains: which dataset, which shipped model and which task each one shows.

Content only (no Streamlit): the domain pages and the home page's cross-domain
map read these records; the visible words (titles, use cases, feature labels,
chart titles) live in the app's translation tables under `domain.<id>.*`,
`domain.ds.<dataset>.*`, `domain.feat.<dataset>.<column slug>` and
`domain.chart.<dataset>.<n>`.

A `Showcase` is one dataset of a domain with the shipped model(s) trained on
it; `Chart` records say which views of that data the explorer draws.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bigmodel_core.data import catalog
from bigmodel_core.errors import BigModelError

# The kinds of task a model does (the columns of the cross-domain map).
KINDS = ("image-classification", "text-sentiment", "tabular-classification", "tabular-regression")


@dataclass(frozen=True)
class Chart:
    """One view of a dataset.

    kind:
      histogram — distribution of `x` (split by `color`, shares in % when `color` is set);
      scatter   — `x` against `y`, coloured by `color`;
      box       — distribution of `y` for each value of `x`;
      mean      — mean of `y` for each value of `x` (a line per `color` value when set);
      rate      — share of the showcase's positive class for each value of `x` (bars, %);
      classes   — number of examples per class;
      length    — text length per class (words, or characters for Chinese);
      colour    — mean red/green/blue per class (images).
    """
    kind: str
    x: str | None = None
    y: str | None = None
    color: str | None = None


@dataclass(frozen=True)
class Showcase:
    """A dataset of a domain and the shipped models trained on it."""
    dataset: str
    models: tuple[str, ...]
    kind: str                                     # one of KINDS
    charts: tuple[Chart, ...] = ()
    key_features: tuple[str, ...] = ()            # shown as widgets; the others sit in an expander
    display_scale: dict = field(default_factory=dict)   # column -> factor: the data stores value/factor
    positive: int | None = None                   # class index whose rate the "rate" charts show
    examples: tuple[str, ...] = ()                # example inputs for text models (in the data's language)

    @property
    def task(self) -> str:
        return self.kind.split("-")[0]          # image | text | tabular

    @property
    def problem(self) -> str:
        return "regression" if self.kind == "tabular-regression" else "classification"

    def train_preset(self) -> dict:
        """What the training studio needs to open pre-set on this data."""
        return {"task": self.task, "dataset": self.dataset}


@dataclass(frozen=True)
class Domain:
    id: str
    icon: str
    showcases: tuple[Showcase, ...]

    @property
    def datasets(self) -> list[str]:
        return [s.dataset for s in self.showcases]

    @property
    def models(self) -> list[str]:
        return [m for s in self.showcases for m in s.models]

    def showcase(self, dataset: str) -> Showcase:
        for s in self.showcases:
            if s.dataset == dataset:
                return s
        raise BigModelError(f"The {self.id} domain has no dataset '{dataset}'.",
                            hint=f"choose from: {', '.join(self.datasets)}")


_DOMAINS = [
    Domain("healthcare", "🩺", (
        Showcase("diabetes", ("diabetes-mlp",), "tabular-regression",
                 charts=(Chart("histogram", x="progression"),
                         Chart("scatter", x="bmi", y="progression", color="sex"),
                         Chart("scatter", x="s5", y="progression", color="sex")),
                 key_features=("age", "sex", "bmi", "bp", "s3", "s5")),
        Showcase("breast-cancer", ("breast-cancer-mlp",), "tabular-classification",
                 charts=(Chart("classes"),
                         Chart("histogram", x="mean radius", color="diagnosis"),
                         Chart("scatter", x="worst radius", y="worst concave points", color="diagnosis")),
                 key_features=("mean radius", "mean texture", "mean concave points", "worst area",
                               "worst concave points", "worst smoothness"),
                 positive=0),
    )),
    Domain("finance", "💳", (
        Showcase("credit-default", ("credit-default-mlp",), "tabular-classification",
                 charts=(Chart("rate", x="PAY_0"),
                         Chart("histogram", x="LIMIT_BAL", color="default.payment.next.month"),
                         Chart("histogram", x="AGE", color="default.payment.next.month")),
                 key_features=("PAY_0", "PAY_2", "LIMIT_BAL", "AGE", "BILL_AMT1", "PAY_AMT1", "EDUCATION"),
                 positive=1),
    )),
    Domain("education", "🎓", (
        Showcase("student-performance", ("student-grade-mlp",), "tabular-regression",
                 charts=(Chart("scatter", x="G2", y="G3", color="failures"),
                         Chart("box", x="studytime", y="G3"),
                         Chart("mean", x="absences", y="G3")),
                 key_features=("G1", "G2", "failures", "absences", "studytime", "higher", "Medu", "age")),
    )),
    Domain("manufacturing", "🏭", (
        Showcase("ai4i2020", ("ai4i-failure-mlp",), "tabular-classification",
                 charts=(Chart("scatter", x="Rotational speed [rpm]", y="Torque [Nm]", color="Machine failure"),
                         Chart("rate", x="Type"),
                         Chart("histogram", x="Tool wear [min]", color="Machine failure")),
                 key_features=("Type", "Air temperature [K]", "Process temperature [K]", "Rotational speed [rpm]",
                               "Torque [Nm]", "Tool wear [min]"),
                 positive=1),
    )),
    Domain("public-safety", "🛡️", (
        Showcase("cifar10-images", ("cifar10-cnn", "cifar10-lenet-seed"), "image-classification",
                 charts=(Chart("classes"), Chart("colour"))),
    )),
    Domain("transport", "🚲", (
        Showcase("bike-sharing", ("bike-demand-mlp",), "tabular-regression",
                 charts=(Chart("mean", x="hr", y="cnt", color="workingday"),
                         Chart("box", x="weathersit", y="cnt"),
                         Chart("mean", x="temp", y="cnt")),
                 key_features=("hr", "workingday", "weathersit", "temp", "hum", "season", "yr"),
                 display_scale={"temp": 41.0, "atemp": 50.0, "hum": 100.0, "windspeed": 67.0}),
    )),
    Domain("smart-home", "💡", (
        Showcase("energy-efficiency", ("energy-heating-mlp",), "tabular-regression",
                 charts=(Chart("scatter", x="X1", y="Y1", color="X5"),
                         Chart("box", x="X7", y="Y1"),
                         Chart("histogram", x="Y1", color="X5")),
                 key_features=("X1", "X2", "X3", "X4", "X5", "X6", "X7", "X8")),
    )),
    Domain("customer-service", "💬", (
        Showcase("sst2", ("sst2-minilm", "sst2-tiny"), "text-sentiment",
                 charts=(Chart("classes"), Chart("length")), positive=0,
                 examples=("Great support, they fixed everything quickly.",
                           "The delivery was late and the food was cold.",
                           "Absolutely wonderful experience from start to finish.",
                           "The support team was rude and unhelpful.",
                           "A clever, warm and funny film that never drags.")),
        Showcase("waimai10k", ("waimai-tiny",), "text-sentiment",
                 charts=(Chart("classes"), Chart("length")), positive=0,
                 examples=("送餐很快，饭菜还是热的，味道也不错，下次还点。",
                           "等了一个半小时才送到，菜都凉了，太失望了。",
                           "分量足，价格实惠，包装也很干净。",
                           "米饭是夹生的，打电话给商家也没人接。")),
    )),
]

DOMAINS: dict[str, Domain] = {d.id: d for d in _DOMAINS}


def get(domain_id: str) -> Domain:
    try:
        return DOMAINS[domain_id]
    except KeyError:
        raise BigModelError(f"Unknown domain '{domain_id}'.", hint=f"choose from: {', '.join(DOMAINS)}") from None


def slug(column: str) -> str:
    """A column name as a translation-key part: 'Air temperature [K]' → 'air_temperature_k'."""
    return re.sub(r"[^0-9a-z]+", "_", column.lower()).strip("_")


def build_command(model_ids: Iterable[str]) -> str:
    """The CLI line that builds the given shipped models."""
    return "python -m bigmodel_core build-defaults --only " + " ".join(model_ids)


def showcase_of(dataset_id: str) -> Showcase | None:
    """The showcase of a dataset (its display units, its alert class …), or None for data no domain shows."""
    for d in _DOMAINS:
        for s in d.showcases:
            if s.dataset == dataset_id:
                return s
    return None


def display_scale(dataset_id: str) -> dict[str, float]:
    """column → factor for the columns a dataset stores scaled: the data holds value/factor (the bike
    data's temperature as °C/41, humidity as %/100) and people read value·factor. Empty for most data."""
    show = showcase_of(dataset_id)
    return dict(show.display_scale) if show else {}


def to_display(dataset_id: str, column: str, value: float) -> float:
    """A stored value in the units people read (bike temperature 0.5 → 20.5 °C); unscaled columns as they are."""
    return float(value) * display_scale(dataset_id).get(column, 1.0)


def to_model(dataset_id: str, column: str, value: float) -> float:
    """A value in display units back to what the data (and so the model) holds (20.5 °C → 0.5)."""
    return float(value) / display_scale(dataset_id).get(column, 1.0)


def domain_of_dataset(dataset_id: str) -> str | None:
    for d in _DOMAINS:
        if dataset_id in d.datasets:
            return d.id
    return None


def domain_of_model(model_id: str, dataset_id: str | None = None) -> str | None:
    """The domain a (shipped or trained) model belongs to: by its id, else by its dataset."""
    for d in _DOMAINS:
        if model_id in d.models:
            return d.id
    return domain_of_dataset(dataset_id) if dataset_id else None


def cross_domain_map() -> list[dict]:
    """One row per (domain, task kind): the datasets and shipped models that connect them.

    Rows: {"domain", "icon", "kind", "datasets": [...], "models": [...]}, in domain order.
    """
    rows = []
    for d in _DOMAINS:
        for kind in KINDS:
            shows = [s for s in d.showcases if s.kind == kind]
            if shows:
                rows.append(dict(domain=d.id, icon=d.icon, kind=kind, datasets=[s.dataset for s in shows],
                                 models=[m for s in shows for m in s.models]))
    return rows


def tour(domain_id: str, models_root: Path) -> dict:
    """The home page's guided demo through one domain: its first dataset, the model to try and the one to time.

    {"domain", "dataset", "train_preset", "try_model", "bench_model"}. The model to try is the first one
    built in `models_root`; the one to time is the first built one that also keeps its PyTorch weights
    (weights.safetensors), so the benchmark can set PyTorch against ONNX Runtime. Either is the showcase's
    first model when none is built (its page then says how to build it).
    """
    show = get(domain_id).showcases[0]
    built = [m for m in show.models if (Path(models_root) / m / "model.onnx").is_file()]
    timed = [m for m in built if (Path(models_root) / m / "weights.safetensors").is_file()]
    first = show.models[0]
    return dict(domain=domain_id, dataset=show.dataset, train_preset=show.train_preset(),
                try_model=(built or [first])[0], bench_model=(timed or built or [first])[0])


def check() -> list[str]:
    """Inconsistencies between this content and the dataset catalog (empty when all is well)."""
    problems = []
    for d in _DOMAINS:
        for s in d.showcases:
            if s.dataset not in catalog.CATALOG:
                problems.append(f"{d.id}: unknown dataset {s.dataset}")
                continue
            info = catalog.CATALOG[s.dataset]
            if info.task != s.task:
                problems.append(f"{d.id}: {s.dataset} is a {info.task} dataset, not {s.task}")
            if s.kind not in KINDS:
                problems.append(f"{d.id}: unknown kind {s.kind}")
    return problems
