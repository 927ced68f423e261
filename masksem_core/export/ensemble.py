"""Ensembles of exported classifiers as one ONNX file: logits = Σ_i w_i · log_softmax(logits_i)
of member files that read the same input window (a learned model beside the yardstick, or
several streams). One file, one session, one batch: the recognizer runs it like any model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, numpy_helper

from masksem_core.atomic import atomic_path
from masksem_core.errors import MaskSemError
from masksem_core.export.onnx_export import compare_logits, read_metadata, set_metadata
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.session import ActionSession


class EnsembleError(MaskSemError):
    """Member models that cannot be combined (other classes or another input window)."""


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def mixed_logits(logits: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Σ_i w_i · log_softmax(logits_i): (N, K) each → (N, K), what the ensemble file computes."""
    return sum(w * log_softmax(x) for w, x in zip(weights, logits, strict=True))


def member_info(paths: list[Path]) -> list[ModelInfo]:
    """The members' metadata; refused unless they share classes and input window."""
    infos = [read_metadata(path) for path in paths]
    first = infos[0]
    for path, info in zip(paths[1:], infos[1:], strict=True):
        if info.class_names != first.class_names:
            raise EnsembleError(
                f"{path} names classes {list(info.class_names)}, {paths[0]} "
                f"{list(first.class_names)}: members must share classes"
            )
        if info.window_spec != first.window_spec:
            raise EnsembleError(
                f"{path} reads {info.window_spec.describe()}, {paths[0]} "
                f"{first.window_spec.describe()}: members must share their input window"
            )
    return infos


def merge_classifiers(paths: list[Path], weights: list[float], out: Path, info: ModelInfo) -> Path:
    """Write the ensemble of the member ONNX files ``paths`` with ``weights`` to ``out``, with
    ``info`` as its metadata; its parity with the members run one by one is checked on random
    windows (ParityError, exit code 3, on a mismatch)."""
    if len(paths) != len(weights) or len(paths) < 2:
        raise EnsembleError(f"an ensemble needs ≥ 2 members and one weight each, got {weights}")
    member_info(paths)
    members = [
        compose.add_prefix(onnx.load(str(path)), prefix=f"m{k}_") for k, path in enumerate(paths)
    ]
    nodes, initialisers, mixed = [], [], []
    for k, (member, weight) in enumerate(zip(members, weights, strict=True)):
        graph = member.graph
        for node in graph.node:
            node.input[:] = ["skeleton" if n == f"m{k}_skeleton" else n for n in node.input]
        nodes += list(graph.node)
        initialisers += list(graph.initializer)
        weight_name = f"m{k}_ensemble_weight"
        initialisers.append(numpy_helper.from_array(np.array(weight, np.float32), weight_name))
        nodes.append(helper.make_node("LogSoftmax", [f"m{k}_logits"], [f"m{k}_logp"], axis=1))
        nodes.append(helper.make_node("Mul", [f"m{k}_logp", weight_name], [f"m{k}_mixed"]))
        mixed.append(f"m{k}_mixed")
    nodes.append(helper.make_node("Sum", mixed, ["logits"]))
    skeleton = onnx.ValueInfoProto()
    skeleton.CopyFrom(members[0].graph.input[0])
    skeleton.name = "skeleton"
    classes = len(info.class_names)
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])
    graph = helper.make_graph(nodes, "ensemble", [skeleton], [logits], initialisers)
    model = helper.make_model(graph, opset_imports=members[0].opset_import)
    model.ir_version = members[0].ir_version
    set_metadata(model, info)
    onnx.checker.check_model(model)
    with atomic_path(out) as tmp:
        onnx.save(model, str(tmp))
    spec = info.window_spec
    windows = (
        np.random.default_rng(0).normal(size=(4, 1, spec.frames, spec.num_joints, 3)) * 0.3
    ).astype(np.float32)
    expected = mixed_logits([ActionSession(p).logits(windows) for p in paths], weights)
    compare_logits(expected, ActionSession(out).logits(windows))
    return out


def ensemble_info(paths: list[Path], weights: list[float]) -> ModelInfo:
    """The first member's metadata, its experiment naming the members and weights, without a
    calibration (calibrate the ensemble's own logits)."""
    first = member_info(paths)[0]
    members = " + ".join(f"{w:g}·{Path(p).name}" for p, w in zip(paths, weights, strict=True))
    return replace(
        first,
        experiment=f"ensemble {members} ({first.experiment})",
        temperature=1.0,
        score_threshold=-1.0,
    )
