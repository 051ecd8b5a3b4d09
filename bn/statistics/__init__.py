"""The book's statistics: intervals, pairing by seed, censored step ratios, the plateau rule and the verdict.

One home for how two arms are compared and what the comparison settles:

* :mod:`bn.statistics.intervals`: means, paired differences and ratios with Student-t intervals;
* :mod:`bn.statistics.pairing`: runs of two arms paired by seed;
* :mod:`bn.statistics.censored`: steps-to-target ratios when runs fall short of the target;
* :mod:`bn.statistics.plateau`: whether runs have stopped improving;
* :mod:`bn.statistics.verdict`: the one verdict rule, and Holm's correction over many claims.

NumPy only: the layers that hold runs (``bn.experiments``) turn them into numbers first.
"""

from bn.statistics.censored import BOUNDS, CensoredRatio, censored_ratio
from bn.statistics.intervals import (Interval, difference_ci, mean_ci, paired_difference_ci, paired_ratio_ci,
                                     ratio_ci, t_cdf, t_quantile, t_test_p, welch_df)
from bn.statistics.pairing import pair_by
from bn.statistics.plateau import LATE_FRACTION, PLATEAU_RULE, Plateau, late_rise, plateau
from bn.statistics.verdict import (LEVEL, VERDICTS, Evidence, Outcomes, Verdict, all_of, decide,
                                   fisher_one_sided, holm)

__all__ = ["BOUNDS", "CensoredRatio", "Evidence", "Interval", "LATE_FRACTION", "LEVEL", "Outcomes",
           "PLATEAU_RULE", "Plateau", "VERDICTS", "Verdict", "all_of", "censored_ratio", "decide", "difference_ci",
           "fisher_one_sided", "holm", "late_rise", "mean_ci", "pair_by", "paired_difference_ci",
           "paired_ratio_ci", "plateau", "ratio_ci", "t_cdf", "t_quantile", "t_test_p", "welch_df"]
