"""Run under torchrun by test_distributed.py: train, then compare every weight across processes."""

import sys

import torch
import torch.distributed as dist

from vidgan.config import load_config
from vidgan.errors import VidganError
from vidgan.training import distributed
from vidgan.training.trainer import Trainer


def flat(module):
    return torch.cat([t.detach().flatten().double() for t in module.state_dict().values()
                      if t.is_floating_point()])


def main(run_dir, *overrides):
    trainer = Trainer(load_config(["recipe=mocogan", f"run_dir={run_dir}", *overrides]))
    for _ in range(3):
        trainer.train_step()
    mine = torch.cat([flat(trainer.generator)] + [flat(c.net) for c in trainer.critics])
    everyone = distributed.gather(mine)
    same = all(torch.equal(everyone[0], other) for other in everyone[1:])
    # a deliberate divergence must be caught
    if distributed.rank() == 1:
        with torch.no_grad():
            next(trainer.generator.parameters()).add_(1.0)
    try:
        distributed.check_in_sync(trainer.generator, "generator")
        caught = False
    except VidganError:
        caught = True
    if distributed.rank() == 0:
        print(f"world={distributed.world_size()} same={same} caught={caught} "
              f"shard={len(trainer.dataset)}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
