"""Datasets: the catalog (what each is, where it comes from, its licence), downloads verified by
sha256, safe CSV reading, typed datasets with their splits, users' uploads, and the built-in examples shipped
beside each model. No torch here; scikit-learn only for the datasets that ship inside it.
"""
