"""Helpers for benchmarks/plan_apply.py: stack generator, emulator control, naive baseline, ideal."""
