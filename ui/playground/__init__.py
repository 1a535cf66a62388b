"""The neural-network playground page (pages/playground.py): its state, settings, charts and live view.

Every module imports PyTorch (through `bigmodel_core.teach.playground`): the page imports them only when it is there."""
