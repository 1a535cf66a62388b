"""Domain page: manufacturing — use cases, dataset explorer, hands-on model (see ui/domain/)."""
from ui.domain.page import render

render("manufacturing")
