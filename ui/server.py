"""Start the app: `python -m ui.server [streamlit run options]` is `streamlit run app.py [options]`, with the
navigation mode settled before the first visitor. ./run.sh and the browser tests start it this way.

Why not plain `streamlit run app.py`: Streamlit 1.67 decides once per server process whether an app is a
legacy `pages/`-folder app or an `st.navigation` app. When the first browser session opens it sets
`PagesManager.uses_pages_directory` to whether a `pages/` folder sits beside the entry script (here it
does: the thin page files live there) and only `st.navigation` sets it back to False, "for all sessions"
(its documentation). Until app.py has run once, every session is served from the folder: a first
visitor's /healthcare is "Page not found", and /predict runs pages/predict.py alone, without app.py,
under a sidebar of file names, for everybody, until someone opens /. Setting the flag at start-up is what
app.py's `st.navigation` call does on its first run, done before any page is served.
"""
from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def use_navigation() -> None:
    """Route every session, the first one included, through app.py's `st.navigation`, never the pages/ folder."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def warm_once_listening() -> None:
    """Start the light imports (bigmodel_core/warm.py) as soon as the server listens, not before.

    Imported while the server starts, they shared one interpreter lock with it and put off the moment it
    could answer; started once it listens, they overlap the browser's own loading of the page instead
    (cold first page, scripts/ui_latency.py). Where Streamlit has no such hook, they start at once."""
    from streamlit.web import bootstrap

    from bigmodel_core import warm

    started = getattr(bootstrap, "_on_server_start", None)
    if not callable(started):
        warm.start()
        return

    def on_server_start(server) -> None:
        warm.start()
        started(server)

    bootstrap._on_server_start = on_server_start


def main(argv: list[str]) -> None:
    from streamlit.web import cli

    use_navigation()
    warm_once_listening()    # torch loads only where a page needs it
    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
