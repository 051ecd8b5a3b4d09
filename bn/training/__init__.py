"""One training loop for every experiment, with its schedules, optimizer and data handling.

- :mod:`bn.training.schedules`  learning rate at each step (warm-up, exponential decay)
- :mod:`bn.training.optim`      SGD with Nesterov momentum and weight decay on weights only
- :mod:`bn.training.tensordata` CIFAR-10 held in memory as tensors; batches and augmentation
- :mod:`bn.training.divergence` when a run has diverged
- :mod:`bn.training.freezing`   which parameters train (BN's gamma and beta only, and the controls);
                                BN's modes for fine-tuning (batch statistics, frozen statistics, frozen BN)
- :mod:`bn.training.loop`       the seeded, checkpointed loop
"""

from bn.training.divergence import DivergenceMonitor
from bn.training.freezing import (BN_MODES, FREEZE_ARMS, Trainable, freeze_bn, set_bn_mode, set_trainable,
                                  unfreeze_bn)
from bn.training.loop import History, TrainConfig, evaluate_accuracy, train
from bn.training.optim import make_optimizer
from bn.training.schedules import learning_rate
from bn.training.tensordata import TensorData, augment_batch, tensor_data_from_split

__all__ = ["BN_MODES", "DivergenceMonitor", "FREEZE_ARMS", "History", "TensorData", "TrainConfig", "Trainable",
           "augment_batch", "evaluate_accuracy", "learning_rate", "make_optimizer", "set_bn_mode", "set_trainable", "tensor_data_from_split", "train",
           "freeze_bn", "unfreeze_bn"]
