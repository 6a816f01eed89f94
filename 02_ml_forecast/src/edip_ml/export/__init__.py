"""ONNX export: one graph per model family, the serving contract and the parity check."""
