"""The training studio (pages/train.py): its settings form, the upload of own data, the live panel,
the results and the export. The helpers without widgets are in `ui/studio.py`."""
