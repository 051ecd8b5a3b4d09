"""What two runs with the same seed really share: initial weights, data order, augmentation.

Equal seeds pair two arms' runs, but the pairing is only as close as the random
streams they share. The training loop draws the order of examples and the
augmentation from one ``torch.Generator`` seeded with the seed, and the model's
initial weights (then its dropout masks) from torch's global generator, set to
the same seed. So two runs share a stream only as long as they consume it
alike: a network with biases draws more numbers during initialization than one
without, and a run without random crops draws fewer numbers per batch than one
with them. :func:`shared_streams` computes, for two run specs, how much each
stream really shares, by replaying the draws rather than by reasoning about them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bn.experiments.base import ExperimentResult, RunSpec
from bn.models import build_model
from bn.training import TrainConfig
from bn.training.loop import _next_indices, _State
from bn.training.tensordata import augment_batch


@dataclass(frozen=True)
class SharedStreams:
    """What two runs with the same seed share.

    ``weights_equal`` of ``weights_compared``: weight tensors (conv and linear, matched by
    position) drawn identically; ``order_until`` / ``augmentation_until``: the first training
    step whose batch (its examples) or whose augmentation draws differ, None if they agree
    over all ``steps`` compared.
    """

    weights_equal: int
    weights_compared: int
    order_until: int | None
    augmentation_until: int | None
    steps: int

    def text(self) -> str:
        """A short description: ``"weights: 0 of 9 equal; order: same for 2000 steps; ..."``."""
        def until(step: int | None) -> str:
            return f"same for all {self.steps} steps" if step is None else (
                "differs from the first step" if step == 0 else f"same for the first {step} steps")
        return (f"initial weights: {self.weights_equal} of {self.weights_compared} tensors equal; "
                f"data order: {until(self.order_until)}; augmentation: {until(self.augmentation_until)}")


def _weights(spec: RunSpec) -> list[torch.Tensor]:
    torch.manual_seed(spec.seed)
    kwargs = dict(spec.model)
    model = build_model(kwargs.pop("kind"), **kwargs)
    return [m.weight.detach().clone() for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]


def _draws(spec: RunSpec, n_train: int, steps: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per step, the examples drawn and the generator's state after the augmentation: replayed with the loop's
    own functions on a stand-in batch (the draws depend on the batch size, not on the pixels)."""
    cfg = TrainConfig.from_dict(spec.train)
    gen = torch.Generator().manual_seed(spec.seed)
    st = _State()
    batch = min(cfg.batch_size, n_train)
    order, states = [], []
    for _ in range(steps):
        idx = _next_indices(st, n_train, batch, gen)
        augment_batch(torch.zeros(len(idx), 1, 2, 2), gen, cfg.flip, cfg.crop_pad)
        order.append(idx.clone())
        states.append(gen.get_state())
    return order, states


def shared_streams(a: RunSpec, b: RunSpec, n_train: int, steps: int | None = None) -> SharedStreams:
    """What runs ``a`` and ``b`` (same seed) share over their first ``steps`` steps (default: the shorter run)."""
    if a.seed != b.seed:
        raise ValueError(f"runs with seeds {a.seed} and {b.seed} are not a pair")
    wa, wb = _weights(a), _weights(b)
    equal = sum(x.shape == y.shape and torch.equal(x, y) for x, y in zip(wa, wb))
    steps = steps or min(a.train["steps"], b.train["steps"])
    oa, sa = _draws(a, n_train, steps)
    ob, sb = _draws(b, n_train, steps)
    order_until = next((i for i, (x, y) in enumerate(zip(oa, ob)) if not torch.equal(x, y)), None)
    aug_until = next((i for i, (x, y) in enumerate(zip(sa, sb)) if not torch.equal(x, y)), None)
    return SharedStreams(int(equal), min(len(wa), len(wb)), order_until, aug_until, steps)


# The kinds of pairs the chapters compare: (what differs, result, arm, result, arm).
PAIRS = (
    ("BN or not, baseline set-up", "convergence", "no_bn", "convergence", "bn"),
    ("the 5× rate, within the recipe (BN)", "learning_rates", "bn_x1", "learning_rates", "bn_x5"),
    ("the whole recipe against BN-Baseline", "convergence", "bn", "learning_rates", "bn_x5"),
    ("BN or not, Fig. 1's MLP at one rate", "fig1_equal_rates", "no_bn_lr0.03", "fig1_equal_rates", "bn_lr0.03"),
)


def pairing_table(results: dict[str, ExperimentResult]) -> "Table":
    """What each kind of pair in :data:`PAIRS` shares, for the first reported seed of each, over the runs' steps."""
    from bn.experiments.report import Table, runs_of

    rows = []
    for what, ra, arm_a, rb, arm_b in PAIRS:
        a = runs_of(results[ra], arm_a)[0].spec
        b = runs_of(results[rb], arm_b)[0].spec
        s = shared_streams(a, b, int(results[ra].provenance["data"]["n_fit"]))
        rows.append([what, f"{s.weights_equal} of {s.weights_compared}",
                     "all" if s.order_until is None else f"first {s.order_until}",
                     "all" if s.augmentation_until is None else f"first {s.augmentation_until}", str(s.steps)])
    return Table(["pair (same seed)", "initial weight tensors equal", "steps with the same examples",
                  "steps with the same augmentation", "steps"], rows)
