"""``fit`` on a toy task: the loop alone, without data sets, configs or the MaskSem model."""

import torch
from torch import nn

from masksem_core.engine.checkpoint import load_checkpoint
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.trainer import Optimisation, Task, fit


def toy(seed: int = 0) -> tuple[Task, Optimisation]:
    """Fit y = 3x − 1 with a 1→1 linear layer (initial weights from ``seed``), 4 batches of 8
    per epoch, SGD with a constant learning rate."""
    torch.manual_seed(seed)
    model = nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 32)[:, None]
    y = 3 * x - 1

    def batches(epoch: int):  # the order depends on the epoch only, as a seeded sampler's
        perm = torch.randperm(32, generator=torch.Generator().manual_seed(epoch))
        return [(x[perm[i : i + 8]], y[perm[i : i + 8]]) for i in range(0, 32, 8)]

    def loss(batch):
        inputs, targets = batch
        error = model(inputs) - targets
        return (error**2).mean(), {"abs_error": error.abs().mean().detach()}

    def evaluate() -> dict:
        with torch.no_grad():
            return {"mse": float(((model(x) - y) ** 2).mean())}

    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    task = Task(
        name="toy",
        model=model,
        batches=batches,
        steps_per_epoch=4,
        loss=loss,
        evaluate=evaluate,
        test_scalars=("mse",),
        checkpoint_extra={"stage": "toy"},
    )
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    return task, Optimisation(optimizer, scheduler, scaler)


def test_fit_lowers_the_loss_logs_history_and_saves_every_epoch(tmp_path):
    context = setup_distributed("cpu")
    task, optimisation = toy()
    history, wall = fit(task, optimisation, 6, tmp_path, context, "fp32", log_every=1)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6]
    assert history[-1]["loss"] < 0.1 * history[0]["loss"]
    assert history[-1]["test_mse"] < history[0]["test_mse"]
    assert {"loss", "abs_error", "test_mse", "wall_seconds"} <= set(history[-1])
    assert wall >= history[-1]["wall_seconds"] > 0
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["epoch"] == 6 and state["stage"] == "toy" and len(state["history"]) == 6
    assert any((tmp_path / "tb").iterdir())  # TensorBoard scalars written


def test_fit_resumed_after_an_interruption_equals_an_uninterrupted_run(tmp_path):
    context = setup_distributed("cpu")
    task, optimisation = toy()
    fit(task, optimisation, 4, tmp_path / "straight", context, "fp32", log_every=10)
    task, optimisation = toy()
    fit(task, optimisation, 2, tmp_path / "split", context, "fp32", log_every=10)
    task, optimisation = toy(seed=1)  # other initial weights: all of them come from last.pt
    history, _ = fit(
        task, optimisation, 4, tmp_path / "split", context, "fp32", log_every=10, resume="auto"
    )
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    straight = load_checkpoint(tmp_path / "straight" / "last.pt")
    resumed = load_checkpoint(tmp_path / "split" / "last.pt")
    for name, value in straight["model"].items():
        assert torch.equal(resumed["model"][name], value), name
    assert straight["history"][-1]["loss"] == resumed["history"][-1]["loss"]


def test_zero_epochs_saves_the_initial_state(tmp_path):
    task, optimisation = toy()
    history, _ = fit(task, optimisation, 0, tmp_path, setup_distributed("cpu"), "fp32", 1)
    state = load_checkpoint(tmp_path / "last.pt")
    assert history == [] and state["epoch"] == 0
    for name, value in task.model.state_dict().items():
        assert torch.equal(state["model"][name], value)
