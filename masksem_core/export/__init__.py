"""Export of trained classifiers: ONNX graph with parity checks, int8 variant, model card."""
