"""BigModel Studio core library: datasets, models, training, ONNX export, runtime, registry, benchmarks.

No Streamlit here: the pages in `pages/` and the CLI (`python -m bigmodel_core`)
are thin layers over these modules. Everything runs offline.
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
