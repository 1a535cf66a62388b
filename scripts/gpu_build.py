"""Build shipped models on a CUDA machine (used through the device tool), variants included.

    python scripts/gpu_build.py OUT_DIR ID[=VARIANT_JSON] ...

VARIANT_JSON overrides recipe fields: {"as": "new-id", "options": {...}, "config": {...}}.
Each build goes to $BIGMODEL_MODELS_DIR; a JSON summary goes to OUT_DIR/summary-*.json.
"""
import copy
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bigmodel_core.train import recipes as defaults  # noqa: E402

out = Path(sys.argv[1])
results = []
for arg in sys.argv[2:]:
    rid, _, variant = arg.partition("=")
    recipe = copy.deepcopy(defaults.RECIPES[rid])
    if variant:
        v = json.loads(variant)
        recipe.id = v.get("as", recipe.id)
        recipe.spec.options.update(v.get("options", {}))
        for k, val in v.get("config", {}).items():
            setattr(recipe.spec.config, k, val)
    t = time.time()
    try:
        res = defaults.build_one(recipe, device="cuda", log=lambda m: print(m, flush=True))
        res["variant"] = variant
    except Exception as exc:  # keep going: one failed build must not cost the others
        res = dict(id=recipe.id, error=repr(exc))
    res["wall_s"] = round(time.time() - t, 1)
    results.append(res)
    print("RESULT", json.dumps(res), flush=True)
    (out / f"summary-{int(time.time())}.json").write_text(json.dumps(results, indent=1))
