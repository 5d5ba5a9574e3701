"""ganzoo's default image command against the textbook DCGAN script at equal wall time, scored identically.

The textbook script is pytorch/examples' dcgan/main.py as a user adapts it to 32x32 gray images: its own networks
(ngf = ndf = 64, transposed convs with BatchNorm and ReLU, a Tanh out; strided convs with LeakyReLU 0.2 and BatchNorm;
weights N(0, 0.02), BatchNorm weights N(1, 0.02)), BCE, Adam 2e-4 with betas (0.5, 0.999), batch 64, no generator
averaging. It is written here from the paper's and the example's description, trained on exactly the images ganzoo's
dataset loads (the training split), for ``--seconds`` of wall time. ganzoo trains with the user's command, ``ganzoo
train --arch dcgan --dataset D --seed S``, stopped by SIGTERM after the same time (the graceful stop checkpoints).
Both are then scored by ``ganzoo eval`` (the peer's samples through ``--samples``) with the same metric, N and seed.

    python -m benchmarks.textbook_dcgan --dataset mnist --seconds 240 --seeds 0 1 --n 1000 --out /tmp/peer

A dataset's first score also trains its domain classifier or computes its Inception reference features (cached).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

LATENT = 100


def textbook_networks(channels: int = 1, width: int = 64) -> tuple[nn.Module, nn.Module]:
    """pytorch/examples' DCGAN at 32x32: one stage fewer than its 64x64 original on each side."""
    G = nn.Sequential(
        nn.ConvTranspose2d(LATENT, width * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(width * 4), nn.ReLU(True),  # 4x4
        nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), nn.ReLU(True),  # 8
        nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),  # 16x16
        nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh(),  # 32x32
    )
    D = nn.Sequential(
        nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),  # 16x16
        nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(width * 2, width * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(width * 4, 1, 4, 1, 0, bias=False), nn.Flatten(0),  # a logit: BCEWithLogits is Sigmoid + BCELoss
    )

    def init(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    G.apply(init)
    D.apply(init)
    return G, D


def train_textbook(data: torch.Tensor, seconds: float, seed: int, batch: int = 64) -> tuple[nn.Module, int]:
    """The example's loop (D on a real and a fake batch, then G on that fake batch) until ``seconds`` have passed;
    returns the generator and the number of steps it made."""
    torch.manual_seed(seed)
    G, D = textbook_networks(data.shape[1])
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        order = torch.randperm(len(data))
        for first in range(0, len(data) - batch + 1, batch):  # the example's DataLoader: shuffled epochs
            if time.perf_counter() - start >= seconds:
                break
            real = data[order[first:first + batch]]
            D.zero_grad()
            (criterion(D(real), ones)).backward()
            fake = G(torch.randn(batch, LATENT, 1, 1))
            (criterion(D(fake.detach()), zeros)).backward()
            opt_d.step()
            G.zero_grad()
            criterion(D(fake), ones).backward()
            opt_g.step()
            steps += 1
    return G.eval(), steps


def _ganzoo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True)


def _score(args: list[str], metric: str, n: int, seed: int) -> float:
    done = _ganzoo("eval", *args, "--metric", metric, "--n", str(n), "--seed", str(seed), "--json")
    if done.returncode != 0:
        raise SystemExit(f"ganzoo eval {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout)["metrics"][metric]
    return float(report["score"][report["primary"]])


def run_pair(dataset: str, seconds: float, seed: int, n: int, metric: str, out: Path) -> dict:
    from ganzoo.data.common import load_dataset
    from ganzoo.registry import default_registry
    from ganzoo.specs import DataRequest

    out.mkdir(parents=True, exist_ok=True)
    data = load_dataset(default_registry().get("dataset", dataset), DataRequest(seed=seed)).x
    G, peer_steps = train_textbook(data, seconds, seed)
    with torch.no_grad():
        samples = torch.cat([G(torch.randn(500, LATENT, 1, 1, generator=torch.Generator().manual_seed(seed + i)))
                             for i in range(0, n, 500)])[:n]
    np.save(out / f"textbook-{dataset}-s{seed}.npy", samples.numpy())

    run = out / f"ganzoo-{dataset}-s{seed}"
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", "train", "--arch", "dcgan", "--dataset", dataset,
                             "--seed", str(seed), "--steps", "1000000", "--quiet", "--out", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.perf_counter()
    while not (run / "config.json").exists() and proc.poll() is None:  # the clock starts as the command does
        time.sleep(0.05)
    time.sleep(max(0.0, seconds - (time.perf_counter() - started)))
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate()
    if "interrupted at step" not in stdout:
        raise SystemExit(f"ganzoo train did not stop as asked: {stderr.strip()[-500:]}")
    ganzoo_steps = int(stdout.split("interrupted at step ")[1].split(";")[0])
    return {"dataset": dataset, "seed": seed, "seconds": seconds, "n": n, "metric": metric,
            "textbook_steps": peer_steps, "ganzoo_steps": ganzoo_steps,
            "textbook": _score(["--samples", str(out / f"textbook-{dataset}-s{seed}.npy"), "--dataset", dataset],
                               metric, n, seed),
            "ganzoo": _score([str(run)], metric, n, seed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", nargs="+", default=["mnist"])
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--metric", default="inception")
    parser.add_argument("--out", type=Path, default=Path("textbook-dcgan-runs"))
    args = parser.parse_args()
    rows = [run_pair(d, args.seconds, s, args.n, args.metric, args.out) for d in args.dataset for s in args.seeds]
    print(f"| dataset | seed | wall time | textbook steps | ganzoo steps | textbook {args.metric} | ganzoo {args.metric} |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['dataset']} | {r['seed']} | {r['seconds']:.0f} s | {r['textbook_steps']} | {r['ganzoo_steps']} | "
              f"{r['textbook']:.1f} | {r['ganzoo']:.1f} |")
    (args.out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
