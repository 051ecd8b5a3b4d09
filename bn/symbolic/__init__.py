"""SymPy derivations and proofs of the BN formulas, one module per chapter topic.

Each public ``prove_*`` function returns the residual(s) that SymPy reduces to
exactly zero (or a boolean SymPy decided); ``tests/symbolic`` asserts them.
"""
