"""``masksem-evaluate-stream``, the installed command, on a tiny exported stream model."""

import json
import subprocess
import sys
from pathlib import Path

from masksem_core.data.prepared import PreparedData
from masksem_core.data.stream import BACKGROUND
from masksem_core.export.onnx_export import export_classifier
from masksem_core.model import ActionClassifier, LinearProbeHead, SkeletonEncoder
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.window_spec import WindowSpec

SCENARIOS = {"alone", "idle_action_idle", "back_to_back", "two_people"}


def test_the_console_script_scores_every_scenario_as_json(demo_root, tmp_path):
    prepared = PreparedData(demo_root)
    classes = (*prepared.class_names, BACKGROUND)
    encoder = SkeletonEncoder(25, dim=16, depth=1, num_heads=2, mlp_dim=32)
    model = ActionClassifier(encoder, LinearProbeHead(16, len(classes))).eval()
    spec = WindowSpec("ntu25", "stream", seconds=2.0, fps=prepared.fps)
    info = ModelInfo(classes, spec, 4, background_class=BACKGROUND, score_threshold=0.5)
    onnx = export_classifier(model, tmp_path / "tiny.onnx", info)
    command = Path(sys.executable).parent / "masksem-evaluate-stream"
    arguments = ["--model", onnx, "--data", demo_root, "--split", "xsub_test", "--json"]
    result = subprocess.run(
        [str(command), *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {row["scenario"] for row in rows} == SCENARIOS | {"offline"}
    for row in rows:
        assert row["model"] == str(onnx)
        if row["scenario"] != "offline":
            assert row["instances"] > 0 and 0.0 <= row["detected"] <= 1.0
    assert 0.0 <= rows[-1]["top1"] <= 100.0
