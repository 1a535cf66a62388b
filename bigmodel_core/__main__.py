"""`python -m bigmodel_core …` — the command line (see cli.py)."""
import sys

from bigmodel_core.cli import main

sys.exit(main())
