from dataclasses import replace

import numpy as np
import onnx
import pytest

from masksem_core.export.onnx_export import export_classifier
from masksem_core.runtime.session import ActionSession, ModelFileError, choose_providers
from tests.conftest import META, tiny_classifier


def test_bad_model_files(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist; export one"):
        ActionSession(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf \x00\xff")
    with pytest.raises(ModelFileError, match="junk.onnx is not a loadable ONNX model"):
        ActionSession(junk)
    wrong = export_classifier(
        tiny_classifier(), tmp_path / "wrong.onnx", replace(META, class_names=("a", "b"))
    )
    with pytest.raises(ModelFileError, match="outputs 3 classes but its metadata lists 2"):
        ActionSession(wrong)
    bare = export_classifier(tiny_classifier(), tmp_path / "bare.onnx", META)
    graph = onnx.load(str(bare))
    del graph.metadata_props[:]
    onnx.save(graph, str(bare))
    with pytest.raises(ModelFileError, match="lacks MaskSem metadata"):
        ActionSession(bare)


def test_session_input_validation(tmp_path):
    session = ActionSession(export_classifier(tiny_classifier(), tmp_path / "m.onnx", META))
    with pytest.raises(
        ValueError, match=r"expected input \(B, M, 16, 25, 3\), got \(1, 16, 25, 3\)"
    ):
        session.logits(np.zeros((1, 16, 25, 3), dtype=np.float32))
    x = np.zeros((1, 1, 16, 25, 3), dtype=np.float32)
    x[0, 0, 3, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        session.logits(x)
    with pytest.raises(ValueError, match="float32"):
        session.logits(np.zeros((1, 1, 16, 25, 3), dtype=np.int32))
    probabilities = session.probabilities(np.zeros((2, 1, 16, 25, 3), dtype=np.float64))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    session.warm_up(bodies=2)  # stateless: later outputs are unchanged
    np.testing.assert_array_equal(
        session.probabilities(np.zeros((2, 1, 16, 25, 3), dtype=np.float32)), probabilities
    )
    with pytest.raises(ModelFileError, match="not available"):
        choose_providers(["NoSuchExecutionProvider"])
