"""Downloads built in memory: a registry entry as one zip (model.onnx + card.json + its assets)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path


def zip_model(folder: str | Path) -> bytes:
    """Every file of one registry entry, zipped under `<model id>/`."""
    root = Path(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(root.iterdir()):
            if f.is_file():
                zf.write(f, arcname=f"{root.name}/{f.name}")
    return buf.getvalue()
