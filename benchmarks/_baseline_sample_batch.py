"""The ORIGINAL ``girl_lib.generate.sample_batch`` (repo commit 0f2bcf5), kept verbatim as the "before"
of benchmarks/generation.py. Not used by the library."""

from __future__ import annotations

def _sample_next(logits, temperature: float, top_p: float, generator):
    """One token per row: greedy when temperature == 0, else temperature + nucleus (top-p) sampling."""
    import torch

    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, idx = probs.sort(-1, descending=True)
        keep = sorted_probs.cumsum(-1) - sorted_probs < top_p  # always keeps the top token
        sorted_probs = sorted_probs * keep
        probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def sample_batch(model, tokenizer, cvs: list[str], max_new_tokens: int = 160, temperature: float = 1.0,
                 top_p: float = 1.0, generator=None) -> dict:
    """Generate one JD per CV with a KV cache, from the Fig. 3 prompt (left padding).

    Sampling draws from ``generator`` (a seeded ``torch.Generator``), so rollouts are reproducible and
    resumable. Rows that produced EOS stop contributing tokens (they are padded), and the loop ends as
    soon as every row has finished.

    Returns ``input_ids`` [B, P+R] (prompt + response), ``attention_mask`` [B, P+R] (0 on left padding and
    on response tokens after EOS), ``prompt_len`` P, ``response_mask`` [B, R] (1 on response tokens up to
    and including EOS), ``texts`` (decoded JDs), ``finished`` [B] (EOS produced), ``n_tokens`` [B].
    """
    import torch

    from girl_lib.prompts import render_prompt

    device = next(model.parameters()).device
    tokenizer.padding_side = "left"
    prompts = [render_prompt(tokenizer, cv) for cv in cvs]
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    prompt_ids, prompt_mask = enc["input_ids"], enc["attention_mask"]
    batch, prompt_len = prompt_ids.shape
    eos_id, pad_id = tokenizer.eos_token_id, tokenizer.pad_token_id
    was_training = model.training
    model.eval()

    with torch.no_grad():
        attention = prompt_mask.clone()
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        out = model(input_ids=prompt_ids, attention_mask=attention, position_ids=positions, use_cache=True)
        past, logits = out.past_key_values, out.logits[:, -1, :]
        next_pos = positions[:, -1:] + 1
        finished = torch.zeros(batch, dtype=torch.bool, device=device)
        new_tokens, alive_masks = [], []
        for _ in range(max_new_tokens):
            token = _sample_next(logits, temperature, top_p, generator)
            alive = ~finished
            token = torch.where(alive, token, torch.full_like(token, pad_id))
            new_tokens.append(token)
            alive_masks.append(alive)
            finished = finished | (alive & (token == eos_id))
            if bool(finished.all()):
                break
            attention = torch.cat([attention, alive.long().unsqueeze(1)], dim=1)
            out = model(input_ids=token.unsqueeze(1), attention_mask=attention, position_ids=next_pos,
                        past_key_values=past, use_cache=True)
            past, logits = out.past_key_values, out.logits[:, -1, :]
            next_pos = next_pos + 1
    if was_training:
        model.train()

    response = torch.stack(new_tokens, dim=1)
    response_mask = torch.stack(alive_masks, dim=1).long()
    texts = []
    for row, mask in zip(response.tolist(), response_mask.tolist()):
        ids = [t for t, m in zip(row, mask) if m and t != eos_id]
        texts.append(tokenizer.decode(ids, skip_special_tokens=True).strip())
    return {
        "input_ids": torch.cat([prompt_ids, response], dim=1),
        "attention_mask": torch.cat([prompt_mask, response_mask], dim=1),
        "prompt_len": prompt_len,
        "response_mask": response_mask,
        "texts": texts,
        "finished": finished,
        "n_tokens": response_mask.sum(1),
    }
