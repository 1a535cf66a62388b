"""Domain page: customer-service — use cases, dataset explorer, hands-on model (see ui/domain_page.py)."""
from ui.domain_page import render

render("customer-service")
