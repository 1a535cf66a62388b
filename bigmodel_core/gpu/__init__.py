"""The GPU path without torch: does CUDA really work (an ONNX Runtime probe), the CUDA session
factory with deliberate options and a strict provider check, IO binding and CUDA graphs.
"""
