"""MaskSem core library: skeleton layouts, data, model, pretraining objective, engine, deploy."""

__version__ = "0.1.0"
