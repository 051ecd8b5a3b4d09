"""The code behind the BN book.

The layer map. A module imports ``bn`` modules of its own layer or a lower one,
never a higher one, and of the four heavy libraries only those its row names
(standard-library and display-only imports such as ``tqdm`` or ``IPython`` are
free). ``tests/test_layers.py`` parses every import in ``bn/``, including those
inside functions, against this table; it is the only copy of the map.

=====  ========================  =============================  =====================================================
layer  module                    may import                     holds
=====  ========================  =============================  =====================================================
0      ``bn.formatting``         (standard library)             tables, number and interval formats
0      ``bn.paper``              (standard library)             the paper's reported numbers, as data
0      ``bn.provenance``         numpy                          where a result came from (and which kernels)
0      ``bn.results``            (standard library)             result files in ``book/results``
0      ``bn.glue``               (standard library)             MyST glue, and a plain display on Colab
0      ``bn.cli``                (standard library)             what the command lines share: one-line user errors
1      ``bn.population``         numpy, torch                   running statistics: update, conventions, recomputing
1      ``bn.functional``         numpy                          BN in NumPy: forward/backward pairs with a cache
1      ``bn.scale_dynamics``     numpy                          weight-norm growth and its equilibrium
1      ``bn.analysis``           numpy                          when a history first reaches a target accuracy
1      ``bn.statistics``         numpy                          intervals, pairing, censoring, plateaus, verdicts
2      ``bn.gradcheck``          numpy                          finite differences, complex step, error metrics
3      ``bn.symbolic``           numpy, sympy                   SymPy derivations and proofs
4      ``bn.torch_bn``           numpy, torch                   PyTorch adapters and the parity checks
4      ``bn.precision``          numpy, torch                   floating-point error of BN in low precision
4      ``bn.benchmark``          numpy, torch                   the speed measurements
4      ``bn.normalization``      numpy, torch                   the family (LN, IN, GN, Batch Renorm, ghost BN)
5      ``bn.data``               numpy                          CIFAR-10 in the official layout; the pydoc text
6      ``bn.models``             torch                          every network: Fig. 1's MLP, placement MLP, CNNs, ResNet
6      ``bn.training``           numpy, torch                   the one training loop
6      ``bn.diagnostics``        torch                          what to watch while a network trains
6      ``bn.smoothness``         torch                          noisy BN, internal covariate shift, loss landscape
7      ``bn.experiments``        numpy, torch                   the CIFAR-10 experiments and their reports
8      ``bn.plotting``           numpy, matplotlib              figures in one consistent style
=====  ========================  =============================  =====================================================

A module that uses only NumPy never loads torch: ``bn.precision.variance``,
every module of ``bn.normalization`` but ``layers`` and
``bn.population.moving_average`` are importable without it (``bn.precision``
imports its torch modules only where they are named; ``bn.normalization`` and
``bn.population`` load theirs on first use of their names). Importing
``bn`` itself imports nothing.

Networks (``torch.nn.Module`` subclasses) live in ``bn.models``; the other
packages that define one are ``bn.torch_bn``, the book's own BN layer, and
``bn.normalization``, the family's layers PyTorch lacks.
"""

__version__ = "0.1.0"
