"""Where a training runs, out of the web server: a spawned local process (the default) or an actor
on a Ray cluster, and the portable result (safetensors, ONNX bytes, JSON) that travels back.
"""
