"""MaskSem core library: skeleton layouts, data, model, pretraining objective, training engine,
ONNX export and the live runtime."""

__version__ = "0.1.0"
