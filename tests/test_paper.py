import pytest

from bn import paper


def test_fig3_speedups_match_the_papers_text():
    # The paper's text: BN-x5 "needs 14 times fewer steps"; the ratios of its Fig. 3 table.
    assert paper.fig3_speedup("BN-x5") == pytest.approx(31.0 / 2.1)
    assert 14 < paper.fig3_speedup("BN-x5") < 15
    assert paper.fig3_speedup("BN-Baseline") == pytest.approx(2.33, abs=0.01)
    assert paper.fig3_speedup("Inception") == 1.0


def test_sigmoid_model_never_reached_baseline():
    with pytest.raises(ValueError, match="never reached"):
        paper.fig3_speedup("BN-x5-Sigmoid")
