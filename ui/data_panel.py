"""Datasets as a visitor meets them: a friendly word when one is missing, and a download with progress.

`explain_problem(exc)` turns a dataset failure into one sentence in the page's
language (offline, the server said no, a damaged file, …); the URL and the
exception go only into a collapsed "Details" box, never a path or a variable
name on the page itself. `download_panel(id)` offers "Download the full dataset
(N MB)"; the download runs in a background thread shared by every session (one
per dataset), and a fragment redraws its progress bar, time left and Cancel
button twice a second until it ends.
"""
from __future__ import annotations

import re
import threading
import time

import streamlit as st

from bigmodel_core.data import catalog
from bigmodel_core.errors import BigModelError, DataError
from ui.i18n import t
from ui.layout import fmt_bytes, tr

REASONS = ("offline", "http", "checksum", "archive", "cancelled", "disk", "missing")
TECHNICAL = re.compile(r"(?:/[\w.@~-]+){2,}|[A-Za-z]:\\|\$?BIGMODEL_\w+|\$[A-Z_]{3,}|https?://|Errno|Traceback")


def is_technical(text: str) -> bool:
    """Whether a message holds what a visitor should not read: a path, a URL, a variable, an errno."""
    return bool(TECHNICAL.search(text or ""))


def scrub(text: str) -> str:
    """The message with every path, URL and variable name replaced by '…'."""
    return TECHNICAL.sub("…", text or "")


def explain_problem(exc: BaseException, warning: bool = True) -> None:
    """One friendly sentence for a dataset problem, the technical story in a collapsed box.

    Other errors whose text is technical keep their message, scrubbed of paths and URLs.
    """
    reason = getattr(exc, "reason", None)
    if reason:
        key = f"data.problem.{reason}" if reason in REASONS else "data.problem.other"
        text = tr(key, t("data.problem.other"), status=getattr(exc, "status", None) or "")
    else:
        text = scrub(getattr(exc, "message", None) or str(exc))
    (st.warning if warning else st.error)(text, icon="📡" if reason == "offline" else "⚠️")
    with st.expander(t("data.details"), expanded=False):
        st.code(str(exc), language=None, wrap_lines=True)


# ----------------------------------------------------------------------------- downloads

class DownloadJob:
    """One dataset download in a background thread: bytes done, total, error, and a Cancel switch."""

    def __init__(self, dataset_id: str):
        self.dataset_id = dataset_id
        self.done, self.total = 0, None
        self.started = time.monotonic()
        self.error: BigModelError | None = None
        self.finished = False
        self.cancel = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"download-{dataset_id}", daemon=True)
        self.thread.start()

    def _progress(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total

    def _run(self) -> None:
        from bigmodel_core.data import download

        try:
            download.fetch(self.dataset_id, progress=self._progress, cancel=self.cancel)
        except BigModelError as exc:
            self.error = exc
        except Exception as exc:            # noqa: BLE001 - a thread must never die silently
            self.error = DataError(f"{type(exc).__name__}: {exc}")
        finally:
            self.finished = True

    def seconds_left(self) -> float | None:
        elapsed = time.monotonic() - self.started
        if not self.total or self.done <= 0 or elapsed < 1:
            return None
        return (self.total - self.done) / (self.done / elapsed)


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[str, DownloadJob]:
    """Running and failed downloads by dataset id, shared by every session of this server."""
    return {}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    if seconds < 60:
        return t("data.seconds", n=max(1, round(seconds)))
    return t("data.minutes", n=round(seconds / 60))


@st.fragment(run_every=0.5)
def _progress_view(dataset_id: str, key: str) -> None:
    job = _jobs().get(dataset_id)
    if job is None or job.finished:
        st.rerun(scope="app")              # done: the whole page redraws with the full data (or the error)
        return
    share = job.done / job.total if job.total else 0.0
    st.progress(min(share, 1.0), text=t("data.progress", done=fmt_bytes(job.done) if job.done else "0 B",
                                        total=fmt_bytes(job.total) if job.total else "?",
                                        left=_duration(job.seconds_left())))
    if st.button(t("data.cancel"), key=f"cancel:{key}", icon="✖️"):
        job.cancel.set()


def download_panel(dataset_id: str, key: str) -> None:
    """"Download the full dataset (N MB)", its progress while it runs, and what came of it."""
    info = catalog.get(dataset_id)
    jobs = _jobs()
    job = jobs.get(dataset_id)
    if job is not None and not job.finished:
        _progress_view(dataset_id, key)
        return
    if job is not None:
        if job.error is None:
            jobs.pop(dataset_id, None)
            st.cache_data.clear()          # every page's copy of the sample gives way to the full data
            st.success(t("data.downloaded"), icon="✅")
            return
        if getattr(job.error, "reason", None) == "cancelled":
            st.info(t("data.problem.cancelled"), icon="✖️")
        else:
            explain_problem(job.error)
    size = getattr(info, "download_bytes", None)
    label = t("data.download", size=fmt_bytes(size)) if size else t("data.download_nosize")
    if st.button(label, key=f"download:{key}", icon="⬇️"):
        jobs[dataset_id] = DownloadJob(dataset_id)
        st.rerun()
    st.caption(t("data.download_help", cmd=f"python -m bigmodel_core fetch {dataset_id}"))


def sample_notice(dataset_id: str, n: int, total: int, what: str, key: str, problem: str | None = None) -> None:
    """Under an explorer built from built-in examples: what the visitor sees, and the way to the full data."""
    st.info(t("data.sample_of", n=n, what=t(f"data.what.{what}"), total=f"{total:,}"), icon="🧪")
    if problem:
        explain_problem(DataError(problem, reason="other"))
    download_panel(dataset_id, key)
