"""Hyper-parameter search with Optuna: search spaces from YAML, studies in a real database."""
