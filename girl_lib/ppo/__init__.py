"""Step 3: reinforcement learning from recruiter feedback with PPO (paper Sec. IV-C, Algorithm 1).

Read the files in this order next to the paper, in the spirit of CleanRL's single-file ``ppo.py``:

1. ``advantages.py``: the small formulas of Sec. IV-C (Eq. 4, 5) and the options *beyond the paper*
   (group baselines, whitening, GAE, adaptive KL), each a few lines;
2. ``baselines.py``: what Eq. 5 subtracts from the reward. One interface (:class:`Baseline`), three kinds:
   the paper's critic ``U^c(C, _)`` (:class:`CriticBaseline`), a token-level value head with GAE
   (:class:`TokenCriticBaseline`) and the group baselines RLOO / GRPO over k JDs of one CV
   (:class:`GroupBaseline`); each saves and loads its own trainable part;
3. ``policy.py``: actor ``G^a`` (SFT weights + a fresh LoRA adapter) and the frozen reference ``G`` (the
   same model with its adapter switched off);
4. ``trainer.py``: :class:`PPOTrainer`, whose :meth:`PPOTrainer.iteration` is Algorithm 1's loop body, one
   line per step, each step returning a frozen value: sample CVs -> :class:`Rollout` -> :class:`Scored`
   -> :class:`Advantages` -> update stats -> log row;
5. ``checkpoint.py``: atomic checkpoints and the checks before resuming from one;
6. ``evaluate.py``: the final comparison with GIRL-SFT (with bootstrap intervals) and Eq. 5 vs RLOO on the
   same samples;
7. ``stage.py``: :func:`run_ppo`, the stage function behind ``girl ppo --profile P --run-dir DIR
   [--resume]``, and :func:`reward_kl_tradeoff`.

Every public name is importable from ``girl_lib.ppo`` itself (``from girl_lib import ppo; ppo.run_ppo``).

The loss functions themselves live in :mod:`girl_lib.losses` (pure tensor code, unit-tested against
hand-computed values). Every logged metric is explained in ``docs/metrics.md``.

Outputs, under ``<run_dir>/ppo/``::

    metrics.jsonl   one row per iteration (reward, oracle fit, KL, losses, clip fraction, ...)
    tensorboard/    the same rows as TensorBoard scalars, only when ``tensorboard`` is installed
    checkpoint/     the last checkpoint (actor adapter, critic, optimisers, RNG states, iteration)
    model/          GIRL: the final actor merged into full weights + tokenizer (load like sft/model)
    metrics.json    GIRL vs GIRL-SFT on judge_eval CVs: RM reward, KL, oracle fit, paired differences
                    with 95% intervals, the reward model's agreement with the recruiter, hacking guard
    eval_generations.json  those JDs, sampled with the generate stage's judge settings: it copies them
    DONE

Reproducibility: the CVs of iteration ``k``, the minibatch shuffles and the token sampling all draw
from ``torch.Generator`` objects seeded by ``(seed, k, process)`` at the start of the iteration, so
their state at any iteration boundary is a function of the iteration number stored in the checkpoint;
dropout is switched off in every model (as TRL does for PPO: with dropout the ratio ``rho`` of Eq. 6
would not be 1 at the first step); the global python/numpy/torch RNG states are checkpointed as well.
A run stopped after ``k`` iterations and resumed therefore matches an uninterrupted one.
"""

from __future__ import annotations

from .advantages import (compute_advantages, compute_gae, compute_rewards, group_advantages, token_level_rewards,
                         update_kl_coef, whiten, within_group_share)
from .baselines import (Baseline, CriticBaseline, GroupBaseline, TokenCriticBaseline, TokenValueHead, critic_values,
                        make_baseline)
from .checkpoint import CHECKPOINT_KEYS, _resume_state, save_checkpoint
from .evaluate import (_sign_agreement, compare_baselines, compare_with_sft, evaluate_against_sft, extra_samples,
                       fit_term_split, paired_difference, sample_girl_and_sft)
from .policy import Models, build_actor, disable_dropout, reference_policy
from .stage import Inject, build_trainer, make_accelerator, ppo_data, reward_kl_tradeoff, run_ppo, train, training_summary
from .trainer import (POLICY_PAIR_MIN_GAP, Advantages, Feedback, Optimizers, OracleFn, PPOTrainer, Rollout, ScoreFn,
                      Scored, Start, _gather_mean, _gather_sum, _iteration_generators, policy_pair_agreement,
                      rollout_sampling)

__all__ = [
    '_gather_mean', '_gather_sum', '_iteration_generators', '_resume_state', '_sign_agreement', 'Advantages',
    'Baseline', 'build_actor', 'build_trainer', 'CHECKPOINT_KEYS', 'compare_baselines', 'compare_with_sft',
    'compute_advantages', 'compute_gae', 'compute_rewards', 'critic_values', 'CriticBaseline', 'disable_dropout',
    'evaluate_against_sft', 'extra_samples', 'Feedback', 'fit_term_split', 'group_advantages', 'GroupBaseline',
    'Inject', 'make_accelerator', 'make_baseline', 'Models', 'Optimizers', 'OracleFn', 'paired_difference',
    'policy_pair_agreement', 'POLICY_PAIR_MIN_GAP', 'ppo_data', 'PPOTrainer', 'reference_policy',
    'reward_kl_tradeoff', 'Rollout', 'rollout_sampling', 'run_ppo', 'sample_girl_and_sft', 'save_checkpoint', 'Scored', 'ScoreFn',
    'Start', 'token_level_rewards', 'TokenCriticBaseline', 'TokenValueHead', 'train', 'training_summary',
    'update_kl_coef', 'whiten', 'within_group_share'
]
