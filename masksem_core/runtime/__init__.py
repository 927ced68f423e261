"""Deployment runtime: ONNX Runtime session, model metadata, live recognizer, preprocessing and
camera mapping. numpy + onnxruntime only: importing it never loads torch or onnx."""
