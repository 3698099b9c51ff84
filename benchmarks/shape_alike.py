"""Randomly initialised stand-ins with the exact shapes of the ``colab`` profile's hub models, for measuring
GPU memory on a machine that cannot reach the Hugging Face hub.

    python benchmarks/shape_alike.py --out DIR [--generator-tokenizer PATH] [--encoder-tokenizer PATH]

writes ``DIR/generator`` (Qwen2.5-0.5B-Instruct's configuration: 24 layers, hidden 896, 14 query / 2
key-value heads, MLP 4864, vocabulary 151,936, tied embeddings) and ``DIR/encoder`` (bert-base-uncased's:
12 layers, hidden 768, vocabulary 30,522), random weights, saved as safetensors. Pass them to the pipeline
with ``--set models.generator=DIR/generator --set models.reward_backbone=DIR/encoder
--set models.encoder=DIR/encoder``.

What carries over to the real models and what does not:
- Parameters, activations, KV cache, optimiser states and logits have the real sizes (same config).
- Tokenizers: by default SmolLM2's (embedded, 49k tokens, token ids fit the 151k vocabulary) and
  MiniLM's (the same uncased WordPiece vocabulary as bert-base-uncased). SmolLM2's BPE splits English into
  about as many tokens as Qwen's, so sequence lengths are close, not equal.
- Random weights never pick the end-of-turn token, so every generated JD runs to ``max_new_tokens``: the
  generation and PPO peaks are the worst case, not the typical one.
The architecture numbers are copied from the public ``config.json`` of each model (listed below).
Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, emit  # noqa: E402

sys.path.insert(0, str(ROOT))

# https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/config.json
QWEN25_05B = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                  num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, rope_theta=1000000.0,
                  rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu")
# https://huggingface.co/bert-base-uncased/blob/main/config.json
BERT_BASE = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                 vocab_size=30522, max_position_embeddings=512, type_vocab_size=2, hidden_act="gelu")


def build(out: Path, generator_tokenizer: str, encoder_tokenizer: str, seed: int = 0) -> dict:
    import torch
    from transformers import AutoModel, AutoTokenizer, BertConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    gtok = AutoTokenizer.from_pretrained(generator_tokenizer)
    gcfg = Qwen2Config(**QWEN25_05B, bos_token_id=gtok.bos_token_id, eos_token_id=gtok.eos_token_id,
                       pad_token_id=gtok.pad_token_id)
    gen = Qwen2ForCausalLM(gcfg)
    gen.save_pretrained(out / "generator", safe_serialization=True)
    gtok.save_pretrained(out / "generator")
    etok = AutoTokenizer.from_pretrained(encoder_tokenizer)
    enc = AutoModel.from_config(BertConfig(**BERT_BASE))
    enc.save_pretrained(out / "encoder", safe_serialization=True)
    etok.save_pretrained(out / "encoder")
    return {"generator": str(out / "generator"), "generator_parameters": sum(p.numel() for p in gen.parameters()),
            "encoder": str(out / "encoder"), "encoder_parameters": sum(p.numel() for p in enc.parameters())}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--generator-tokenizer", default=None, help="tokenizer folder (default: embedded SmolLM2)")
    p.add_argument("--encoder-tokenizer", default=None, help="tokenizer folder (default: embedded MiniLM)")
    args = p.parse_args(argv)
    if args.generator_tokenizer is None or args.encoder_tokenizer is None:
        from girl_lib.models import minilm_dir, smollm2_dir

        args.generator_tokenizer = args.generator_tokenizer or str(smollm2_dir())
        args.encoder_tokenizer = args.encoder_tokenizer or str(minilm_dir())
    emit(build(Path(args.out), args.generator_tokenizer, args.encoder_tokenizer))


if __name__ == "__main__":
    main()
