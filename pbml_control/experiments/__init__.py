"""Experiment building blocks shared by ``scripts/``: run folders, final evaluations, curves."""
