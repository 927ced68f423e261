"""Evaluations that need more than a test split: the live stream as a robot receives it."""
