"""The eight domain pages: use cases, a dataset explorer and a hands-on model for each (see `page.render`)."""
