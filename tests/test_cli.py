"""keras_bert.cli: a program's flags come from its Python signature — default, type and whether it is required
stated once — and the parsed flags come back as the program's keyword arguments."""
import pytest
from absl import flags

from keras_bert import cli


def program(input_file: str, steps: int, rate: float = 0.5, verbose: bool = True, name: str | None = None,
            seed: int | None = 7, texts: list[str] | None = None, mode: str = "fast", unflagged: int = 3):
    return locals()


HELPS = {"input_file": "Input.", "steps": "Steps.", "rate": "Rate.", "verbose": "Verbose.", "name": "Name.",
         "seed": "Seed.", "texts": "Texts.", "mode": "Mode."}


def _flags():
    flag_values = flags.FlagValues()
    cli.define_flags(program, HELPS, enums={"mode": ("fast", "slow")}, flag_values=flag_values)
    return flag_values


def test_defaults_types_and_required_flags_come_from_the_signature():
    flag_values = _flags()
    flag_values(["program", "--input_file=a.txt", "--steps=12", "--noverbose", "--texts=x", "--texts=y"])
    assert cli.flag_values(program, flag_values) == {
        "input_file": "a.txt", "steps": 12, "rate": 0.5, "verbose": False, "name": None, "seed": 7,
        "texts": ["x", "y"], "mode": "fast"}  # `unflagged` has no flag: the program keeps its default
    assert program(**cli.flag_values(program, flag_values))["unflagged"] == 3
    assert [flag_values[name].flag_type() for name in HELPS] == [
        "string", "int", "float", "bool", "string", "int", "multi string", "string enum"]
    assert flag_values["rate"].help == "Rate."


def test_parameters_without_a_default_are_required_flags():
    with pytest.raises(flags.IllegalFlagValueError, match="--steps must have a value other than None"):
        _flags()(["program", "--input_file=a.txt"])


def test_bad_values_are_refused_by_type_and_enum():
    with pytest.raises(flags.IllegalFlagValueError, match="steps"):
        _flags()(["program", "--input_file=a", "--steps=many"])
    with pytest.raises(flags.IllegalFlagValueError, match="mode"):
        _flags()(["program", "--input_file=a", "--steps=1", "--mode=medium"])


def test_a_flag_must_name_a_parameter_of_a_known_type():
    with pytest.raises(ValueError, match="--colour: program has no parameter 'colour'"):
        cli.define_flags(program, {"colour": "Colour."}, flag_values=flags.FlagValues())

    def odd(values: dict[str, int] | None = None):
        return values

    with pytest.raises(TypeError, match="no absl flag type"):
        cli.define_flags(odd, {"values": "Values."}, flag_values=flags.FlagValues())


def test_parameter_defaults_are_the_keyword_defaults():
    assert cli.parameter_defaults(program) == {"rate": 0.5, "verbose": True, "name": None, "seed": 7, "texts": None,
                                               "mode": "fast", "unflagged": 3}


def test_fine_tuning_programs_share_the_reference_and_distribution_flags():
    from finetuning.run_classifier import run_classifier

    flag_values = flags.FlagValues()
    cli.define_fine_tuning_flags(run_classifier, flag_values)
    shared = set(cli.MODEL_FLAGS) | set(cli.FINE_TUNING_FLAGS) | set(cli.DISTRIBUTION_FLAGS)
    assert set(flag_values) == shared
    assert {"bert_config_file", "vocab_file", "output_dir", "seed", "strategy", "mixed_precision"} <= shared
    flag_values(["run_classifier", "--bert_config_file=c.json", "--vocab_file=v.txt", "--output_dir=o",
                 "--strategy=mirrored"])
    assert flag_values.max_seq_length == 128 and flag_values.learning_rate == 5e-5 and flag_values.seed is None
    assert flag_values.strategy == "mirrored" and flag_values.mixed_precision == "none"


def test_batch_length_and_inference_precision_flags():
    """Training programs get --fixed_length_batches and --bucket_by_length; inference programs the first and
    --mixed_precision, restricted to the policies."""
    from finetuning.extract_features import extract_features
    from finetuning.run_tagger import run_tagger

    training = flags.FlagValues()
    cli.define_batch_length_flags(run_tagger, training)
    training(["run_tagger", "--bucket_by_length"])
    assert set(training) == set(cli.BATCH_LENGTH_FLAGS)
    assert training.bucket_by_length and not training.fixed_length_batches
    inference = flags.FlagValues()
    cli.define_inference_flags(extract_features, inference)
    assert set(inference) == {"fixed_length_batches", "mixed_precision", *cli.MODEL_FLAGS}
    inference(["extract_features", "--mixed_precision=bf16", "--fixed_length_batches"])
    assert inference.mixed_precision == "bf16" and inference.fixed_length_batches
    with pytest.raises(flags.IllegalFlagValueError):
        inference(["extract_features", "--mixed_precision=int8"])


@cli.checks_arguments
def checked(input_file: str, steps: int = 1, rate: float = 0.5, verbose: bool = False, seed: int | None = None,
            texts: list[str] | None = None, output_dir: str = "out", train_batch_size: int = 8):
    return locals()


def test_arguments_are_checked_against_their_annotations_before_the_program_runs(tmp_path):
    assert checked(tmp_path / "a.txt", rate=1) == {  # a path for a str comes in as a str; an int is a fine float
        "input_file": str(tmp_path / "a.txt"), "steps": 1, "rate": 1, "verbose": False, "seed": None, "texts": None,
        "output_dir": "out", "train_batch_size": 8}
    assert checked("a", seed=3, texts=["x"])["texts"] == ["x"]
    for arguments, message in [({"verbose": "False"}, "verbose must be a bool, got the str 'False'"),
                               ({"steps": "32"}, "steps must be an int, got the str '32'"),
                               ({"steps": True}, "steps must be an int, got the bool True"),
                               ({"rate": "0.1"}, r"rate must be a float \(or an int\), got the str '0.1'"),
                               ({"seed": 1.5}, "seed must be an int or None, got the float 1.5"),
                               ({"texts": "x"}, "texts must be a list of str or None, got the str 'x'"),
                               ({"input_file": None}, r"input_file must be a str \(or a path\), got the NoneType")]:
        with pytest.raises(TypeError, match=f"^checked: {message}"):
            checked(**{"input_file": "a"} | arguments)
    with pytest.raises(ValueError, match=r"^--train_batch_size must be >= 1, got 0$"):
        checked("a", train_batch_size=0)
    (tmp_path / "a_file").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^--output_dir must be a folder \(created if missing\), not a file"):
        checked("a", output_dir=str(tmp_path / "a_file"))
