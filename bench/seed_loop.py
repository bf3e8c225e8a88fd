"""The seed notebook's training loop, as the lecture wrote it: hand-written layers, autograd,
F.cross_entropy, ``p.data += -lr * p.grad``, the loss kept every step. bench/train_speed.py
times the engine against it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mlp_core.config import RunConfig


class Linear:
    def __init__(self, fan_in, fan_out, g, bias=True):
        self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps, self.momentum, self.training = eps, momentum, True
        self.gamma, self.beta = torch.ones(dim), torch.zeros(dim)
        self.running_mean, self.running_var = torch.zeros(dim), torch.ones(dim)

    def __call__(self, x):
        if self.training:
            xmean = x.mean(0, keepdim=True)
            xvar = x.var(0, keepdim=True)
        else:
            xmean, xvar = self.running_mean, self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class SeedLoop:
    """The notebook: C, a layer list, F.cross_entropy, loss.backward(), p.data += -lr*grad."""

    def __init__(self, cfg: RunConfig, Xtr, Ytr, vocab_size: int):
        m, self.Xtr, self.Ytr = cfg.model, Xtr, Ytr
        self.g = torch.Generator().manual_seed(2147483647)
        self.C = torch.randn((vocab_size, m.n_embd), generator=self.g)
        dims = [m.n_embd * cfg.data.block_size] + [m.n_hidden] * m.n_layers + [vocab_size]
        self.layers = []
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
            bn = m.batchnorm and (m.output_bn or i < m.n_layers)  # the lecture's 2-layer BN
            self.layers.append(Linear(fan_in, fan_out, self.g, bias=not bn))  # net: none last
            if bn:
                self.layers.append(BatchNorm1d(fan_out, momentum=m.bn_momentum))
            if i < m.n_layers:
                self.layers.append(Tanh())
        with torch.no_grad():
            if isinstance(self.layers[-1], BatchNorm1d):
                self.layers[-1].gamma *= 0.1
            else:
                self.layers[-1].weight *= 0.1
            for layer in self.layers[:-1]:
                if isinstance(layer, Linear):
                    layer.weight *= 5 / 3
        self.parameters = [self.C] + [p for layer in self.layers for p in layer.parameters()]
        for p in self.parameters:
            p.requires_grad = True
        self.lossi, self.i = [], 0

    def steps(self, n: int, batch_size: int = 32) -> None:
        for _ in range(n):
            ix = torch.randint(0, self.Xtr.shape[0], (batch_size,), generator=self.g)
            Xb, Yb = self.Xtr[ix], self.Ytr[ix]
            emb = self.C[Xb]
            x = emb.view(emb.shape[0], -1)
            for layer in self.layers:
                x = layer(x)
            loss = F.cross_entropy(x, Yb)
            for p in self.parameters:
                p.grad = None
            loss.backward()
            lr = 0.1 if self.i < 150_000 else 0.01
            for p in self.parameters:
                p.data += -lr * p.grad
            self.lossi.append(loss.log10().item())
            self.i += 1
