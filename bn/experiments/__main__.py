"""Command line for the experiments.

  python -m bn.experiments list
  python -m bn.experiments run NAME [--profile smoke|cpu|gpu] [--seeds 0,1,2] [--max-steps K]
                                    [--data-dir DIR] [--out FILE] [--threads N] [--device cpu|cuda]
                                    [--workers N] [--base-from FILE] [--checkpoint-dir DIR]

A user error (an unknown experiment, a bad flag, a data folder that does not
hold CIFAR-10, a shortened run aimed at ``book/results``) prints one line and
exits with status 2; a traceback means a bug.

``run`` writes one JSON result (default ``book/results/NAME.json`` for the cpu
profile, ``book/results/NAME_gpu.json`` for gpu). A smoke run, a run with
``--max-steps`` or with other seeds than the profile's is never written into
``book/results`` unless ``--out`` names a file: a shortened run must not
replace a committed result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bn.cli import Parser, UsageError, report
from bn.data.errors import CifarDataError
from bn.experiments import OWN_RECORDS, PROFILES, REGISTRY, get_experiment, result_filename


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("--seeds names no seed")
    return seeds


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def profile_of(name: str, profile: str) -> dict:
    """The configuration of ``name``'s ``profile``; UsageError where the study has no such profile."""
    profiles = get_experiment(name).profiles
    if profile not in profiles:
        raise UsageError(f"{name} has no {profile!r} profile (its profiles: {', '.join(profiles)})")
    return profiles[profile]


def default_output(name: str, profile: str, seeds: list[int] | None, max_steps: int | None,
                   results_dir: Path) -> Path:
    """Where ``run`` writes by default; UsageError for a run that must not go into ``book/results``."""
    cfg_seeds = profile_of(name, profile)["seeds"]
    if profile == "smoke" or max_steps is not None or (seeds is not None and seeds != cfg_seeds):
        raise UsageError("refusing to write a smoke, --max-steps or other-seeds run into book/results: "
                         "pass --out FILE")
    return results_dir / result_filename(name, profile)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m bn.experiments", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    sub.add_parser("list", help="name every study, its profiles and its title")
    run = sub.add_parser("run", help="run one experiment and write its result JSON")
    run.add_argument("name", choices=sorted(REGISTRY))
    run.add_argument("--profile", choices=PROFILES, default="cpu")
    run.add_argument("--seeds", type=_seeds, help="comma-separated seeds (default: the profile's)")
    run.add_argument("--max-steps", type=_positive, help="stop every run after K steps (schedules unchanged)")
    run.add_argument("--data-dir", help="folder holding cifar-10-batches-py (default: $BN_DATA_DIR or cache)")
    run.add_argument("--out", help="result file (default: book/results/NAME.json)")
    run.add_argument("--threads", type=_positive, default=1,
                     help="torch CPU threads; CPU results are bitwise reproducible only at a fixed count")
    run.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    run.add_argument("--checkpoint-dir", help="save/resume every run's checkpoints here")
    run.add_argument("--workers", type=_positive, default=1,
                     help="train this many runs at a time, one process and one torch thread each")
    run.add_argument("--base-from", help="the convergence result whose chosen rate is the base rate "
                                         "(default: book/results' file of the same profile)")
    run.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    args = parser.parse_args(argv)  # exits 2 with one line for an unknown name or a bad flag
    try:
        return _command(args)
    except (UsageError, CifarDataError) as exc:
        return report(parser.prog, exc)


def _command(args: argparse.Namespace) -> int:
    if args.command == "list":
        width = max(map(len, REGISTRY))
        for name, exp in REGISTRY.items():
            print(f"{name:{width}s}  {', '.join(exp.profiles):16s} {exp.title}")
        return 0

    import torch

    from bn.experiments import run_experiment
    from bn.results import results_dir, save_result

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {args.device} asked for, but torch sees no CUDA device")
    profile_of(args.name, args.profile)
    if args.name in OWN_RECORDS and (args.workers > 1 or args.checkpoint_dir or args.max_steps):
        raise UsageError(f"{args.name} trains its runs in its own loop: --workers, --checkpoint-dir and "
                         "--max-steps apply to the studies whose runs are specs")
    torch.set_num_threads(args.threads)
    seeds = args.seeds
    out = Path(args.out) if args.out else default_output(args.name, args.profile, seeds, args.max_steps,
                                                         results_dir())
    payload = run_experiment(get_experiment(args.name), args.profile, seeds=seeds, data_dir=args.data_dir,
                             max_steps=args.max_steps, device=args.device, progress=not args.no_progress,
                             checkpoint_dir=args.checkpoint_dir, workers=args.workers,
                             base_from=args.base_from)
    path = save_result(out, payload)
    print(f"wrote {path} ({payload['provenance']['wall_time_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
