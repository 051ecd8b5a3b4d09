"""python -m bn.benchmark --out book/results/speed_cpu.json [--device cpu|cuda] [--quick]

Runs every workload of the speed chapter once and writes the result with
provenance (machine, library versions, commit, 1-minute load average at start
and end: other jobs may share the machine, and the load says how much).
``--quick`` runs tiny sizes to check the plumbing; it refuses to write into
book/results, because a shortened run is never presented as a result. A user
error prints one line and exits with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from bn.benchmark.run import config_for, run_benchmark
from bn.cli import Parser, UsageError, report


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark as the command line asks; return the payload written."""
    from bn.provenance import collect_provenance
    from bn.results import save_result

    ap = Parser(prog="python -m bn.benchmark", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for tests (not a result)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.quick and out.resolve().parent.name == "results" and out.resolve().parent.parent.name == "book":
        raise UsageError("--quick results are not results: write them outside book/results")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {args.device} asked for, but torch sees no CUDA device")
    cfg = config_for(args.device, args.quick)
    payload = run_benchmark(args.device, cfg, progress=lambda s: print(s, file=sys.stderr, flush=True))
    payload["quick"] = args.quick
    payload["provenance"] = collect_provenance(config=payload["config"], wall_time_s=payload["wall_time_s"],
                                               load_average_1min=payload["load_average_1min"])
    save_result(out, payload)
    print(f"wrote {out} ({payload['wall_time_s']} s, load {payload['load_average_1min']})")
    return payload


if __name__ == "__main__":
    try:
        main()
    except UsageError as exc:
        sys.exit(report("python -m bn.benchmark", exc))
