"""The ONNX inspector page (pages/onnx_inspector.py): the model's report, and the answer of a run."""
