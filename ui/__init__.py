"""Streamlit-side helpers shared by the pages: translations, layout, cached core objects.

Only the app imports this package; `bigmodel_core` never does.
"""
