"""The command line of every program, the only module that touches absl flags: a program is a Python function
whose parameters are named like its flags (callable from Python with keyword arguments); each flag is defined from
that signature (default, type, required) with a help text, and the flags programs share are defined here, with the
checks every program's arguments pass (`checks_arguments`)."""
from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from absl import app, flags
from absl import logging as absl_logging

from keras_bert.training import distribute

# Flags defined through this module belong to the program module that asks for them (they are listed in its
# --help), not to keras_bert.cli.
flags.disclaim_key_flags()

MODEL_FLAGS = {
    "bert_config_file": "bert_config.json of the pretrained model (default: config.json of a Hugging Face "
                        "--init_checkpoint).",
    "vocab_file": "The vocabulary the model was trained on (default: vocab.txt of a Hugging Face --init_checkpoint).",
    "init_checkpoint": "Checkpoint to start from: Google format (prefix or release folder) or a Hugging Face folder "
                       "(config.json, weights, vocab.txt, tokenizer_config.json).",
    "do_lower_case": "Lower-case the input (True for uncased models, False for cased). Default: the casing in "
                     "tokenizer_config.json of a Hugging Face --init_checkpoint, else True.",
    "max_seq_length": "Maximum word pieces per input after tokenisation; longer inputs are truncated.",
}
FINE_TUNING_FLAGS = {
    "output_dir": "Where the model, checkpoints and results are written.",
    "do_train": "Whether to run training.",
    "do_predict": "Whether to predict on the test/predict set.",
    "train_batch_size": "Total batch size for training.",
    "predict_batch_size": "Batch size for prediction.",
    "learning_rate": "Initial learning rate for Adam.",
    "num_train_epochs": "Epochs of training.",
    "warmup_proportion": "Share of training with linear learning-rate warmup.",
    "save_checkpoints_steps": "How often to save a training checkpoint.",
    "seed": "Random seed (weights, dropout, shuffling).",
    "save_huggingface": "After training, also write the model as a Hugging Face folder in <output_dir>/huggingface "
                        "(config.json, model.safetensors, vocab.txt, tokenizer_config.json).",
}
DISTRIBUTION_FLAGS = {
    "strategy": "tf.distribute strategy to train with.",
    "tpu": "TPU name or grpc:// address for --strategy tpu ('local' on a TPU VM).",
    "mixed_precision": "Keras mixed-precision policy: none (float32), bf16 or fp16.",
    "jit_compile": "Compile the train step with XLA.",
    "steps_per_execution": "Train steps per tf.function call (TPUs want many).",
}
BATCH_LENGTH_FLAGS = {
    "fixed_length_batches": "Pad every batch to --max_seq_length (static shapes, as TPUs need; always on with "
                            "--strategy=tpu). By default each batch is padded only to its longest example, which "
                            "changes no output and saves the encoder the work on padding.",
    "bucket_by_length": "Training: batch examples of similar length together (fewer padded positions per batch; "
                        "batches are then no longer uniformly random). Not with fixed-length batches.",
}
INFERENCE_PRECISION_FLAGS = {
    "mixed_precision": "Keras mixed-precision policy for the forward pass: none (float32), bf16 (faster on CPUs "
                       "with AVX512_BF16/AMX and on TPUs/recent GPUs) or fp16; outputs are float32 either way.",
}
DISTRIBUTION_ENUMS = {"strategy": distribute.STRATEGIES, "mixed_precision": tuple(distribute.MIXED_PRECISION_POLICIES)}

_DEFINE_BY_TYPE = {str: flags.DEFINE_string, int: flags.DEFINE_integer, float: flags.DEFINE_float,
                   bool: flags.DEFINE_bool}


def _at_least(minimum: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda value: value >= minimum), f">= {minimum}"


# The values a flag of this name can take in any program, checked before the program starts (`checks_arguments`):
# values that would fail late (a batch size of 0 after training), hang, or train nothing.
FLAG_VALUE_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    **{name: _at_least(1) for name in ("train_batch_size", "eval_batch_size", "predict_batch_size", "batch_size",
                                       "save_checkpoints_steps", "steps_per_execution", "doc_stride",
                                       "max_query_length", "n_best_size", "max_answer_length", "max_text_bytes",
                                       "max_windows", "top_k")},
    "max_seq_length": ((lambda value: value >= 3), ">= 3 ([CLS], a word piece, [SEP])"),
    "num_train_epochs": ((lambda value: 0 < value < math.inf), "a positive finite number"),
    "learning_rate": ((lambda value: 0 < value < math.inf), "a positive finite number"),
    "warmup_proportion": ((lambda value: 0 <= value <= 1), "within [0, 1]"),
    "output_dir": ((lambda value: not os.path.isfile(value)), "a folder (created if missing), not a file"),
}


def parameter_defaults(function: Callable) -> dict[str, Any]:
    """Keyword defaults of a program's Python entry point: the single source of its flags' defaults."""
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


def flag_values(function: Callable, flag_values_object) -> dict[str, Any]:
    """The parsed absl flags named like `function`'s parameters (parameters without a flag keep their defaults)."""
    names = inspect.signature(function).parameters
    return {name: flag_values_object[name].value for name in names if name in flag_values_object}


def _define_function(annotation: Any) -> Callable:
    """The absl DEFINE_* for a parameter annotated str, int, float, bool or list[str], each optionally `| None`."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kinds = [kind for kind in typing.get_args(annotation) if kind is not type(None)]
        annotation = kinds[0] if len(kinds) == 1 else annotation
    if annotation in _DEFINE_BY_TYPE:
        return _DEFINE_BY_TYPE[annotation]
    if typing.get_origin(annotation) is list and typing.get_args(annotation) == (str,):
        return flags.DEFINE_multi_string
    raise TypeError(f"no absl flag type for a parameter annotated {annotation!r}")


def define_flags(program: Callable, helps: Mapping[str, str], enums: Mapping[str, Sequence[str]] | None = None,
                 flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines a flag for each parameter of `program` named in `helps`.

    A flag's default is the parameter's default, its type the parameter's annotation (`str`, `int`, `float`,
    `bool`, `list[str]` for a repeatable flag, each optionally `| None`), and a parameter without a default is a
    required flag.

    Args:
        program: the program's Python entry point.
        helps: {parameter name: help text}, in the order of `--help`.
        enums: {parameter name: allowed values} for string flags restricted to a few values.
        flag_values: where to define them (absl's global `FLAGS` by default).

    Example:
    >>> def greet(name: str, times: int = 1, loud: bool = False): ...
    >>> flag_values = flags.FlagValues()
    >>> define_flags(greet, {"name": "Who.", "times": "How often.", "loud": "Shout."}, flag_values=flag_values)
    >>> _ = flag_values(["greet", "--name=Ada", "--loud"])
    >>> flag_values.name, flag_values.times, flag_values.loud
    ('Ada', 1, True)
    """
    parameters = inspect.signature(program).parameters
    annotations = typing.get_type_hints(program)
    for name, help_text in helps.items():
        if name not in parameters:
            raise ValueError(f"--{name}: {program.__name__} has no parameter {name!r}")
        default = parameters[name].default
        required = default is inspect.Parameter.empty
        if enums and name in enums:
            flags.DEFINE_enum(name, None if required else default, list(enums[name]), help_text,
                              flag_values=flag_values)
        else:
            _define_function(annotations[name])(name, None if required else default, help_text,
                                                flag_values=flag_values)
        if required:
            flags.mark_flag_as_required(name, flag_values=flag_values)


def define_model_flags(program: Callable, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """The reference's model flags every fine-tuning program and extract_features share (`MODEL_FLAGS`)."""
    define_flags(program, MODEL_FLAGS, flag_values=flag_values)


def define_distribution_flags(program: Callable, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """The flags every training program has beyond the reference's: `--strategy`, `--tpu`, `--mixed_precision`,
    `--jit_compile`, `--steps_per_execution` (`DISTRIBUTION_FLAGS`)."""
    define_flags(program, DISTRIBUTION_FLAGS, DISTRIBUTION_ENUMS, flag_values=flag_values)


def define_batch_length_flags(program: Callable, flag_values: flags.FlagValues = flags.FLAGS,
                              training: bool = True) -> None:
    """`--fixed_length_batches` and, for programs that train, `--bucket_by_length` (`BATCH_LENGTH_FLAGS`)."""
    helps = BATCH_LENGTH_FLAGS if training else {"fixed_length_batches": BATCH_LENGTH_FLAGS["fixed_length_batches"]}
    define_flags(program, helps, flag_values=flag_values)


def define_inference_flags(program: Callable, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """What the programs that only run the model forward (extract_features, fill_mask, embed) share: the model
    flags, `--fixed_length_batches` and `--mixed_precision` (`INFERENCE_PRECISION_FLAGS`)."""
    define_model_flags(program, flag_values)
    define_batch_length_flags(program, flag_values, training=False)
    define_flags(program, INFERENCE_PRECISION_FLAGS, {"mixed_precision": DISTRIBUTION_ENUMS["mixed_precision"]},
                 flag_values=flag_values)


def define_fine_tuning_flags(program: Callable, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Everything the fine-tuning programs share: the model flags, the reference's training flags
    (`FINE_TUNING_FLAGS`, `--seed` included) and the distribution flags."""
    define_model_flags(program, flag_values)
    define_flags(program, FINE_TUNING_FLAGS, flag_values=flag_values)
    define_distribution_flags(program, flag_values)


def checks_arguments(program: Callable) -> Callable:
    """Decorates a program's Python entry point so that bad arguments fail before it starts, naming the argument.

    Each argument must have the type its parameter is annotated with, as its flag would: a `bool` a bool (not
    "False"), an `int` an integer, a `float` a number, a `str` a string or a path (passed on as a string), a
    `list[str]` a list of strings, and None only where the annotation says `| None` (TypeError). Then arguments
    named in `FLAG_VALUE_RULES` must be in range (ValueError naming the flag).

    Example:
    >>> @checks_arguments
    ... def train(steps: int, rate: float = 0.5, verbose: bool = False): ...
    >>> train(steps=3, rate=1)  # an int is a fine float
    >>> train(steps="3")
    Traceback (most recent call last):
    TypeError: train: steps must be an int, got the str '3'
    """
    signature = inspect.signature(program)
    hints = typing.get_type_hints(program)
    kinds = {name: kind for name in signature.parameters if (kind := _argument_kind(hints.get(name)))}

    @functools.wraps(program)
    def run(*args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(*args, **kwargs)
        arguments.apply_defaults()
        for name, value in arguments.arguments.items():
            if name in kinds:
                arguments.arguments[name] = _typed_argument(program.__name__, name, value, *kinds[name])
        check_flag_values(arguments.arguments)
        return program(*arguments.args, **arguments.kwargs)

    return run


def check_flag_values(arguments: Mapping[str, Any]) -> None:
    """ValueError naming the first argument named in `FLAG_VALUE_RULES` whose value is out of range (None is
    left to the program: an optional flag not given)."""
    for name, value in arguments.items():
        if name in FLAG_VALUE_RULES and value is not None:
            accepts, requirement = FLAG_VALUE_RULES[name]
            if not accepts(value):
                raise ValueError(f"--{name} must be {requirement}, got {value!r}")


_KIND_NAMES = {bool: "a bool", int: "an int", float: "a float (or an int)", str: "a str (or a path)",
               list: "a list of str"}


def _argument_kind(annotation: Any) -> tuple[type, bool] | None:
    """(bool, int, float, str or list, whether None is allowed) for the annotations flags have; None for others,
    which are not checked."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kinds = [kind for kind in typing.get_args(annotation) if kind is not type(None)]
        optional = len(kinds) < len(typing.get_args(annotation))
        annotation = kinds[0] if len(kinds) == 1 else None
    if annotation in _KIND_NAMES:
        return annotation, optional
    if typing.get_origin(annotation) is list and typing.get_args(annotation) == (str,):
        return list, optional
    return None


def _typed_argument(program_name: str, name: str, value: Any, kind: type, optional: bool) -> Any:
    """`value` if it is of `kind` (a path given for a str comes back as a str); else TypeError naming `name`."""
    if value is None and optional:
        return value
    if kind is str and isinstance(value, os.PathLike) and isinstance(os.fspath(value), str):
        return os.fspath(value)
    if isinstance(value, bool):  # a bool is an int to Python, never to a flag
        fits = kind is bool
    elif kind is int:
        fits = isinstance(value, numbers.Integral)
    elif kind is float:
        fits = isinstance(value, numbers.Real)
    elif kind is list:
        fits = isinstance(value, list) and all(isinstance(item, str) for item in value)
    else:
        fits = isinstance(value, kind)
    if not fits:
        raise TypeError(f"{program_name}: {name} must be {_KIND_NAMES[kind]}{' or None' if optional else ''}, "
                        f"got the {type(value).__name__} {value!r}")
    return value


def run_program(program: Callable, define_program_flags: Callable[[], None], verbosity: int | None = None) -> None:
    """Defines the program's flags, parses the command line and calls `program(**flags)`.

    `verbosity`: the absl logging verbosity unless `--verbosity` is given (e.g. `absl.logging.WARNING`; absl's own
    default is INFO).
    """
    define_program_flags()
    _list_flags_in_help(program)

    def main(argv: list[str]) -> None:
        del argv
        if verbosity is not None and not flags.FLAGS["verbosity"].present:
            absl_logging.set_verbosity(verbosity)
        program(**flag_values(program, flags.FLAGS))

    app.run(main)


def _list_flags_in_help(program: Callable) -> None:
    """`--help` shows the main module's docstring and flags; under a console script (`bert-run-classifier`) that
    module is the script, not the program's module that has them."""
    main_module, program_module = sys.modules["__main__"], sys.modules[program.__module__]
    if main_module is not program_module:
        main_module.__doc__ = main_module.__doc__ or program_module.__doc__
        for flag in flags.FLAGS.get_key_flags_for_module(program_module):
            flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
