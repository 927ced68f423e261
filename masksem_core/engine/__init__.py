"""Training engine shared by the scripts: config, distribution, schedules, checkpoints, loops."""
