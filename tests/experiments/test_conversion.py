"""The converter of the studies' own result files: values moved unchanged, provenance kept and annotated."""

import json
import subprocess
from pathlib import Path

import pytest

from bn.experiments import get_experiment
from bn.experiments.base import ExperimentResult
from bn.experiments.conversion import FRAMEWORK_KEYS, convert_study_file, converted_files, original_payload

ROOT = Path(__file__).resolve().parents[2]
# The last commit whose book/results held the files as their studies wrote them.
BEFORE = "fdac5dc56910182976bc54b49112c99c4b2fe971"


def _legacy(seeds=(0, 1)):
    runs = [{"arm": arm, "seed": s, "acc": 0.1 * s + (arm == "b")} for s in seeds for arm in ("a", "b")]
    return {"study": "x", "profile": "cpu", "config": {"seeds": list(seeds), "steps": 3}, "runs": runs,
            "chosen_lr": {"a": 0.1}, "provenance": {"seeds": list(seeds), "cpu_time_s": 12.5}}


def test_convert_moves_every_value_and_notes_the_conversion():
    old = _legacy()
    exp = get_experiment("placement")
    new = convert_study_file(json.loads(json.dumps(old)), exp, lambda r: r["arm"], source="x.json")
    assert new["measures"] == {"runs": old["runs"], "chosen_lr": {"a": 0.1}}
    assert original_payload(new) == {k: v for k, v in old.items() if k not in FRAMEWORK_KEYS or k == "config"}
    assert new["seeds"] == [0, 1] and new["seeds_run"] == {"a": [0, 1], "b": [0, 1]}
    assert new["runs"] == [] and new["profile"] == "cpu" and new["experiment"] == "placement"
    prov = new["provenance"]
    assert {k: v for k, v in prov.items() if k != "converted"} == old["provenance"]
    assert prov["converted"]["from"] == "x.json" and "nothing was recomputed" in prov["converted"]["note"]
    ExperimentResult.from_dict(new)  # the one format, loaded strictly


def test_convert_refuses_seeds_its_runs_did_not_use():
    old = {**_legacy(), "seeds": [0, 1, 2]}
    with pytest.raises(ValueError, match="not those its runs used"):
        convert_study_file(old, get_experiment("placement"), lambda r: r["arm"])


def _before(path: str) -> dict:
    try:
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE}:{path}"], capture_output=True,
                              text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"no git history holding {path} as its study wrote it (a shallow or exported copy)")
    return json.loads(text)


@pytest.mark.parametrize("study", sorted(converted_files()))
def test_committed_file_is_its_old_file_converted(study):
    """Every number the chapters read is the one the study wrote: the converted file is exactly the
    conversion of the old one, and its measures and config are the old file's values."""
    source, arm_of = converted_files()[study]
    old = _before(f"book/results/{source}")
    new = json.loads((ROOT / "book" / "results" / f"{study}.json").read_text())
    assert new == convert_study_file(old, get_experiment(study), arm_of,
                                     source=f"book/results/{source} as its study wrote it")
    assert original_payload(new) == {k: v for k, v in old.items() if k not in FRAMEWORK_KEYS or k == "config"}
    ExperimentResult.from_dict(new)
