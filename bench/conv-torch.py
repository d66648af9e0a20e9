"""PyTorch contender for bench/conv.bench.mjs, run as a child process (/usr/bin/python3).

Builds the same convolutional autoencoder as an aekit ModelSpec (the layer list the bench passes:
conv / convTranspose / dense with their kernels, strides and TensorFlow "same" pads) from nn.Conv2d,
nn.ConvTranspose2d and nn.Linear, loads the same initial parameters (the checkpoint's weights.bin
layout: tfjs kernels, float32 LE), and trains with torch.optim.Adam on the same batches (the bench
writes each epoch's row order). Runs natively NCHW: the dense weights next to a conv are permuted
from aekit's HWC flattening to torch's CHW once, at load.

argv[1]: JSON {layers, weights, threads, batch, train, test, epochs?, order?, rows?, warmRows?, infer?}.
Prints one line "RESULT {json}".
"""
import gzip
import json
import resource
import sys
import time

import numpy as np
import torch

a = json.loads(sys.argv[1])
torch.set_num_threads(a["threads"])


def load(path):
    b = gzip.open(path).read()
    n = int.from_bytes(b[4:8], "big")
    return torch.from_numpy(np.frombuffer(b, np.uint8, offset=16).astype(np.float32).reshape(n, -1) / 255)


ACT = {
    "linear": lambda: torch.nn.Identity(),
    "relu": lambda: torch.nn.ReLU(),
    "sigmoid": lambda: torch.nn.Sigmoid(),
    "tanh": lambda: torch.nn.Tanh(),
    "elu": lambda: torch.nn.ELU(),
    "selu": lambda: torch.nn.SELU(),
    "softplus": lambda: torch.nn.Softplus(),
    "swish": lambda: torch.nn.SiLU(),
    "gelu": lambda: torch.nn.GELU(),
}


class Crop(torch.nn.Module):
    def __init__(self, top, left, h, w):
        super().__init__()
        self.t, self.l, self.h, self.w = top, left, h, w

    def forward(self, x):
        return x[:, :, self.t:self.t + self.h, self.l:self.l + self.w]


class Permute(torch.nn.Module):
    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(0, *self.dims)


class View(torch.nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


weights = np.fromfile(a["weights"], dtype="<f4")
at = 0


def take(n):
    global at
    v = weights[at:at + n]
    at += n
    return v


def chw_perm(h, w, c):
    """Index map: position in torch's CHW flattening -> position in aekit's HWC flattening."""
    return np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).reshape(-1)


mods = []
layers = a["layers"]
first = layers[0]
if first["kind"] != "dense":
    h, w, c = first["conv"]["inShape"]
    # Rows are HWC; with one channel that is already NCHW's layout.
    mods.extend([View((c, h, w))] if c == 1 else [View((h, w, c)), Permute(3, 1, 2)])
for i, l in enumerate(layers):
    kshape = l["kernelShape"]
    k = take(int(np.prod(kshape))).reshape(kshape)
    b = take(l["units"]).copy()
    prev = layers[i - 1] if i > 0 else None
    nxt = layers[i + 1] if i + 1 < len(layers) else None
    if l["kind"] == "dense":
        wt = k.T.copy()  # [out, in]
        if prev is not None and prev["kind"] != "dense":
            wt = wt[:, chw_perm(*prev["conv"]["outShape"])]  # input rows arrive CHW-flattened
            mods.append(torch.nn.Flatten())
        if nxt is not None and nxt["kind"] != "dense":
            p = chw_perm(*nxt["conv"]["inShape"])
            wt, b = wt[p, :], b[p]  # outputs leave in CHW order for the reshape to NCHW
        m = torch.nn.Linear(wt.shape[1], wt.shape[0])
        m.weight.data = torch.from_numpy(np.ascontiguousarray(wt))
        m.bias.data = torch.from_numpy(np.ascontiguousarray(b))
        mods.append(m)
        if nxt is not None and nxt["kind"] != "dense":
            hh, ww, cc = nxt["conv"]["inShape"]
            mods.append(View((cc, hh, ww)))
    else:
        g = l["conv"]
        top, left, bottom, right = g["pads"]
        s, ksz = g["stride"], g["kernel"]
        cin, cout = g["inShape"][2], g["outShape"][2]
        if l["kind"] == "conv":
            mods.append(torch.nn.ZeroPad2d((left, right, top, bottom)))
            m = torch.nn.Conv2d(cin, cout, ksz, stride=s)
            m.weight.data = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
            m.bias.data = torch.from_numpy(b)
            mods.append(m)
        else:
            m = torch.nn.ConvTranspose2d(cin, cout, ksz, stride=s)
            m.weight.data = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
            m.bias.data = torch.from_numpy(b)
            mods.append(m)
            mods.append(Crop(top, left, g["outShape"][0], g["outShape"][1]))
    mods.append(ACT[l["activation"]["name"]]())
last = layers[-1]
if last["kind"] != "dense":
    h, w, c = last["conv"]["outShape"]
    if c != 1:
        mods.append(Permute(2, 3, 1))
    mods.append(torch.nn.Flatten())
assert at == len(weights), f"weights: used {at} of {len(weights)} values"
model = torch.nn.Sequential(*mods)

opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
lossf = torch.nn.MSELoss()
x = load(a["train"])
bs = a["batch"]


def run(xs):
    for s in range(0, xs.shape[0], bs):
        xb = xs[s:s + bs]
        opt.zero_grad()
        l = lossf(model(xb), xb)
        l.backward()
        opt.step()


out = {"backend": "cpu", "torch": torch.__version__}
if a.get("epochs"):
    order = np.fromfile(a["order"], dtype="<u4").astype(np.int64).reshape(a["epochs"], -1)
    t0 = time.perf_counter()
    for e in range(a["epochs"]):
        run(x[torch.from_numpy(order[e])])
    out["seconds"] = time.perf_counter() - t0
    with torch.no_grad():
        t = load(a["test"])
        out["testMse"] = float(lossf(model(t), t))
elif a.get("predict"):
    # The model check: outputs for the first rows of the test set, before any training.
    with torch.no_grad():
        out["predict"] = model(load(a["test"])[: a["predict"]]).reshape(-1).tolist()
elif a.get("infer"):
    model.eval()
    t = load(a["test"])
    res = {}
    with torch.inference_mode():
        for batch in a["infer"]:
            n = min(t.shape[0], max(batch * 8, 2048 if batch > 1 else 512))
            for s in range(0, min(n, batch * 4), batch):
                model(t[s:s + batch])
            t0 = time.perf_counter()
            for s in range(0, n, batch):
                model(t[s:s + batch])
            res[str(batch)] = n / (time.perf_counter() - t0)
    out["inferRowsPerSecond"] = res
else:
    w = a["warmRows"]
    n = min(a["rows"], x.shape[0] - w)
    run(x[:w])
    t0 = time.perf_counter()
    run(x[w:w + n])
    dt = time.perf_counter() - t0
    out.update(rows=n, seconds=dt, rowsPerSecond=n / dt)
out["peakRssMiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
