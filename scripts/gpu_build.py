"""Build shipped models on a CUDA machine (used through the device tool), variants included.

    python scripts/gpu_build.py OUT_DIR ID[=VARIANT_JSON] ...

VARIANT_JSON overrides recipe fields: {"as": "new-id", "options": {...}, "config": {...}}.
Each build goes to $BIGMODEL_MODELS_DIR; a JSON summary goes to OUT_DIR/summary-*.json.
"""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bigmodel_core.train import recipes  # noqa: E402


def recipe_for(arg: str) -> recipes.Recipe:
    """`ID` or `ID=VARIANT_JSON` → the recipe to build: a copy, the shared recipe table is never changed."""
    rid, _, variant = arg.partition("=")
    if not variant:
        return recipes.RECIPES[rid]
    v = json.loads(variant)
    return recipes.variant(recipes.RECIPES[rid], as_id=v.get("as"), options=v.get("options"), config=v.get("config"))


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    results = []
    for arg in argv[1:]:
        recipe, variant = recipe_for(arg), arg.partition("=")[2]
        t = time.time()
        try:
            res = recipes.build_one(recipe, device="cuda", log=lambda m: print(m, flush=True))
            res["variant"] = variant
        except Exception as exc:  # keep going: one failed build must not cost the others
            res = dict(id=recipe.id, error=repr(exc))
        res["wall_s"] = round(time.time() - t, 1)
        results.append(res)
        print("RESULT", json.dumps(res), flush=True)
        (out / f"summary-{int(time.time())}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
