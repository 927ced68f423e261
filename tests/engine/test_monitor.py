"""What a run shows while it trains: the stage's time left at this run's pace."""

from masksem_core.engine.monitor import time_left


def test_time_left_is_the_mean_epoch_time_times_the_epochs_left():
    assert time_left(30.0, 3, 7) == "elapsed 00:30, ETA 01:10"
    assert time_left(3725.0, 1, 1) == "elapsed 1:02:05, ETA 1:02:05"


def test_no_epoch_run_yet_has_no_eta():
    assert time_left(0.0, 0, 5) == "elapsed 00:00, ETA 00:00"
