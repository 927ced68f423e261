"""Deployment: ONNX export with parity checks, the ONNX Runtime session, live-stream logic."""
