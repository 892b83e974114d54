"""PyTorch reference for bench/train-speed.ts: the identical architecture
(3x [conv3x3 same + ReLU + 2x2 max-pool], widths w/2w/4w, linear embedding,
L2-normalize x alpha, linear classifier with bias, softmax cross-entropy),
batch, Adam and thread count. Prints one JSON line per configuration.
Usage: python3 bench/torch_reference.py --size 32 --width 16 --embedding 64 --classes 64 --batch 64 --threads 2 --steps 20
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class L2Softmax(nn.Module):
    def __init__(self, size, channels, width, embedding, classes, alpha):
        super().__init__()
        self.convs = nn.ModuleList([
            nn.Conv2d(channels, width, 3, padding=1),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1),
        ])
        side = size // 8
        self.embedding = nn.Linear(4 * width * side * side, embedding)
        self.classifier = nn.Linear(embedding, classes)
        self.alpha = alpha

    def forward(self, x):
        for conv in self.convs:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        f = self.embedding(torch.flatten(x, 1))
        return self.classifier(self.alpha * F.normalize(f, dim=1))


def main():
    p = argparse.ArgumentParser()
    for name, default in [("size", 32), ("channels", 3), ("width", 16), ("embedding", 64), ("classes", 64), ("batch", 64), ("threads", 1), ("steps", 20), ("warmup", 3)]:
        p.add_argument(f"--{name}", type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = L2Softmax(a.size, a.channels, a.width, a.embedding, a.classes, 16.0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(a.batch, a.channels, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    ms = (time.perf_counter() - t0) * 1000 / a.steps
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "size": a.size, "width": a.width, "ms_per_step": ms, "images_per_sec": a.batch * 1000 / ms}))


if __name__ == "__main__":
    main()
