"""The PyTorch side of bench/train-command.bench.mjs: the whole job `aekit train` does, as a user would
script it in PyTorch, timed from process start by the caller. Same data file, the same 10 % seeded
validation split, /255 scaling, the default model (784-64-32-[32]-32-64-784, relu, linear latent, sigmoid
output, Glorot init), Adam 1e-3, MSE, a reshuffle and a validation pass every epoch, and a checkpoint
(model + optimizer state) written each epoch, as aekit does by default. PyTorch's default threads
(AEKIT_TORCH_THREADS=N sets them).

argv: data.gz epochs batch out_dir
"""
import gzip, os, sys
import numpy as np
import torch

data_path, epochs, batch, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(out, exist_ok=True)
if os.environ.get('AEKIT_TORCH_THREADS'):
    torch.set_num_threads(int(os.environ['AEKIT_TORCH_THREADS']))
torch.manual_seed(1)
raw = np.frombuffer(gzip.open(data_path).read(), np.uint8, offset=16).reshape(-1, 784)
order = np.random.default_rng(2).permutation(raw.shape[0])
n_val = raw.shape[0] // 10
x_val = torch.from_numpy(raw[order[:n_val]].astype(np.float32) / 255)
x = torch.from_numpy(raw[order[n_val:]].astype(np.float32) / 255)

dims = [784, 64, 32, 32, 32, 64, 784]
acts = ['relu', 'relu', 'linear', 'relu', 'relu', 'sigmoid']
layers = []
for i, act in enumerate(acts):
    layer = torch.nn.Linear(dims[i], dims[i + 1])
    torch.nn.init.xavier_uniform_(layer.weight)
    torch.nn.init.zeros_(layer.bias)
    layers.append(layer)
    if act == 'relu':
        layers.append(torch.nn.ReLU())
    elif act == 'sigmoid':
        layers.append(torch.nn.Sigmoid())
model = torch.nn.Sequential(*layers)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
loss_fn = torch.nn.MSELoss()

for epoch in range(epochs):
    xs = x[torch.randperm(x.shape[0])]
    for i in range(0, xs.shape[0], batch):
        b = xs[i:i + batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(b), b)
        loss.backward()
        opt.step()
    with torch.no_grad():
        val = loss_fn(model(x_val), x_val).item()
    tmp = os.path.join(out, 'model.pt.tmp')
    torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': epoch + 1}, tmp)
    os.replace(tmp, os.path.join(out, 'model.pt'))
print(f'final validation MSE: {val:.5f}')
