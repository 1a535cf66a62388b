"""User-facing errors: one exception type whose message says what went wrong and what to do.

Every failure a user can cause (bad input, missing model, diverging training)
is raised as a `BigModelError`. The CLI prints it as one line on stderr and
exits non-zero; the pages show it with `st.error`. Anything else is a bug.
"""


class BigModelError(Exception):
    """An error the user can act on. `hint` says what to do about it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class DataError(BigModelError):
    """A dataset or an uploaded file cannot be read or used.

    `reason` sorts dataset failures for the pages, which turn it into one friendly
    sentence: "offline", "http", "checksum", "archive", "cancelled", "disk", "missing"
    (None for everything else, e.g. a bad upload).
    """

    def __init__(self, message: str, hint: str = "", reason: str | None = None, url: str | None = None):
        super().__init__(message, hint)
        self.reason = reason
        self.url = url


class ModelError(BigModelError):
    """A model is missing, corrupt, or does not fit the input."""


class TrainingError(BigModelError):
    """Training cannot go on (diverged, too little data, bad settings)."""
