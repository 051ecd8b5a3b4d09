"""The command line: list, run (smoke, on synthetic data), and refusal to overwrite committed results."""

import json
import subprocess
import sys

import pytest

from bn.experiments import REGISTRY
from bn.cli import UsageError
from bn.experiments.__main__ import default_output, main

PAPER = ["fig1_mlp", "convergence", "learning_rates", "sigmoid", "initialization", "recipe", "fig1_equal_rates",
         "long_training"]
OTHERS = ["placement", "layer_vs_torch", "training_diagnostics", "population_statistics", "pitfalls", "sync_bn",
          "only_bn", "weight_decay", "smoothness", "norm_family"]
TODAY = ["distribution_shift", "fine_tuning", "sequence_norms", "without_bn", "training_stack"]


def test_list_names_every_study(capsys):
    import pkgutil

    import bn.experiments

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.strip().splitlines()] == list(REGISTRY)
    assert list(REGISTRY) == PAPER + OTHERS + TODAY
    # every module of the package that declares a study is in the registry: one command runs them all
    for info in pkgutil.iter_modules(bn.experiments.__path__):
        module = __import__(f"bn.experiments.{info.name}", fromlist=["EXPERIMENT"])
        if hasattr(module, "EXPERIMENT"):
            assert REGISTRY[module.EXPERIMENT.name] is module.EXPERIMENT, info.name
        assert not hasattr(module, "main") or info.name == "__main__", f"{info.name} has its own command line"


def test_run_smoke_writes_a_result_with_provenance(synthetic_dir, tmp_path):
    out = tmp_path / "fig1.json"
    assert main(["run", "fig1_mlp", "--profile", "smoke", "--seeds", "0,1", "--data-dir", str(synthetic_dir),
                 "--out", str(out), "--no-progress", "--max-steps", "8"]) == 0
    res = json.loads(out.read_text())
    assert res["experiment"] == "fig1_mlp" and res["profile"] == "smoke" and res["seeds"] == [0, 1]
    reported = [r for r in res["runs"] if not r["spec"]["tags"].get("sweep")]
    assert [(r["spec"]["arm"], r["spec"]["seed"]) for r in reported] == [
        ("no_bn", 0), ("bn", 0), ("no_bn", 1), ("bn", 1)]
    assert {r["spec"]["seed"] for r in res["runs"] if r["spec"]["tags"].get("sweep")} == {100}
    prov = res["provenance"]
    assert prov["data"]["copy"] == "synthetic" and prov["data"]["files_md5"] and prov["data"]["n_val"] == 100
    assert prov["torch_threads"] == 1 and prov["device"]["torch_threads"] == 1
    assert "libraries" in prov and prov["code"]["commit"] and prov["wall_time_s"] > 0 and prov["cpu_time_s"] > 0
    h = reported[1]["history"]
    assert h["eval_step"] == [0, 4, 8] and len(h["val_acc"]) == 3 and h["test_acc"] == []
    # the BN arm records both the normalized xhat and the sigmoid's input, three percentiles each
    assert len(h["measures"][-1]["xhat"]) == 3 and len(h["measures"][-1]["sigmoid_input"]) == 3
    assert reported[0]["history"]["measures"][-1]["xhat"] is None


@pytest.mark.slow
def test_sweep_experiment_records_its_choice(synthetic_dir, tmp_path):
    out = tmp_path / "conv.json"
    main(["run", "convergence", "--profile", "smoke", "--seeds", "0,1", "--max-steps", "12",
          "--data-dir", str(synthetic_dir), "--out", str(out), "--no-progress", "--workers", "2"])
    res = json.loads(out.read_text())
    sel = res["measures"]["selection"]
    best = res["measures"]["baseline_lr"]
    assert best == sel["chosen"] in res["config"]["rates"] and sel["seed"] == res["config"]["select_seed"]
    sweep = [r["spec"] for r in res["runs"] if r["spec"]["tags"].get("sweep")]
    assert [s["train"]["peak_lr"] for s in sweep] == res["config"]["rates"]
    assert {s["seed"] for s in sweep} == {res["config"]["select_seed"]}
    reported = [r for r in res["runs"] if not r["spec"]["tags"].get("sweep")]
    assert {(r["spec"]["arm"], r["spec"]["seed"]) for r in reported} == {
        (a, s) for a in ("no_bn", "bn") for s in (0, 1)}
    assert all(r["spec"]["train"]["peak_lr"] == best for r in reported)
    assert all(r["history"]["steps_done"] == 12 for r in res["runs"])
    assert res["provenance"]["workers"] == 2


@pytest.mark.parametrize("profile,seeds,max_steps", [("smoke", None, None), ("cpu", None, 50),
                                                     ("cpu", [0], None)])
def test_shortened_runs_are_not_written_to_book_results(tmp_path, profile, seeds, max_steps):
    with pytest.raises(UsageError, match="refusing to write"):
        default_output("convergence", profile, seeds, max_steps, tmp_path)


def test_full_profiles_go_to_their_files(tmp_path):
    assert default_output("recipe", "cpu", None, None, tmp_path) == tmp_path / "recipe.json"
    assert default_output("recipe", "gpu", None, None, tmp_path) == tmp_path / "recipe_gpu.json"


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_a_corrupt_data_folder_is_one_line_and_exit_2(tmp_path, capsys):
    batches = tmp_path / "cifar-10-batches-py"
    batches.mkdir()
    for name in ["batches.meta", "test_batch"] + [f"data_batch_{i}" for i in range(1, 6)]:
        (batches / name).write_bytes(b"not a pickle")
    assert main(["run", "fig1_mlp", "--profile", "smoke", "--data-dir", str(tmp_path),
                 "--out", str(tmp_path / "r.json"), "--no-progress"]) == 2
    err = _one_line_error(capsys)
    assert err.startswith("python -m bn.experiments: error:") and "CIFAR-10" in err
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("argv, says", [
    (["run", "no_such_experiment"], "invalid choice"),
    (["run", "fig1_mlp", "--seeds", "0,x"], "comma-separated integers"),
    (["run", "fig1_mlp", "--max-steps", "0"], "positive integer"),
    (["run", "fig1_mlp", "--no-such-flag"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_command_lines_are_one_line_and_exit_2(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert says in _one_line_error(capsys)


def test_shortened_run_into_book_results_is_a_user_error(synthetic_dir, capsys):
    assert main(["run", "fig1_mlp", "--profile", "smoke", "--data-dir", str(synthetic_dir)]) == 2
    assert "pass --out FILE" in _one_line_error(capsys)


@pytest.mark.slow
def test_the_module_exits_2_without_a_traceback():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "bn.experiments", "run", "no_such_experiment"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_a_profile_the_study_lacks_is_one_line_and_exit_2(capsys):
    assert main(["run", "placement", "--profile", "gpu", "--out", "/nonexistent/r.json"]) == 2
    assert "placement has no 'gpu' profile" in _one_line_error(capsys)


@pytest.mark.parametrize("module", ["only_bn", "sync_bn", "weight_decay", "smoothness", "norm_family", "placement"])
def test_no_study_keeps_a_command_line_of_its_own(module):
    proc = subprocess.run([sys.executable, "-m", f"bn.experiments.{module}", "--profile", "cpu"],
                          capture_output=True, text=True, timeout=120)
    assert not proc.stdout and "wrote" not in proc.stderr  # importing the module runs nothing


def test_loop_flags_on_a_study_with_its_own_loop_are_one_line_and_exit_2(capsys):
    assert main(["run", "only_bn", "--profile", "smoke", "--workers", "2", "--out", "/nonexistent/r.json"]) == 2
    assert "only_bn trains its runs in its own loop" in _one_line_error(capsys)


def test_the_named_groups_are_study_names():
    from bn.experiments import OWN_RECORDS, PAPER_CLAIMS, TODAY

    assert set(PAPER_CLAIMS) | set(OWN_RECORDS) | set(TODAY) == set(REGISTRY)
    assert list(PAPER_CLAIMS) == PAPER
