"""PyTorch contender for bench/runtime.bench.mjs, run as a child process (/usr/bin/python3).

Runs an aekit bundle's encoder and decoder in PyTorch eager under torch.inference_mode(), with the
same weights (read from the ONNX initializers) and the same ops as the graphs (Gemm -> torch.addmm,
the normalisation Mul/Sub, the activations), on the rows the bench writes to a raw float32 file.
Line protocol on stdin/stdout, one JSON object per line, so the bench can interleave PyTorch passes
with its own: first line {"ready": ...} or {"skip": reason}; then each request
{"threads": T, "batch": B, "rows": N, "what": "roundTrip"|"encode"|"decode"} is answered with
{"wall": s_per_row, "cpu": s_per_row} for one pass over the first N rows.
"""
import json
import sys
import time


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
    import torch
except Exception as e:  # torch or onnx missing: the bench prints the reason and skips the row
    reply({"skip": f"{type(e).__name__}: {e}"})
    sys.exit(0)


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class Op(torch.nn.Module):
    """One graph node as a module (for the nn.Sequential form): a torch function of one tensor."""

    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


def compile_graph(path):
    """Returns (functional fn, nn.Sequential or None): the graph's nodes as torch ops.

    The Sequential form is what a PyTorch user writes (nn.Linear and activation modules, a module
    call per layer); the functional form calls the same ops without Module overhead. None when the
    graph is not a chain (e.g. swish, whose Mul reads two tensors)."""
    model = onnx.load(path)
    g = model.graph
    consts = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in g.initializer}
    steps = []
    step_ops = []
    modules = {}  # output name -> module, for the nn.Sequential form
    module_types = {"Relu": torch.nn.ReLU, "Sigmoid": torch.nn.Sigmoid, "Tanh": torch.nn.Tanh, "Softplus": torch.nn.Softplus, "Selu": torch.nn.SELU}
    for n in g.node:
        a = attrs(n)
        op = n.op_type
        if op == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise ValueError("Gemm with transA/alpha/beta is not handled")
            w = consts[n.input[1]]
            if a.get("transB", 0):
                w = w.t().contiguous()
            if len(n.input) > 2:
                b = consts[n.input[2]]
                steps.append((n.output[0], n.input[0], lambda x, w=w, b=b: torch.addmm(b, x, w)))
            else:
                steps.append((n.output[0], n.input[0], lambda x, w=w: torch.mm(x, w)))
            lin = torch.nn.Linear(w.shape[0], w.shape[1], bias=len(n.input) > 2)
            with torch.no_grad():
                lin.weight.copy_(w.t())
                if len(n.input) > 2:
                    lin.bias.copy_(consts[n.input[2]])
            modules[n.output[0]] = lin
            step_ops.append(op)
            continue
        if op in ("ReduceSum", "ReduceMax"):
            continue  # the runtime's input check output: not part of the model
        unary = {
            "Relu": torch.relu,
            "Sigmoid": torch.sigmoid,
            "Tanh": torch.tanh,
            "Identity": lambda x: x,
            "Softplus": torch.nn.functional.softplus,
            "Erf": torch.erf,
            "Round": torch.round,
            "LeakyRelu": lambda x, s=a.get("alpha", 0.01): torch.nn.functional.leaky_relu(x, s),
            "Elu": lambda x, s=a.get("alpha", 1.0): torch.nn.functional.elu(x, s),
            "Selu": torch.selu,
            "Cast": lambda x: x.float(),
        }
        binary = {"Mul": torch.mul, "Add": torch.add, "Sub": torch.sub, "Div": torch.div, "MatMul": torch.matmul}
        if op in unary:
            steps.append((n.output[0], n.input[0], unary[op]))
            step_ops.append(op)
            continue
        elif op in binary:
            x0, x1 = n.input[0], n.input[1]
            f = binary[op]
            if x1 in consts:
                steps.append((n.output[0], x0, lambda x, c=consts[x1], f=f: f(x, c)))
            elif x0 in consts:
                steps.append((n.output[0], x1, lambda x, c=consts[x0], f=f: f(c, x)))
            else:
                steps.append((n.output[0], (x0, x1), f))
            step_ops.append(op)
        elif op == "Clip":
            lo, hi = consts[n.input[1]], consts[n.input[2]]
            steps.append((n.output[0], n.input[0], lambda x, lo=lo, hi=hi: torch.clamp(x, lo, hi)))
            step_ops.append(op)
        else:
            raise ValueError(f"{path}: ONNX op {op} is not handled by the PyTorch contender")

    out_name = g.output[0].name

    def run(x):
        env = {g.input[0].name: x}
        for out, src, f in steps:
            env[out] = f(env[src[0]], env[src[1]]) if isinstance(src, tuple) else f(env[src])
        return env[out_name]

    chain = all(src == prev for (_, src, _), prev in zip(steps, [g.input[0].name] + [o for o, _, _ in steps]))
    if not chain or steps[-1][0] != out_name:
        return run, None
    seq = torch.nn.Sequential(*[modules.get(out) or (module_types[op]() if op in module_types else Op(f)) for (out, _, f), op in zip(steps, step_ops)])
    seq.eval()
    return run, seq


def main():
    bundle, rows_path, rows, cols = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    try:
        manifest = json.load(open(f"{bundle}/manifest.json"))
        enc_f, enc_m = compile_graph(f"{bundle}/{manifest['files']['encoder']['path']}")
        dec_f, dec_m = compile_graph(f"{bundle}/{manifest['files']['decoder']['path']}")
    except Exception as e:  # e.g. an op this contender does not translate
        reply({"skip": f"{type(e).__name__}: {e}"})
        return
    styles = {"functional": (enc_f, dec_f)}
    if enc_m is not None and dec_m is not None:
        styles["module"] = (enc_m, dec_m)
    encode, decode = enc_f, dec_f
    data = torch.from_numpy(np.fromfile(rows_path, dtype=np.float32).reshape(rows, cols))
    with torch.inference_mode():
        latents = encode(data).contiguous()
        check = {k: (e(data[:64]) - latents[:64]).abs().max().item() for k, (e, _) in styles.items()}
    reply({"ready": True, "torch": torch.__version__, "styles": list(styles), "styleDiff": check})
    for line in sys.stdin:
        req = json.loads(line)
        torch.set_num_threads(int(req["threads"]))
        batch, n, what = int(req["batch"]), int(req["rows"]), req["what"]
        encode, decode = styles[req.get("style", "functional")]
        if what == "check":
            with torch.inference_mode():
                reply({"latents": encode(data[:n]).flatten().tolist()})
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        done = 0
        with torch.inference_mode():
            for o in range(0, n - batch + 1, batch):
                if what == "encode":
                    encode(data[o : o + batch])
                elif what == "decode":
                    decode(latents[o : o + batch])
                else:
                    decode(encode(data[o : o + batch]))
                done += batch
        reply({"wall": (time.perf_counter() - t0) / done, "cpu": (time.process_time() - c0) / done})


main()
