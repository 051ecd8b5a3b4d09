"""BN's population statistics: the moving average that estimates them in training, and their recomputation.

- :mod:`bn.population.moving_average` (pure Python): the one running-average
  update (:func:`ema_update`; :func:`ema_step`, its form in Batch
  Renormalization's paper), the weight of a batch (:func:`update_factor`,
  PyTorch's ``momentum`` or the cumulative average), and what "momentum" means
  in each library (:data:`CONVENTIONS`, :func:`convert`, :func:`conventions_table`).
  :func:`bn.functional.update_running_stats`, the book's BN layer, synchronized
  BN and Batch Renormalization all update through it.
- :mod:`bn.population.networks` (torch): the statistics of a trained network,
  recomputed (:func:`precise_statistics`), compared (:func:`statistics_gap`),
  re-averaged (:func:`refresh_statistics`), snapshotted (:func:`bn_state`,
  :func:`buffer_change`), or bypassed by a forgotten ``eval()``
  (:func:`batch_statistics_accuracy`). Its names load torch on first use.
- :mod:`bn.population.epoch_tail` (pure Python): the last batch of an epoch, whose own update
  moves the running statistics (:func:`~bn.population.epoch_tail.epoch_tails`).
"""

from bn.population.moving_average import (CONVENTIONS, CS231N, FLAX, KERAS, PYTORCH, MomentumConvention,
                                          check_coefficient, conventions_table, convert, effective_window,
                                          ema_step, ema_update, update_factor, weight_of_initial_value)

_NETWORKS = ("Images", "batch_statistics_accuracy", "bn_layers", "bn_state", "buffer_change",
             "dropout_variance_shift", "precise_statistics", "refresh_statistics", "statistics_gap",
             "train_batches")

__all__ = ["CONVENTIONS", "CS231N", "FLAX", "KERAS", "PYTORCH", "MomentumConvention", "check_coefficient",
           "conventions_table", "convert", "effective_window", "ema_step", "ema_update", "update_factor",
           "weight_of_initial_value", *_NETWORKS]


def __getattr__(name: str):
    # The network functions load torch; the moving average must not (PEP 562 lazy names).
    if name in _NETWORKS:
        from bn.population import networks

        return getattr(networks, name)
    raise AttributeError(f"module 'bn.population' has no attribute {name!r}")
