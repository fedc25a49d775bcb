"""Registered models (DEEPaaS, ONNX, function modules, LS ML backends), lambda API, runs."""
