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

    `reason` says what kind of failure it was, for code that words it for people
    (None when nobody needs to tell): a download sets "offline", "http",
    "checksum", "archive", "cancelled", "disk" or "missing" (see `download`).
    `url` is the address involved, if any; `status` the HTTP status of an "http" failure.
    """

    def __init__(self, message: str, hint: str = "", *, reason: str | None = None,
                 url: str | None = None, status: int | None = None):
        super().__init__(message, hint)
        self.reason = reason
        self.url = url
        self.status = status


class ModelError(BigModelError):
    """A model is missing, corrupt, or does not fit the input."""


class TrainingError(BigModelError):
    """Training cannot go on (diverged, too little data, bad settings)."""
