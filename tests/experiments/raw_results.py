"""Independent recomputation from a committed result's raw JSON, for the chapter-summary tests.

The summaries read typed records through :mod:`bn.experiments.report` and :mod:`bn.statistics`; these
helpers read the JSON dicts directly and redo the arithmetic with the standard library and a printed
table of t quantiles, so a test that compares the two compares two code paths.
"""

import json
import math
import re
import statistics

from bn.results import results_dir

# t_{0.975, df} from a printed table (e.g. Abramowitz & Stegun, Table 26.10), not from bn.statistics.
T975 = {1: 12.706204736174698, 2: 4.302652729911275, 3: 3.182446305284263, 4: 2.7764451051977987,
        5: 2.5705818366147395, 6: 2.4469118487916806, 7: 2.3646242510102993, 8: 2.3060041352041662,
        9: 2.2621571627409915}

# A glued text shows one decimal (a percent, points, or a ratio's two decimals); a recomputed value
# rounded the same way may differ from the shown digit by half a unit of it, plus float noise.
HALF_DIGIT = 0.05 + 1e-9
HALF_CENT = 0.005 + 1e-9


def raw(name: str) -> dict:
    """The committed result ``book/results/NAME.json``, as plain JSON."""
    return json.loads((results_dir() / f"{name}.json").read_text())


def runs(result: dict, arm: str) -> list[dict]:
    """The reported runs of ``arm`` (selection-sweep runs left out), in file order."""
    return [r for r in result["runs"] if r["spec"]["arm"] == arm and not r["spec"]["tags"].get("sweep")]


def failed(run: dict) -> bool:
    h = run["history"]
    return bool(h["diverged"] or h.get("stalled"))


def accs(run: dict) -> list[float]:
    h = run["history"]
    return h.get("val_acc") or h["test_acc"]


def mean_ci(xs: list[float], scale: float = 1.0, n: int | None = None) -> tuple[float, float, float]:
    """(mean, low, high): the 95 % t interval of the mean of ``xs``, each times ``scale`` (100: in
    percent or points). ``n``, when given, is the number of values the caller expects (seeds)."""
    if n is not None:
        assert len(xs) == n, (len(xs), n)
    m = statistics.fmean(xs)
    half = T975[len(xs) - 1] * statistics.stdev(xs) / math.sqrt(len(xs))
    return scale * m, scale * (m - half), scale * (m + half)


def paired(a: list[dict], b: list[dict]) -> list[tuple[dict, dict]]:
    """Runs of equal seeds, in seed order."""
    by = {r["spec"]["seed"]: r for r in b}
    return [(x, by[x["spec"]["seed"]]) for x in sorted(a, key=lambda r: r["spec"]["seed"]) if x["spec"]["seed"] in by]


def steps_to(run: dict, target: float) -> float:
    """Steps until the periodic accuracy first reaches ``target``; the run's budget if it never does."""
    for s, a in zip(run["history"]["eval_step"], accs(run)):
        if a is not None and a >= target:
            return float(s)
    return float(run["spec"]["train"]["steps"])


def ratio_ci(base: list[dict], other: list[dict], target: float) -> tuple[float, float, float]:
    """Geometric mean of steps(base) / steps(other) over paired seeds, t interval on the log scale."""
    logs = [math.log(steps_to(x, target) / steps_to(y, target)) for x, y in paired(base, other)]
    return tuple(math.exp(v) for v in mean_ci(logs))


def numbers(text: str) -> list[float]:
    """The numbers a glued text shows, in order: ``"+4.6 points [-1.2, 10.3]"`` -> [4.6, -1.2, 10.3]."""
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?", text)]


def close(shown: list[float], values: tuple[float, ...], scale: float = 100.0, tol: float = HALF_DIGIT) -> bool:
    """Whether the numbers a text shows are ``values`` times ``scale``, each within ``tol``."""
    return len(shown) == len(values) and all(abs(s - scale * v) <= tol for s, v in zip(shown, values))


def parse_interval(text: str) -> tuple[float, float, float]:
    """A glued interval as (value, low, high): ``"56.7 % [53.8, 59.6]"``, ``"-1.6 points [-2.9, -0.3]"``,
    ``"1.4× [1.1, 1.8]"`` or ``"+0.012 [-0.003, +0.027]"`` -> the three numbers (unit and sign kept out)."""
    head, bracket = text.split("[")
    low, high = bracket.rstrip("]").split(",")
    return float(head.split()[0].rstrip("%×")), float(low), float(high)


def shown(text: str, hand: tuple[float, ...], half: float = HALF_DIGIT) -> bool:
    """Whether a glued interval shows the hand values: each shown number within ``half`` of its hand
    value (default: one decimal shown, half a unit of it plus float noise)."""
    return all(abs(a - b) <= half for a, b in zip(parse_interval(text), hand))
