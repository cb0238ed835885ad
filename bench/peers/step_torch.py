#!/usr/bin/env python3
"""The peer of `tessera bench step`: the same training step in PyTorch (Python).

Same model (ResNet18/34 with a 1-channel 7x7/2 stem, width-scaled stages,
global average pooling, dropout 0.5, Linear to the embedding, L2 normalisation),
same input (3 x batch random tiles of 198 x 128, anchors, neighbours and
opposites in one forward pass), same loss (zero-filtered triplet loss with
squared Euclidean distances, margin 1) and Adam at 1e-3. The last line matches
Tessera's format.

--precision bf16 is PyTorch's own recipe: the model and the input in
channels-last, the forward pass under autocast to bfloat16, fp32 weights and
optimiser. --device cuda runs it on the GPU, channels-last in both precisions
(as Tessera does there), timed after a synchronize; and
--compile wraps the model in torch.compile (its compilation falls in the
warm-up steps).
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Basic(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(planes)
        self.c2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(planes)
        self.short = None
        if stride != 1 or cin != planes:
            self.short = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet(nn.Module):
    def __init__(self, blocks, width, embedding):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 7, 2, 3, bias=False)
        self.bn = nn.BatchNorm2d(width)
        layers, cin = [], width
        for s, n in enumerate(blocks):
            planes = width << s
            for b in range(n):
                layers.append(Basic(cin, planes, 2 if s > 0 and b == 0 else 1))
                cin = planes
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(cin, embedding)

    def forward(self, x):
        y = F.max_pool2d(F.relu(self.bn(self.stem(x))), 3, 2, 1)
        y = F.adaptive_avg_pool2d(self.body(y), 1).flatten(1)
        return F.normalize(self.head(self.drop(y)), dim=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet18", choices=["resnet18", "resnet34"])
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--embedding", type=int, default=512)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    blocks = [2, 2, 2, 2] if args.model == "resnet18" else [3, 4, 6, 3]
    net = ResNet(blocks, args.width, args.embedding).to(args.device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    tiles = torch.randn(3 * args.batch, 1, 198, 128, device=args.device)
    bf16 = args.precision == "bf16"
    cuda = args.device == "cuda"
    # Channels-last where Tessera uses it: bf16, and every GPU run.
    if bf16 or cuda:
        net = net.to(memory_format=torch.channels_last)
        tiles = tiles.contiguous(memory_format=torch.channels_last)
    model = torch.compile(net) if args.compile else net
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        net.train()
        with torch.autocast(args.device, dtype=torch.bfloat16, enabled=bf16):
            e = model(tiles)
        e = e.float()
        a, n, o = e.split(args.batch)
        per = F.relu((a - n).pow(2).sum(1) - (a - o).pow(2).sum(1) + 1.0)
        # Counted on the device, as Tessera does: no wait inside the step.
        loss = per.sum() / (per > 0).sum().clamp_min(1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"step: model={args.model} width={args.width} batch={args.batch} threads={args.threads} "
          f"precision={args.precision} device={args.device} compile={int(args.compile)} "
          f"median_step_s={med:.4f} triplets_per_s={args.batch / med:.2f}")


if __name__ == "__main__":
    main()
