"""Figures in one consistent style. Topic-specific plots live in submodules."""

from bn.plotting.style import COLORS, apply_book_style, data_copy_label, new_figure

__all__ = ["COLORS", "apply_book_style", "data_copy_label", "new_figure"]
