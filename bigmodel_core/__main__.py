"""`python -m bigmodel_core …` — the command line (see the cli package)."""
import sys

from bigmodel_core.cli import main

sys.exit(main())
