import pytest

from girl_lib.prompts import INSTRUCTION, ROLE, build_messages, prompt_completion, render_prompt
from girl_lib.runio import GirlError


def test_fig3_parts_in_order(tiny_generator):
    _, tok = tiny_generator
    text = render_prompt(tok, "CV TEXT HERE")
    assert text.index(ROLE) < text.index(INSTRUCTION) < text.index("CV TEXT HERE")
    assert text.endswith("assistant\n")  # the output part is blank at inference


def test_prompt_completion_splits_at_the_jd(tiny_generator):
    _, tok = tiny_generator
    row = prompt_completion(tok, "my cv", "Data Analyst\nResponsibilities:\n- a")
    assert row["prompt"] == render_prompt(tok, "my cv")
    assert row["completion"].startswith("Data Analyst")
    assert row["completion"].endswith(tok.eos_token)


def test_messages_with_and_without_target():
    assert [m["role"] for m in build_messages("cv")] == ["system", "user"]
    assert build_messages("cv", "jd")[-1] == {"role": "assistant", "content": "jd"}


@pytest.mark.parametrize("cv", ["", "   \n "])
def test_empty_cv_is_rejected_by_name(tiny_generator, cv):
    _, tok = tiny_generator
    with pytest.raises(GirlError, match="'cv'.*empty"):
        render_prompt(tok, cv)
