"""Spec files: loading with line numbers, variables, validation into Resources."""
