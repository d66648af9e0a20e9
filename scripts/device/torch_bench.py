"""PyTorch contender for scripts/device/check.mjs (the GPU check): the same default model as the ort
engine and bench/train.bench.mjs (784-64-32-[32]-32-64-784, Glorot-uniform weights, zero biases, MSE,
Adam 1e-3 eps 1e-7), on one device.

  python3 torch_bench.py '{"mode": "train"|"infer", "device": "cpu"|"cuda", "batches": [...],
                           "seconds": S, "data": IDX3 path, "threads": N (optional)}'

Batches start in host memory and are copied to the device each step, as the ort engine and the
codec are fed (a host Float32Array per call); results come back to the host in `infer`. Prints
one line `RESULT {json}`.
"""
import json
import sys
import time

import numpy as np
import torch

a = json.loads(sys.argv[1])
if a.get("threads"):
    torch.set_num_threads(a["threads"])
torch.manual_seed(1)
dev = torch.device(a["device"])


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def load(path, divisor):
    b = open(path, "rb").read()
    rows = int.from_bytes(b[4:8], "big")
    return torch.from_numpy(np.frombuffer(b, np.uint8, offset=16).astype(np.float32).reshape(rows, 784) / divisor)


def model():
    dims = [784, 64, 32, 32, 32, 64, 784]
    acts = ["relu", "relu", None, "relu", "relu", "sigmoid"]
    layers = []
    for i, act in enumerate(acts):
        lin = torch.nn.Linear(dims[i], dims[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if act == "relu":
            layers.append(torch.nn.ReLU())
        if act == "sigmoid":
            layers.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers).to(dev)


def time_loop(seconds, once):
    """Calls once(i) (returning rows) until `seconds` pass; the device is synchronised before reading the clock."""
    rows = calls = 0
    sync()
    t0 = time.perf_counter()
    while True:
        rows += once(calls)
        calls += 1
        if calls % 8 == 0 or dev.type == "cpu":
            sync()
            el = time.perf_counter() - t0
            if el >= seconds:
                return {"rows": rows, "calls": calls, "seconds": el, "rowsPerSecond": rows / el}


def train(x):
    out = []
    for batch in a["batches"]:
        m = model()
        opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7)
        lossf = torch.nn.MSELoss()
        n = x.shape[0] // batch

        def once(i):
            xb = x[(i % n) * batch:((i % n) + 1) * batch].to(dev)
            opt.zero_grad()
            loss = lossf(m(xb), xb)
            loss.backward()
            opt.step()
            return batch

        for w in range(5):
            once(w)  # warm-up: cuBLAS handles, kernel selection
        r = time_loop(a["seconds"], once)
        r["batch"] = batch
        out.append(r)
    return out


def infer(x):
    m = model().eval()
    enc, dec = m[:5], m[5:]  # encoder: 3 Linear + 2 ReLU; decoder: the rest
    out = []
    with torch.inference_mode():
        for batch in a["batches"]:
            n = x.shape[0] // batch

            def once(i):
                xb = x[(i % n) * batch:((i % n) + 1) * batch].to(dev)
                dec(enc(xb)).cpu()
                return batch

            for w in range(5):
                once(w)
            r = time_loop(a["seconds"], once)
            out.append({"batch": batch, "roundTrip": r["rowsPerSecond"]})
    return out


x = load(a["data"], 255.0)
result = {"device": a["device"], "torch": torch.__version__, "threads": torch.get_num_threads()}
if dev.type == "cuda":
    result["gpu"] = torch.cuda.get_device_name(0)
result["cells"] = train(x) if a["mode"] == "train" else infer(x)
print("RESULT " + json.dumps(result), flush=True)
