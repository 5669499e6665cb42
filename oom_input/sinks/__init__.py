"""Sinks: where finished records go."""
