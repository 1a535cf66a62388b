"""Domain page: public-safety — use cases, dataset explorer, hands-on model (see ui/domain/)."""
from ui.domain.page import render

render("public-safety")
