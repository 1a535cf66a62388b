"""Training: the minGPT-style Trainer with callbacks, metrics, typed options per architecture
family, the recipes of the shipped models, and the train → evaluate → export pipeline.
"""
