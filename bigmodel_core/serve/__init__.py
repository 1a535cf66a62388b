"""Serving: ONNX Runtime sessions and the Predictor, the one predictor cache, the one
logits → probabilities function, preprocessing, the registry, evaluation, batch predictions,
the familiarity (out-of-distribution) check, inspection of a user's ONNX file, and benchmarks.
Nothing here imports torch or scikit-learn on the prediction path.
"""
