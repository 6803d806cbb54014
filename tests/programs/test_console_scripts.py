"""Every program is a console script named after it (pyproject.toml's [project.scripts], installed by `make`), whose
target is the program module's `main`; the installed command's --help shows the program's docstring and its own and
shared flags; and every program's Python entry point checks its arguments' types before it starts."""
import importlib
import inspect
import pathlib
import subprocess
import sys
import tomllib
import typing

import pytest

from support.programs import REPO_ROOT

SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
PROGRAMS = {f"{folder}.{path.stem}" for folder in ("finetuning", "pretraining", "inference")
            for path in (REPO_ROOT / folder).glob("*.py") if path.stem != "__init__"} | {
    "saved_models.export", "saved_models.client", "saved_models.demo"}


def test_every_program_is_a_command_named_after_it():
    modules = {}
    for command, target in SCRIPTS.items():
        module, function = target.split(":")
        assert function == "main" and callable(importlib.import_module(module).main), target
        assert command == "bert-" + module.split(".")[1].replace("_", "-"), (command, target)
        modules[module] = command
    assert set(modules) == PROGRAMS


def test_the_installed_command_lists_the_programs_flags():
    command = pathlib.Path(sys.executable).parent / "bert-run-classifier"
    assert command.is_file(), f"{command} is not installed: run `make venv` (pip install -e .)"
    run = subprocess.run([str(command), "--help"], cwd="/", capture_output=True, text=True, timeout=300)
    assert "BERT fine-tuning for sentence (pair) classification" in run.stdout, run.stderr[-3000:]
    for flag in ("--task_name", "--data_dir", "--bert_config_file", "--num_train_epochs", "--strategy", "--seed"):
        assert f"  {flag}:" in run.stdout, flag


# Each program's Python entry point. saved_models.client is not among them: a TF Serving client that imports
# numpy only, not keras_bert (its flags are typed by absl).
ENTRY_POINTS = {"finetuning.run_classifier": "run_classifier", "finetuning.run_squad": "run_squad",
                "finetuning.run_tagger": "run_tagger", "finetuning.extract_features": "extract_features",
                "pretraining.run_pretraining": "run_pretraining",
                "pretraining.create_pretraining_data": "create_pretraining_data",
                "pretraining.learn_vocab": "learn_vocab", "saved_models.export": "export_for_serving",
                "saved_models.demo": "run_demo", "inference.fill_mask": "fill_mask", "inference.embed": "embed"}


@pytest.mark.parametrize("module, name", sorted(ENTRY_POINTS.items()))
def test_every_program_checks_its_arguments_before_it_starts(module, name):
    assert set(ENTRY_POINTS) == PROGRAMS - {"saved_models.client"}
    program = getattr(importlib.import_module(module), name)
    hints, parameters = typing.get_type_hints(program), inspect.signature(program).parameters
    required = {p: "x" for p, parameter in parameters.items() if parameter.default is inspect.Parameter.empty}
    text = next(p for p in parameters if hints[p] in (str, str | None))
    with pytest.raises(TypeError, match=rf"^{name}: {text} must be a str \(or a path\).*, got the int 1$"):
        program(**required | {text: 1})
