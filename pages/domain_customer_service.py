"""Domain page: customer-service — use cases, dataset explorer, hands-on model (see ui/domain/)."""
from ui.domain.page import render

render("customer-service")
