"""The model registry page (pages/models.py): the models side by side, one model's card, its actions."""
