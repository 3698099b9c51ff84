import dataclasses

import pytest

from girl_lib.config import PROFILE_NAMES, apply_overrides, get_profile, profile_to_dict


def test_every_profile_builds_and_is_fp32_on_cpu_by_default():
    for name in PROFILE_NAMES:
        p = get_profile(name)
        assert p.name == name
        assert p.models.dtype == "auto"
        assert profile_to_dict(p)["name"] == name


def test_env_var_selects_profile(monkeypatch):
    monkeypatch.setenv("GIRL_PROFILE", "tiny")
    assert get_profile().name == "tiny"


def test_overrides_are_typed_and_do_not_touch_the_original():
    base = get_profile("tiny")
    p = apply_overrides(base, ["ppo.kl_coef=0.25", "sft.use_lora=true", "recommend.seeds=(3, 4)",
                               "judge.base_url=http://127.0.0.1:9/v1", "ppo.missing_eos_penalty=1.5"])
    assert p.ppo.kl_coef == 0.25 and isinstance(p.ppo.kl_coef, float)
    assert p.sft.use_lora is True
    assert p.recommend.seeds == (3, 4)
    assert p.judge.base_url == "http://127.0.0.1:9/v1"
    assert p.ppo.missing_eos_penalty == 1.5
    assert base.ppo.kl_coef != 0.25


@pytest.mark.parametrize("bad", ["ppo.nope=1", "nosection.x=1"])
def test_unknown_override_names_the_field(bad):
    with pytest.raises(KeyError, match=bad.split("=")[0].split(".")[-1] if "nope" in bad else "nosection"):
        get_profile("tiny", [bad])


def test_unknown_profile_lists_the_choices():
    with pytest.raises(ValueError, match="tiny, cpu, colab"):
        get_profile("huge")


def test_every_config_field_is_documented():
    """TRL style: each field of each stage config carries a docstring or an obvious name."""
    import ast
    import inspect

    import girl_lib.config as config

    tree = ast.parse(inspect.getsource(config))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.endswith("Config"):
            assert ast.get_docstring(node), f"{node.name} has no docstring"


def test_tiny_is_smaller_than_cpu():
    tiny, cpu = get_profile("tiny"), get_profile("cpu")
    assert tiny.data.scale < cpu.data.scale
    assert tiny.ppo.iterations <= cpu.ppo.iterations
    assert dataclasses.asdict(tiny) != dataclasses.asdict(cpu)


@pytest.mark.parametrize("override, field", [
    ("reward.architecture=banana", "reward.architecture"), ("ppo.kl_estimator=nope", "ppo.kl_estimator"),
    ("judge.backend=carrier-pigeon", "judge.backend"), ("ppo.iterations=-1", "ppo.iterations"),
    ("generate.top_p=1.5", "generate.top_p"), ("generate.temperature=-1", "generate.temperature"),
    ("sft.batch_size=0", "sft.batch_size"), ("sft.learning_rate=nan", "sft.learning_rate"),
    ("data.scale=-1", "data.scale"), ("ppo.baseline=critics", "ppo.baseline"),
    ("generate.models=('base', 'gpt')", "generate.models"), ("ppo=1", "ppo"),
    ("recommend.dot_jp_skip_grid=()", "recommend.dot_jp_skip_grid"),
    ("recommend.dot_jp_skip_grid=(0.5, 'x')", "recommend.dot_jp_skip_grid"),
    ("recommend.dot_jp_skip_grid=nan", "recommend.dot_jp_skip_grid"),
    ("recommend.dot_jp_skip=inf", "recommend.dot_jp_skip"),
    ("ppo.baseline=rloo", "ppo.samples_per_cv"),  # tiny samples 1 JD per CV: nothing to compare within a group
    ("ppo.samples_per_cv=3", "ppo.minibatch_size"),  # tiny's minibatch of 2 cannot hold whole groups of 3
])
def test_bad_values_are_refused_naming_the_field(override, field):
    from girl_lib.config import ConfigError

    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        get_profile("tiny", [override])


def test_every_profile_validates_and_tuples_take_bare_words():
    from girl_lib.config import PROFILE_NAMES

    for name in PROFILE_NAMES:
        get_profile(name)
    assert get_profile("tiny", ["generate.models=base"]).generate.models == ("base",)
    assert get_profile("tiny", ["generate.models=sft,girl"]).generate.models == ("sft", "girl")
    assert get_profile("tiny", ["generate.temperature=0"]).generate.temperature == 0.0  # greedy is allowed


def test_cli_exits_2_on_a_bad_value_before_any_work(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "girl_lib.cli", "run", "--profile", "tiny", "--run-dir",
                          str(tmp_path / "run"), "--set", "reward.architecture=banana"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "reward.architecture" in out.stderr and "banana" in out.stderr
    assert not (tmp_path / "run").exists()  # refused before the run dir was touched


def test_dot_gate_grid_parses_and_refuses_non_finite_values():
    from girl_lib.config import ConfigError

    assert get_profile("cpu").recommend.dot_jp_skip_grid == (0.0, 0.5, 1.0)
    assert len(get_profile("tiny").recommend.dot_jp_skip_grid) == 1  # tiny: no selection training
    assert get_profile("tiny", ["recommend.dot_jp_skip_grid=0,1"]).recommend.dot_jp_skip_grid == (0, 1)
    assert get_profile("tiny", ["recommend.dot_jp_skip_grid=0.25"]).recommend.dot_jp_skip_grid == (0.25,)
    for bad in ((0.0, float("nan")), (True,), ()):
        with pytest.raises(ConfigError, match="dot_jp_skip_grid"):
            get_profile("tiny", {"recommend.dot_jp_skip_grid": bad})


def test_paper_profile_builds_and_validates_without_downloads():
    from girl_lib.config import validate_profile

    p = validate_profile(get_profile("paper"))
    assert p.name == "paper" and "paper" in PROFILE_NAMES
    assert p.models.generator == "Qwen/Qwen2.5-7B-Instruct" and p.sft.use_lora and p.ppo.use_lora
    assert p.data.scale == 1.0  # the paper's Table I sizes
    cpu = get_profile("cpu")
    assert p.sft.max_steps > cpu.sft.max_steps and p.ppo.rollout_batch_size > cpu.ppo.rollout_batch_size
    # global batches that split evenly over 1, 2, 4 or 8 processes (sft, ppo rollouts and minibatches)
    k = p.ppo.samples_per_cv
    for n in (1, 2, 4, 8):
        assert p.sft.batch_size % n == 0 and p.ppo.rollout_batch_size % n == 0
        assert (p.ppo.minibatch_size // k) % n == 0 and p.ppo.minibatch_size % k == 0
        assert p.reward.batch_size % n == 0


def test_empty_cache_dir_variable_means_the_default(monkeypatch, tmp_path):
    """``GIRL_CACHE_DIR=`` (empty) must not cache models in the working directory (a checkout)."""
    from pathlib import Path

    from girl_lib.config import default_cache_dir

    monkeypatch.setenv("GIRL_CACHE_DIR", "")
    assert default_cache_dir() == Path.home() / ".cache" / "girl"
    monkeypatch.setenv("GIRL_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path


@pytest.mark.parametrize("name", ["colab", "paper"])
def test_gpu_profiles_take_the_rl_recipe_that_learnt_on_cpu(name):
    """The paper's defaults (critic baseline, KL averaged over tokens, no penalties) did not learn on cpu."""
    cpu, other = get_profile("cpu").ppo, get_profile(name).ppo
    for field in ("baseline", "samples_per_cv", "kl_estimator", "kl_reduction", "temperature",
                  "missing_eos_penalty", "layout_penalty", "requirements_penalty", "whiten_advantages"):
        assert getattr(other, field) == getattr(cpu, field), field
    assert other.minibatch_size % other.samples_per_cv == 0


def test_run_ppo_checks_a_config_changed_after_it_was_built(tmp_path):
    """Every ``run_*`` validates its config before any work: a field set by hand past validation is refused."""
    from girl_lib import ppo
    from girl_lib.config import ConfigError

    cfg = get_profile("tiny")
    cfg.ppo.kl_estimator = "k9"  # bypasses apply_overrides' validation
    with pytest.raises(ConfigError, match=r"ppo\.kl_estimator"):
        ppo.run_ppo(cfg, tmp_path / "no-run-here")  # refused before it looks for the sft stage
