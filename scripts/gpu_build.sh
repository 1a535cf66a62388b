#!/usr/bin/env bash
# Runs on the lent GPU machine (device tool): stage the carried data, build models, pack them into $OUT.
# Usage: bash scripts/gpu_build.sh A|B|C
set -uo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export BIGMODEL_DATA_DIR=/root/keep/data BIGMODEL_CACHE_DIR=/root/keep/cache BIGMODEL_MODELS_DIR=/root/keep/models
rm -rf /root/keep/models; mkdir -p /root/keep/data /root/keep/models /root/keep/minilm
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers, onnxruntime, onnxscript, tokenizers, pandas, sklearn; print('torch', torch.__version__, torch.cuda.is_available(), 'tf', transformers.__version__, 'ort', onnxruntime.__version__, 'pandas', pandas.__version__)"
case "$1" in
  A)
    cp .gpu/a/minilm.part1 /root/keep/minilm/ && cp -r .gpu/a/sst2 /root/keep/data/
    python3 scripts/gpu_build.py "$OUT" \
      'sst2-tiny' \
      'sst2-tiny={"as":"sst2-tiny-b","options":{"layers":4,"intermediate":512},"config":{"lr":5e-4}}' \
      'sst2-tiny={"as":"sst2-tiny-c","options":{"dropout":0.2,"vocab_size":12000},"config":{"epochs":6}}' \
      2>&1 | grep -v Warning | tee "$OUT/log-A.txt" ;;
  B)
    cp .gpu/b/minilm/* /root/keep/minilm/ && cat /root/keep/minilm/minilm.part1 /root/keep/minilm/minilm.part2 > /root/keep/minilm/model.safetensors
    rm -f /root/keep/minilm/minilm.part*; sha256sum /root/keep/minilm/model.safetensors
    export BIGMODEL_MINILM_DIR=/root/keep/minilm
    python3 scripts/gpu_build.py "$OUT" sst2-minilm 2>&1 | grep -v Warning | tee "$OUT/log-B.txt" ;;
  C)
    R=$PWD; (cd /root/keep/data && python3 -m zipfile -e "$R/.gpu/c/cifar.zip" .)
    python3 scripts/gpu_build.py "$OUT" cifar10-cnn 2>&1 | grep -v Warning | tee "$OUT/log-C.txt" ;;
esac
tar -cf /root/keep/models.tar -C /root/keep models && split -b 15M /root/keep/models.tar "$OUT/models-$1.tar.part-"
ls -la "$OUT"
