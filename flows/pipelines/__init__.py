"""The pipeline language: configuration model, validation and exact runtime semantics."""
