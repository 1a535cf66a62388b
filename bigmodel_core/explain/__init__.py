"""Why a model said what it said (no Streamlit): one module per kind of input, each result naming its
`method` so a page can say which one ran.

- `image`: captum occlusion through ONNX Runtime;
- `text`: integrated gradients over the word embeddings (PyTorch weights), else word ablation
  through ONNX Runtime;
- `tabular`: permutation importance (scikit-learn) per model, Shapley value sampling per row;
- `common`: ONNX Runtime as a captum forward, the class to explain, the PyTorch model of a folder.

The names callers use are importable from the package itself (`from bigmodel_core import explain`).
"""
from bigmodel_core.explain.common import OrtForward, load_torch_model
from bigmodel_core.explain.image import OCCLUSION, ImageExplanation, image_occlusion, occlusion_window
from bigmodel_core.explain.tabular import (
    MAX_ROWS,
    PERMUTATION,
    REPEATS,
    SHAPLEY,
    SHAPLEY_SAMPLES,
    FeatureImportance,
    OrtEstimator,
    TabularContributions,
    baseline_row,
    evaluation_rows,
    model_importances,
    permutation_importances,
    tabular_contributions,
    tabular_forward,
)
from bigmodel_core.explain.text import (
    IG_STEPS,
    INTEGRATED_GRADIENTS,
    WORD_ABLATION,
    TextExplanation,
    explain_text,
    text_integrated_gradients,
    text_word_ablation,
    word_embeddings,
)

__all__ = [
    "IG_STEPS", "INTEGRATED_GRADIENTS", "MAX_ROWS", "OCCLUSION", "PERMUTATION", "REPEATS", "SHAPLEY",
    "SHAPLEY_SAMPLES", "WORD_ABLATION", "FeatureImportance", "ImageExplanation", "OrtEstimator", "OrtForward",
    "TabularContributions", "TextExplanation", "baseline_row", "evaluation_rows", "explain_text", "image_occlusion",
    "load_torch_model", "model_importances", "occlusion_window", "permutation_importances", "tabular_contributions",
    "tabular_forward", "text_integrated_gradients", "text_word_ablation", "word_embeddings",
]
