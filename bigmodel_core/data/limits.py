"""Size limits for everything a user hands the app, checked in the core as well as by Streamlit.

`.streamlit/config.toml` sets `server.maxUploadSize = 50` (Streamlit counts in MiB);
the core refuses anything larger again, before reading or parsing it, so the CLI and
any other caller get the same limit (tests/test_bad_inputs.py checks both agree).
"""
MAX_UPLOAD_MB = 50                              # same number as server.maxUploadSize
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024


def too_large_message(size: int, what: str = "The file") -> str:
    return f"{what} is too large ({size / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB)."
