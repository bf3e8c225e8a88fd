"""Sample names from a trained run, the lecture's way, n names in parallel."""

from __future__ import annotations

import torch

from .config import ModelConfig
from .model import from_state

MAX_LEN = 40  # a name that has not ended by then is cut


@torch.inference_mode()
def sample_names(
    cfg: ModelConfig,
    state: dict,
    itos: dict[int, str],
    block_size: int,
    n: int = 10,
    seed: int = 2147483647,
) -> list[str]:
    """n names from the run's weights (eval-mode BN), seeded, each ended by '.'."""
    model = from_state(cfg, state, len(itos), block_size)
    g = torch.Generator().manual_seed(seed)
    context = torch.zeros(1, n, block_size, dtype=torch.long)  # (K=1, n, block_size)
    out = torch.zeros(n, MAX_LEN, dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    for t in range(MAX_LEN):
        probs = torch.softmax(model(context)[0].float(), dim=-1)  # (n, vocab)
        ix = torch.multinomial(probs, 1, generator=g).squeeze(1)
        out[:, t] = torch.where(done, 0, ix)
        done |= ix == 0
        if done.all():
            break
        context = torch.cat([context[:, :, 1:], ix.view(1, n, 1)], dim=2)
    return ["".join(itos[int(i)] for i in row if int(i) != 0) for row in out]
