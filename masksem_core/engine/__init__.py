"""Training engine: one trainer (``fit``), one task builder per stage, the run driver
(``run_stage``), distribution, schedules, checkpoints, run summaries and the run folder layout."""
