"""The predict page (pages/predict.py): the model choice, then one module per task's inputs and answer."""
