"""The code behind the BN book.

Layers, lowest first (a module only imports from layers below its own):

1. ``bn.functional``      pure NumPy batch normalization: forward/backward pairs with a cache
2. ``bn.gradcheck``       numerical checks: finite differences, complex step, comparisons
3. ``bn.symbolic``        SymPy derivations and proofs of every formula
4. ``bn.torch_bn``        PyTorch adapters (autograd.Function, parity helpers)
5. ``bn.data``            CIFAR-10 in the official layout
6. ``bn.models``, ``bn.training``, ``bn.experiments``   training experiments
7. ``bn.plotting``        figures in one consistent style

``bn.provenance``, ``bn.results`` and ``bn.glue`` are small utilities usable from any layer.
Importing ``bn`` itself imports nothing heavy.
"""

__version__ = "0.1.0"
