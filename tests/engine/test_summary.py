from masksem_core.atomic import write_json_atomic
from masksem_core.engine.summary import SUMMARY, RunSummary


def summary_fields(**changed: object) -> dict:
    fields = {
        "experiment": "demo",
        "stage": "linear",
        "folder": "linear",
        "features": "cached",
        "dataset": "demo",
        "train_split": "xsub_train",
        "init": None,
        "epochs": 1,
        "world_size": 1,
        "replicas_in_sync": True,
        "checkpoint": "runs/demo/linear/last.pt",
        "wall_seconds": 1.0,
    }
    return {**fields, **changed}


def test_a_summary_round_trips(tmp_path):
    summary = RunSummary(**summary_fields())
    summary.write(tmp_path)
    assert RunSummary.read(tmp_path) == summary


def test_a_summary_written_before_the_stage_vocabulary_reads_in_todays_fields(tmp_path):
    old = summary_fields(stage="finetune_10pct_seed0", task="finetuning")
    del old["folder"], old["features"]
    write_json_atomic(tmp_path / SUMMARY, old)
    summary = RunSummary.read(tmp_path)
    assert (summary.stage, summary.folder, summary.features) == (
        "finetune",
        "finetune_10pct_seed0",
        None,
    )
