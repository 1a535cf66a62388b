"""The concepts page (pages/concepts.py): one module per tab, and the tab chooser that draws only the open one."""
