"""The yardstick: a linear model on hand-made skeleton features, scored on the windows of a
learned recipe (bench/yardstick.py)."""
