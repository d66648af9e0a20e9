#!/usr/bin/python3
"""Regenerates packages/exporter/test/fixtures/import/: small PyTorch autoencoders exported with
torch.onnx.export (Debian python3-torch 1.13), and PyTorch's own outputs for a few fixed input rows,
which packages/exporter/test/import.test.ts compares `aekit import` bundles with (CI has no torch).

    /usr/bin/python3 scripts/make-import-fixtures.py

For each model NAME: NAME.onnx (or NAME.encoder.onnx + NAME.decoder.onnx), NAME.x.npy (input rows in
raw units, pixels 0-255 for --normalize scale255, flattened in PyTorch's order: CHW for image
inputs, which the bundle takes as HWC rows), NAME.z.npy (the latent,
in PyTorch's layout, e.g. [rows, C, H, W]) and NAME.y.npy (the reconstruction as PyTorch returns it,
i.e. in the model's units, e.g. pixels/255). index.json lists every model with the import options.
"""
import json
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'exporter', 'test', 'fixtures', 'import')
ROWS = 4
index = []


class View(nn.Module):
    """x.view(x.size(0), *shape): nn.Unflatten has no ONNX export in torch 1.13."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(x.size(0), *self.shape)


class AE(nn.Module):
    def __init__(self, encoder, decoder, view_in=None, view_out=None):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.view_in = view_in
        self.view_out = view_out

    def forward(self, x):
        if self.view_in is not None:
            x = x.view(x.size(0), *self.view_in)
        y = self.decoder(self.encoder(x))
        if self.view_out is not None:
            y = y.view(y.size(0), self.view_out)
        return y


def randomize(model, seed):
    # Default PyTorch init gives tiny biases; wider weights make the comparison less forgiving.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * (1.5 / max(1, p.shape[-1]) ** 0.5))


def rows(shape, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == 'pixels':
        return rng.integers(0, 256, size=(ROWS, *shape)).astype(np.float32)
    return rng.uniform(-1, 1, size=(ROWS, *shape)).astype(np.float32)


def save(name, x_raw, z, y):
    np.save(os.path.join(OUT, f'{name}.x.npy'), np.ascontiguousarray(x_raw.reshape(ROWS, -1)))
    np.save(os.path.join(OUT, f'{name}.z.npy'), np.ascontiguousarray(z.detach().numpy().astype(np.float32)))
    np.save(os.path.join(OUT, f'{name}.y.npy'), np.ascontiguousarray(y.detach().numpy().astype(np.float32)))


def export(model, example, path, opset, dynamic=True, output_names=('output',)):
    kw = {}
    if dynamic:
        kw['dynamic_axes'] = {'input': {0: 'N'}, **{o: {0: 'N'} for o in output_names}}
    torch.onnx.export(model, example, os.path.join(OUT, path), opset_version=opset, input_names=['input'],
                      output_names=list(output_names), do_constant_folding=True, **kw)


def whole(name, model, in_shape, opset, split_at_module, normalize, data, dynamic=True, seed=1):
    """Exports `model` whole; the cut is the output of `split_at_module` (found in the exported graph)."""
    randomize(model, seed)
    model.eval()
    x_raw = rows(in_shape, data, seed + 100)
    x = torch.from_numpy(x_raw / 255.0 if normalize == 'scale255' else x_raw).float()
    captured = {}
    split_at_module.register_forward_hook(lambda m, i, o: captured.__setitem__('z', o))
    with torch.no_grad():
        y = model(x)
    z = captured['z']  # before the export traces the model again (with one row when the batch is fixed)
    export(model, x[:1] if not dynamic else x, f'{name}.onnx', opset, dynamic)
    save(name, x_raw, z, y)
    return {'name': name, 'model': f'{name}.onnx', 'opset': opset, 'normalize': normalize, 'inputShape': list(in_shape),
            'dynamicBatch': dynamic}


def cut_name(onnx_path, op_type, nth=0):
    """The output of the nth node of `op_type` in the exported graph (torch 1.13 names them /module/path/Op_output_0)."""
    import onnx
    m = onnx.load(os.path.join(OUT, onnx_path))
    return [n.output[0] for n in m.graph.node if n.op_type == op_type][nth]


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)

    # 1. Linear + ReLU stack, Sigmoid output, trained on pixels/255 (opset 13, dynamic batch).
    enc = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))
    dec = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 32), nn.Sigmoid())
    e = whole('mlp-sigmoid-op13', AE(enc, dec), [32], 13, enc[2], 'scale255', 'pixels', seed=1)
    e['splitAt'] = cut_name(e['model'], 'Gemm', 1)
    index.append(e)

    # 2. Linear + Tanh stack with a Tanh latent and Tanh output, data in [-1, 1] (opset 17).
    enc = nn.Sequential(nn.Linear(24, 12), nn.Tanh(), nn.Linear(12, 3), nn.Tanh())
    dec = nn.Sequential(nn.Linear(3, 12), nn.Tanh(), nn.Linear(12, 24), nn.Tanh())
    e = whole('mlp-tanh-op17', AE(enc, dec), [24], 17, enc[3], 'none', 'signed', seed=2)
    e['splitAt'] = cut_name(e['model'], 'Tanh', 1)
    index.append(e)

    # 3. Conv2d / ConvTranspose2d autoencoder on flat 784 rows, reshaped inside with x.view(x.size(0), 1, 28, 28);
    #    spatial latent [N, 8, 7, 7] (opset 13, dynamic batch).
    enc = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.ReLU(), nn.Conv2d(4, 8, 3, 2, 1), nn.ReLU())
    dec = nn.Sequential(nn.ConvTranspose2d(8, 4, 3, 2, 1, 1), nn.ReLU(), nn.ConvTranspose2d(4, 1, 3, 2, 1, 1), nn.Sigmoid())
    e = whole('conv-flat-op13', AE(enc, dec, view_in=(1, 28, 28), view_out=784), [784], 13, enc[3], 'scale255', 'pixels', seed=3)
    e['splitAt'] = cut_name(e['model'], 'Relu', 1)
    index.append(e)

    # 4. Conv autoencoder on [N, 1, 28, 28] images with a dense latent of 6 (Flatten, Linear, Unflatten),
    #    exported with a fixed batch of 1 (no dynamic_axes): the importer makes the batch dynamic (opset 17).
    enc = nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), nn.ReLU(), nn.Conv2d(2, 4, 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(196, 6))
    dec = nn.Sequential(nn.Linear(6, 196), nn.ReLU(), View(4, 7, 7), nn.ConvTranspose2d(4, 2, 3, 2, 1, 1), nn.ReLU(),
                        nn.ConvTranspose2d(2, 1, 3, 2, 1, 1), nn.Sigmoid())
    e = whole('conv-nchw-op17', AE(enc, dec), [1, 28, 28], 17, enc[5], 'scale255', 'pixels', dynamic=False, seed=4)
    e['splitAt'] = cut_name(e['model'], 'Gemm', 0)
    index.append(e)

    # 5. Three-channel images [N, 3, 8, 8] (the bundle takes HWC rows, Transposes inside), spatial latent [N, 4, 4, 4].
    enc = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.ReLU())
    dec = nn.Sequential(nn.ConvTranspose2d(4, 3, 3, 2, 1, 1), nn.Sigmoid())
    e = whole('conv-rgb-op13', AE(enc, dec), [3, 8, 8], 13, enc[1], 'scale255', 'pixels', seed=7)
    e['splitAt'] = cut_name(e['model'], 'Relu', 0)
    index.append(e)

    # 6. BatchNorm (folded into the Conv by the export), MaxPool, Flatten, a Constant scale on the latent,
    #    x.view(-1, 4, 7, 7), nn.Upsample (Resize), ELU; the cut is the scaled latent (opset 13).
    class PoolUp(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(1, 4, 3, 1, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(196, 5))
            self.dec = nn.Sequential(nn.Linear(5, 196), nn.ELU())
            self.up = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(4, 1, 3, 1, 1), nn.Sigmoid())

        def forward(self, x):
            z = self.enc(x) * 0.5
            return self.up(self.dec(z).view(-1, 4, 7, 7))

    pu = PoolUp()
    with torch.no_grad():
        pu.enc[1].running_mean.uniform_(-0.2, 0.2)
        pu.enc[1].running_var.uniform_(0.5, 1.5)
    e = whole('pool-upsample-op13', pu, [1, 14, 14], 13, pu.enc, 'scale255', 'pixels', seed=8)
    # The hook saw enc's output before "* 0.5": store the latent the cut really is.
    np.save(os.path.join(OUT, 'pool-upsample-op13.z.npy'), np.load(os.path.join(OUT, 'pool-upsample-op13.z.npy')) * np.float32(0.5))
    e['splitAt'] = cut_name(e['model'], 'Mul', 0)
    index.append(e)

    # 7. Encoder and decoder exported as two files (LeakyReLU, Sigmoid output; opset 13).
    enc = nn.Sequential(nn.Linear(20, 10), nn.LeakyReLU(0.1), nn.Linear(10, 5))
    dec = nn.Sequential(nn.Linear(5, 10), nn.LeakyReLU(0.1), nn.Linear(10, 20), nn.Sigmoid())
    randomize(enc, 5)
    randomize(dec, 6)
    x_raw = rows([20], 'pixels', 105)
    x = torch.from_numpy(x_raw / 255.0).float()
    with torch.no_grad():
        z = enc(x)
        y = dec(z)
    export(enc, x, 'pair-op13.encoder.onnx', 13)
    export(dec, z, 'pair-op13.decoder.onnx', 13)
    save('pair-op13', x_raw, z, y)
    index.append({'name': 'pair-op13', 'encoder': 'pair-op13.encoder.onnx', 'decoder': 'pair-op13.decoder.onnx', 'opset': 13,
                  'normalize': 'scale255', 'inputShape': [20], 'dynamicBatch': True})

    # Models for the error cases (no reference outputs).
    # A skip connection around the latent: no cut at the latent separates the graph.
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(8, 3)
            self.dec = nn.Linear(3, 8)
            self.skip = nn.Linear(8, 8)

        def forward(self, x):
            return torch.sigmoid(self.dec(torch.relu(self.enc(x))) + self.skip(x))

    class TwoOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(8, 3)
            self.dec = nn.Linear(3, 8)

        def forward(self, x):
            z = self.enc(x)
            return torch.sigmoid(self.dec(z)), z

    class TwoIn(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(8, 3)
            self.dec = nn.Linear(3, 8)

        def forward(self, x, noise):
            return torch.sigmoid(self.dec(self.enc(x) + noise))

    x = torch.rand(2, 8)
    torch.onnx.export(TwoIn().eval(), (x, torch.rand(2, 3)), os.path.join(OUT, 'two-inputs-op13.onnx'), opset_version=13,
                      input_names=['input', 'noise'], output_names=['output'])
    skip = Skip().eval()
    export(skip, x, 'skip-op13.onnx', 13)
    two = TwoOut().eval()
    export(two, x, 'two-outputs-op13.onnx', 13, output_names=('output', 'latent'))
    selu = nn.Sequential(nn.Linear(8, 3), nn.SELU(), nn.Linear(3, 8), nn.Sigmoid()).eval()
    export(selu, x, 'selu-op13.onnx', 13)
    errors = {
        'skip': {'model': 'skip-op13.onnx', 'splitAt': cut_name('skip-op13.onnx', 'Relu', 0)},
        'twoOutputs': {'model': 'two-outputs-op13.onnx', 'splitAt': cut_name('two-outputs-op13.onnx', 'Gemm', 0)},
        'twoInputs': {'model': 'two-inputs-op13.onnx', 'splitAt': cut_name('two-inputs-op13.onnx', 'Gemm', 0)},
        'selu': {'model': 'selu-op13.onnx', 'splitAt': cut_name('selu-op13.onnx', 'Selu', 0)},
    }
    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump({'generator': 'scripts/make-import-fixtures.py', 'torch': torch.__version__, 'rows': ROWS, 'models': index,
                   'errors': errors}, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
