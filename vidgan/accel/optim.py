"""Adam's fused step without copies of channels_last gradients (``train.fused_optim``)."""

from __future__ import annotations

import torch


class DenseAdam(torch.optim.Adam):
    """Adam whose step gets every parameter with its gradient and state as the contiguous
    view of their memory (a channels_last weight permuted to its memory order).

    The update is elementwise, so it computes the same numbers; PyTorch's fused CPU kernel
    otherwise copies each channels_last gradient to a contiguous tensor it then does not use.

    Example:
        >>> weight = torch.nn.Parameter(torch.ones(2, 3, 4, 4).contiguous(memory_format=torch.channels_last))
        >>> weight.grad = torch.ones_like(weight)
        >>> DenseAdam([weight], lr=0.1, fused=True).step()
        >>> round(weight[0, 0, 0, 0].item(), 4), weight.is_contiguous(memory_format=torch.channels_last)
        (0.9, True)
    """

    def _init_group(self, group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps):
        has_complex = super()._init_group(group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                                          state_steps)
        lists = [params, grads, exp_avgs, exp_avg_sqs] + ([max_exp_avg_sqs] if max_exp_avg_sqs else [])
        for i, p in enumerate(params):
            order = sorted(range(p.ndim), key=lambda d: -p.stride(d))
            views = [tensors[i].permute(order) for tensors in lists]
            if all(v.is_contiguous() for v in views):  # all four share the parameter's layout
                for tensors, v in zip(lists, views):
                    tensors[i] = v
        return has_complex
