"""Seconds per epoch of the same LeNet training in dlcore and in PyTorch, side by side.

Both train the config's LeNet (default: examples/fashion_mnist/lenet.toml) with its optimizer
and batch size on the same batches of the whole training split (no validation part; dlcore's
DataLoader feeds both), each framework and NumPy's BLAS on the same threads. Only training
steps are timed: no evaluation, no checkpoints. Needs PyTorch
(``pip install torch==2.13.0``); without it the script says so and exits 0.

    python benchmarks/torch_lenet.py [--config FILE] [--epochs 1] [--threads 2]
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

from dlcore import kernels
from dlcore.data import DataLoader
from dlcore.kernels import bench
from dlcore.models import get_model
from dlcore.train import components, load, parse, run

DEFAULT_CONFIG = Path(__file__).parents[1] / "examples" / "fashion_mnist" / "lenet.toml"


def whole_train_split(experiment, epochs: int):
    """The experiment trained for ``epochs`` on the whole training split, evaluated at the end."""
    sections = experiment.sections()
    sections["data"] = {**sections["data"], "val_fraction": 0.0}
    sections["train"] = {**sections["train"], "epochs": epochs, "eval_every": f"{epochs} epochs"}
    return parse(sections, name=experiment.name)


def dlcore_seconds_per_epoch(experiment, epochs: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        summary = run(experiment, run_dir=run_dir, threads=threads)
    return summary["train_seconds"] / epochs


def torch_seconds_per_epoch(torch, experiment, epochs: int) -> float:
    torch.manual_seed(experiment.train["seed"])
    dataset = components.build_dataset(experiment, "train")
    experiment = components.resolve_data(experiment, dataset.metadata)
    model = get_model(experiment.model["name"], nn=torch.nn,  # the same builder, torch's nn
                      **experiment.options("model"))
    (role,) = experiment.roles
    options = experiment.options("optim", role)
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    optimizer = optimizers[experiment.optim[role]["name"]](model.parameters(), **{
        k: v for k, v in options.items() if k in ("lr", "momentum", "weight_decay", "betas")})
    loader = DataLoader(dataset, experiment.data["batch_size"], shuffle=True,
                        seed=experiment.train["seed"])
    loss_fn = torch.nn.CrossEntropyLoss()
    started = time.perf_counter()
    for _ in range(epochs):
        for inputs, targets in loader:
            loss = loss_fn(model(torch.from_numpy(inputs)), torch.from_numpy(targets))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return (time.perf_counter() - started) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install torch==2.13.0): nothing to compare")
        return
    experiment = whole_train_split(load(args.config), args.epochs)
    with bench.same_threads(args.threads, torch) as blas:
        ours = dlcore_seconds_per_epoch(experiment, args.epochs, args.threads)
        theirs = torch_seconds_per_epoch(torch, experiment, args.epochs)
    result = {"config": str(args.config), "threads": args.threads, "epochs": args.epochs,
              "numpy_blas": blas,
              "cpu_path": kernels.cpu_path(), "dlcore_s_per_epoch": ours,
              "torch_s_per_epoch": theirs, "torch_version": torch.__version__,
              "torch_over_dlcore": theirs / ours}
    print(f"{'':10}{'s/epoch':>10}\n{'dlcore':10}{ours:10.2f}\n{'torch':10}{theirs:10.2f}\n"
          f"torch takes {theirs / ours:.2f}x dlcore's time ({args.threads} threads, "
          f"{kernels.cpu_path()})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
