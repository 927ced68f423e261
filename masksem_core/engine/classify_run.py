"""Linear evaluation, fine-tuning, semi-supervised fine-tuning and transfer (paper §IV-C)."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from masksem_core.data.prepared import WindowDataset
from masksem_core.engine.builders import (
    autocast,
    build_classifier,
    eval_loader,
    open_dataset,
    train_loader,
)
from masksem_core.engine.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_state_strict,
    sub_state,
)
from masksem_core.engine.distributed import DistributedContext
from masksem_core.engine.loops import (
    TensorBoardLogger,
    TrainingState,
    check_finite_loss,
    evaluate,
    optimisation_step,
    progress,
    wrap_for_training,
    write_json,
)
from masksem_core.engine.schedule import (
    apply_lr_scales,
    parameter_groups,
    warmup_cosine_scheduler,
)
from masksem_core.skeleton import get_layout

MODES = ("linear", "finetune")


def load_pretrained_encoder(path: str | Path) -> tuple[dict, dict, str]:
    """(model config, encoder state, layout) of any MaskSem checkpoint holding an encoder."""
    state = load_checkpoint(path)
    encoder = sub_state(state["model"], "encoder")
    if not encoder:
        raise CheckpointError(f"{path} holds no encoder weights (no 'encoder.*' keys)")
    return state["config"]["model"], encoder, state["layout"]


def run_classification(
    config: dict,
    context: DistributedContext,
    mode: str,
    init: str | None = None,
    resume: str | None = None,
) -> dict:
    """Train a classifier head (linear) or the whole network (finetune); return the summary."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    data_cfg, cfg = config["data"], config[mode]
    init = init or cfg.get("init")
    if mode == "linear" and not init:
        raise ValueError("linear evaluation needs a pretrained checkpoint: pass --init PATH")
    out = Path(config["output_dir"]) / mode
    if cfg.get("label_fraction"):
        out = out.with_name(f"{mode}_{cfg['label_fraction'] * 100:g}pct_seed{cfg['label_seed']}")
    torch.manual_seed(config["seed"] + context.rank)
    model_cfg, encoder_state, source_layout = config["model"], None, None
    if init:  # a bad checkpoint is reported before any data is touched
        model_cfg, encoder_state, source_layout = load_pretrained_encoder(init)
    prepared = open_dataset(data_cfg, context)
    layout = get_layout(prepared.meta["layout"])
    source_layout = source_layout or layout.name
    if get_layout(source_layout).num_joints != layout.num_joints:
        raise CheckpointError(
            f"{init} was pretrained on layout {source_layout}, the dataset "
            f"{data_cfg['root']} uses {layout.name}"
        )
    num_classes = len(prepared.class_names)
    model = build_classifier(
        model_cfg,
        layout.num_joints,
        data_cfg["window"],
        num_classes,
        head="linear" if mode == "linear" else "mlp",
        drop_path=cfg.get("drop_path", 0.0),
        head_dropout=cfg.get("head_dropout", 0.0),
    )
    if encoder_state is not None:
        load_state_strict(model.encoder, encoder_state, f"encoder of {init}")
    if mode == "linear":
        model.encoder.requires_grad_(False)
    model.to(context.device)

    train_split = data_cfg["train_split"]
    if cfg.get("label_fraction"):
        train_split = prepared.add_label_fraction_split(
            train_split, cfg["label_fraction"], cfg["label_seed"], save=context.is_main
        )
    train_set = WindowDataset(
        prepared, train_split, train=True, window=data_cfg["window"], rotate=cfg.get("rotate", True)
    )
    test_set = WindowDataset(
        prepared, data_cfg["test_split"], train=False, window=data_cfg["window"]
    )
    loader, sampler = train_loader(
        train_set, cfg["batch_size"], context, data_cfg["num_workers"], config["seed"]
    )
    test_loader = eval_loader(test_set, config["eval_batch_size"], context, data_cfg["num_workers"])
    steps_per_epoch = len(loader)
    total_steps = cfg["epochs"] * steps_per_epoch
    if mode == "linear":
        optimizer = torch.optim.SGD(
            model.head.parameters(),
            lr=cfg["lr"],
            momentum=cfg["momentum"],
            weight_decay=cfg["weight_decay"],
        )
    else:
        groups = parameter_groups(
            model,
            cfg["weight_decay"],
            cfg["layer_decay"],
            depth=len(model.encoder.transformer.blocks),
        )
        optimizer = torch.optim.AdamW(groups, lr=cfg["lr"], betas=tuple(cfg["betas"]))
        apply_lr_scales(optimizer)
    scheduler = warmup_cosine_scheduler(
        optimizer, cfg["warmup_epochs"] * steps_per_epoch, total_steps, cfg["lr"], cfg["min_lr"]
    )
    scaler = torch.amp.GradScaler(context.device.type, enabled=config["precision"] == "fp16")
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.get("label_smoothing", 0.0))
    start_epoch, history = 0, []
    last = out / "last.pt"
    training = TrainingState(model, optimizer, scheduler, scaler)
    if resume:
        start_epoch, history = training.resume(last if resume == "auto" else Path(resume), context)
    wrapped = wrap_for_training(model, context)
    logger = TensorBoardLogger(out / "tb", context)
    trainable = [p for p in model.parameters() if p.requires_grad]
    started = time.perf_counter()
    for epoch in range(start_epoch, cfg["epochs"]):
        sampler.set_epoch(epoch)
        wrapped.train()
        if mode == "linear":
            model.encoder.eval()  # frozen features: no dropout, no drop path
        loss_total = 0.0
        bar = progress(
            loader, context, f"{mode} {epoch + 1}/{cfg['epochs']}", total=steps_per_epoch
        )
        for step, (x, y) in enumerate(bar):
            x, y = x.to(context.device, non_blocking=True), y.to(context.device)
            with autocast(config["precision"], context.device):
                loss = criterion(wrapped(x).float(), y)
            check_finite_loss(loss, epoch, step)
            optimisation_step(loss, optimizer, scheduler, scaler, cfg.get("clip_grad"), trainable)
            loss_total += loss.item()
            global_step = epoch * steps_per_epoch + step
            if global_step % config["log_every"] == 0:
                logger.scalars(
                    {"loss": loss.item(), "lr": optimizer.param_groups[-1]["lr"]}, global_step, mode
                )
        metrics = evaluate(model, test_loader, context, config["precision"], num_classes)
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": loss_total / steps_per_epoch,
                **{f"test_{k}": v for k, v in metrics.items()},
            }
        )
        logger.scalars(
            {"top1": metrics["top1"], "top5": metrics["top5"], "loss": metrics["loss"]},
            epoch + 1,
            f"{mode}_test",
        )
        if context.is_main:
            print(
                f"{mode} epoch {epoch + 1}/{cfg['epochs']}: train loss "
                f"{loss_total / steps_per_epoch:.4f}, test top-1 {metrics['top1']:.2f} %, "
                f"top-5 {metrics['top5']:.2f} %"
            )
        training.save(
            last,
            context,
            epoch + 1,
            history,
            kind=mode,
            config={**config, "model": model_cfg},
            layout=layout.name,
            class_names=prepared.class_names,
            head="linear" if mode == "linear" else "mlp",
            init=str(init) if init else None,
        )
    best = max(history, key=lambda h: h["test_top1"])
    final = history[-1]
    summary = {
        "experiment": config["experiment"],
        "mode": mode,
        "dataset": prepared.meta["dataset"],
        "train_split": train_split,
        "test_split": data_cfg["test_split"],
        "init": init,
        "epochs": cfg["epochs"],
        "world_size": context.world_size,
        "last_epoch": {"top1": final["test_top1"], "top5": final["test_top5"]},
        "best_epoch_selected_on_test": {
            "epoch": best["epoch"],
            "top1": best["test_top1"],
            "note": "for reference only; report last_epoch",
        },
        "test_samples": final["test_samples"],
        "unique_test_samples": final["test_unique_samples"],
        "history": history,
        "checkpoint": str(last),
        "wall_seconds": time.perf_counter() - started,
    }
    if context.is_main:
        write_json(out / "summary.json", summary)
        print(
            f"{mode} done: last-epoch top-1 {final['test_top1']:.2f} %, top-5 "
            f"{final['test_top5']:.2f} % on {final['test_samples']} test samples "
            f"({out / 'summary.json'})"
        )
    logger.close()
    return summary
