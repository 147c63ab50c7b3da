"""Random-number plumbing shared by the transforms: one stream per DataLoader worker."""

from __future__ import annotations

import torch
from torch.utils.data import get_worker_info


class WorkerAwareGenerator:
    """Hands out the generator to draw from in the current process.

    With ``generator=None`` draws come from torch's global RNG, which the DataLoader already seeds
    differently in each worker (``base_seed + worker_id``) and reproducibly when the loader or
    ``torch.manual_seed`` is seeded. With a user ``generator``, every worker would receive an identical
    copy and repeat the same draws; instead each worker derives its own generator from the user
    generator's seed and the worker's seed, so workers differ and a seeded run repeats exactly.
    In the main process the user's generator is used as is.
    """

    def __init__(self, generator: torch.Generator | None) -> None:
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.generator = generator
        self._worker_key: tuple[int, int] | None = None
        self._worker_generator: torch.Generator | None = None

    def __getstate__(self) -> dict:
        """Pickled as the generator's seed, device and state as bytes: DataLoader workers under the ``spawn`` start
        method receive the transform pickled, and a pickled ``torch.Generator`` travels through shared memory,
        which fails where that is small or absent."""
        g = self.generator
        saved = None if g is None else (g.initial_seed(), str(g.device), g.get_state().numpy().tobytes())
        return {"generator": saved}

    def __setstate__(self, state: dict) -> None:
        saved, generator = state["generator"], None
        if saved is not None:
            seed, device, rng_state = saved
            generator = torch.Generator(device=device).manual_seed(seed)
            generator.set_state(torch.frombuffer(bytearray(rng_state), dtype=torch.uint8))
        self.__init__(generator)

    def get(self) -> torch.Generator | None:
        if self.generator is None:
            return None
        info = get_worker_info()
        if info is None:
            return self.generator
        key = (info.id, info.seed)
        if self._worker_key != key:
            seed = (self.generator.initial_seed() * 6364136223846793005 + info.seed) % (2**63)
            self._worker_generator = torch.Generator(device=self.generator.device).manual_seed(seed)
            self._worker_key = key
        return self._worker_generator
