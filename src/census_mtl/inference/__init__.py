"""Inference outside training: chunked batch scoring of census files, and ONNX export."""
