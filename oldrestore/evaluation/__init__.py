"""Metrics on model outputs, and images for inspecting them."""
