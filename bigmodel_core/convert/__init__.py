"""Model conversion: PyTorch → ONNX with a parity check, dynamic int8 quantisation, fp16 siblings
and int8 → fp32 dequantisation.
"""
