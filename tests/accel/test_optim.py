"""Fused Adam (train.fused_optim): DenseAdam steps as PyTorch's fused Adam, without copying
channels_last gradients, and trains like the default Adam."""

import torch
from torch import nn
from trainers import make, max_difference, state, train

from vidgan.accel import DenseAdam


def test_fused_adam_within_1e_5_after_three_steps(tiny):
    plain, fused = make(tiny), make(tiny, "train.fused_optim=true")
    assert all(g["fused"] for g in fused.g_optimizer.param_groups) and isinstance(fused.g_optimizer, DenseAdam)
    train(plain, 3), train(fused, 3)
    assert max_difference(state(plain), state(fused)) < 1e-5


def test_dense_adam_steps_like_fused_adam_without_copying_channels_last_gradients():
    """The same numbers as torch's fused Adam, and its step copies no tensor (torch's copies
    every channels_last gradient)."""
    from torch.profiler import profile

    def setup(cls):
        torch.manual_seed(0)
        params = [nn.Parameter(torch.randn(shape).contiguous(memory_format=fmt)) for shape, fmt in (
            ((8, 4, 3, 3, 3), torch.channels_last_3d), ((6, 4, 4, 4), torch.channels_last),
            ((6, 4, 4, 4), torch.contiguous_format), ((5,), torch.contiguous_format))]
        return params, cls(params, lr=1e-2, betas=(0.5, 0.999), fused=True)

    runs = {cls: setup(cls) for cls in (torch.optim.Adam, DenseAdam)}
    copies = {}
    for step in range(3):
        for cls, (params, optimizer) in runs.items():
            for i, p in enumerate(params):
                torch.manual_seed(10 * step + i)
                p.grad = torch.randn_like(p)  # in the parameter's layout, as autograd makes it
            with profile(record_shapes=True) as prof:
                optimizer.step()
            copies[cls] = [e.input_shapes[0] for e in prof.events()  # not the step counters' (0-d)
                           if e.name in ("aten::clone", "aten::copy_") and e.input_shapes[0]]
    (plain, a), (dense, b) = runs.values()
    assert all(torch.equal(p, q) and p.stride() == q.stride() for p, q in zip(plain, dense))
    assert all(torch.equal(a.state[p]["exp_avg_sq"], b.state[q]["exp_avg_sq"]) for p, q in zip(plain, dense))
    assert copies[DenseAdam] == [] and [8, 4, 3, 3, 3] in copies[torch.optim.Adam]  # a channels_last gradient
