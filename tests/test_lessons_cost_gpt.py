"""Lessons 11-13: attention's quadratic cost and its remedies, pre-training then fine-tuning, training in parallel
against generation token by token. Each decider is fed other numbers and gives another verdict."""
from __future__ import annotations

import pytest

from explorer.lessons.attention_cost import REMEDIES, decide_quadratic
from explorer.lessons.runner import find_lesson

QUADRATIC = dict(time_full=2.1, memory_full=2.0, full_longest=2048, full_seconds=0.5, time_local=1.05,
                 memory_local=1.0, seconds_local=0.01, time_low_rank=1.1, memory_low_rank=1.0, seconds_low_rank=0.006,
                 time_downsampled=0.9, memory_downsampled=1.0, seconds_downsampled=0.002, longest=16384, repeats=9)


def test_attention_quadratic_holds_on_quadratic_full_and_linear_remedies():
    verdict = decide_quadratic(QUADRATIC)
    assert verdict.holds
    assert "full attention 2.10 (2.00)" in verdict.evidence and "downsampled 0.90 (1.00)" in verdict.evidence
    assert "at T = 2,048 full attention takes 500 ms, the remedies 2.0–10.0 ms" in verdict.evidence


@pytest.mark.parametrize("change", [dict(time_full=1.2), dict(memory_full=1.0), dict(time_local=1.9),
                                    dict(memory_downsampled=2.0), dict(time_low_rank=1.6),
                                    dict(time_full=0.3, memory_measured=1, memory_full=1.1)])
def test_attention_quadratic_does_not_hold_when_a_slope_says_otherwise(change):
    assert not decide_quadratic({**QUADRATIC, **change}).holds


def test_measured_memory_decides_full_attention_where_time_is_kernel_launches():
    verdict = decide_quadratic({**QUADRATIC, "time_full": 0.4, "memory_measured": 1})
    assert verdict.holds and "log measured memory" in verdict.evidence
    assert "log analytic memory" in decide_quadratic(QUADRATIC).evidence


def test_attention_quadratic_names_the_three_remedies_of_the_lecture():
    lesson = find_lesson("attention-quadratic")
    assert set(REMEDIES.values()) == {"local attention", "low-rank attention", "downsampled attention"}
    assert lesson.tab == "Attention" and lesson.page == "Cost" and lesson.kind == "attention_cost"
    assert lesson.settings()["full_longest"] < max(lesson.settings()["lengths"])


# --- training-parallel ----------------------------------------------------------------------------------------

PARALLEL = dict(length=256, batch=1, train_s=0.016, cached_s=0.24, uncached_s=0.5, train_passes=1,
                generate_passes=256, passes_are_lengths=1, lengths=5)


def test_training_parallel_states_what_the_notes_say_and_what_was_measured():
    from explorer.lessons.gpt import decide_parallel

    verdict = decide_parallel(PARALLEL)
    assert verdict.holds
    assert verdict.evidence.startswith("the notes say application runs in parallel while training is sequential")
    assert "1 model pass" in verdict.evidence and "256 passes one after another" in verdict.evidence
    assert "240 ms with the KV cache (15.0× the training step)" in verdict.evidence


@pytest.mark.parametrize("change", [dict(train_passes=2), dict(passes_are_lengths=0), dict(cached_s=0.02)])
def test_training_parallel_does_not_hold_when_the_numbers_say_otherwise(change):
    from explorer.lessons.gpt import decide_parallel

    assert not decide_parallel({**PARALLEL, **change}).holds


def test_a_training_step_is_one_pass_generation_one_pass_per_token():
    from explorer.analysis.generation_cost import count_passes
    from explorer.models.transformer import GPT, GPTConfig

    model = GPT(GPTConfig(vocab_size=7, context=16, layers=1, heads=2, width=8))
    before = [p.detach().clone() for p in model.parameters()]
    assert count_passes(model, 12, batch=3) == (1, 12)
    assert count_passes(model, 16) == (1, 16)
    assert not model.head._forward_hooks and all(torch_equal(a, b) for a, b in zip(before, model.parameters(),
                                                                                    strict=True))


def torch_equal(a, b) -> bool:
    return bool((a == b).all())


def test_the_generation_cost_job_is_recorded_and_drawn(tmp_path):
    from explorer.render.run_export import open_state
    from explorer.state.generation_cost import GenerationCostState, ticks_125
    from explorer.training.jobs.generation_cost_job import GenerationCostConfig, GenerationCostJob
    from explorer.training.record import RunRecorder
    from explorer.training.runner import run_job

    cfg = GenerationCostConfig(lengths=(8, 4), repeats=1, layers=1, heads=2, width=8, vocab=5, batch=2)
    for _ in run_job(GenerationCostJob(cfg, "cpu"), recorder=RunRecorder(tmp_path / "run")):
        pass
    state = open_state(tmp_path / "run")
    assert isinstance(state, GenerationCostState)
    snap = state.snapshot
    assert snap.lengths.tolist() == [4, 8] and snap.train_passes.tolist() == [1, 1]
    assert snap.generate_passes.tolist() == [4, 8] and snap.batch == 2 and "fresh GPT" in snap.model
    seconds = state.figure("generation")
    assert seconds.series[0].y.tolist() == snap.train_step_s.tolist()
    per = state.figure("per_token")
    train, cached = per.series[0], per.series[1]
    assert train.y.tolist() == pytest.approx((1e6 * snap.train_step_s / (2 * snap.lengths)).tolist())
    assert cached.y.tolist() == pytest.approx((1e6 * snap.generate_cached_s / snap.lengths).tolist())
    assert "1 model pass for all 16 positions" in per.caption and "8 passes one after another" in per.caption
    assert per.table().rows[-1][-2:] == (1, 8)
    assert [t[0] for t in ticks_125([[30.0, 900.0]])] == [20, 50, 100, 200, 500, 1000]
    assert GenerationCostState().figure("per_token").is_empty


def test_bad_generation_cost_settings_are_refused():
    from explorer.training.jobs.generation_cost_job import GenerationCostConfig
    from explorer.training.params import validate_config

    assert validate_config(GenerationCostConfig(width=10, heads=4))
    assert validate_config(GenerationCostConfig(lengths=()))
    assert not validate_config(GenerationCostConfig())


# --- pretrain-finetune ----------------------------------------------------------------------------------------

TRANSFER = dict(scratch=0.50, copy=0.63, warm=0.61, frozen=0.69, share=0.01, examples=40, chance=0.5, lower=2,
                pretrain_steps=600, pretrain_val_loss=1.88, scratch_most=0.51, warm_most=0.81, examples_most=400)


def test_pretrain_finetune_holds_when_every_pretrained_way_beats_scratch_with_few_labels():
    from explorer.lessons.gpt import decide_transfer

    verdict = decide_transfer(TRANSFER)
    assert verdict.holds
    assert "50% from scratch against 63% copying the lower 2 layer groups, 61% warm start, 69% warm start with " \
           "the lower 2 frozen (chance 50%); the frozen warm start is ahead by 6 points" in verdict.evidence
    assert "pre-trained in the run (600 steps" in verdict.evidence
    level = decide_transfer({**TRANSFER, "copy": 0.69})
    assert level.holds and "copying and the frozen warm start are level" in level.evidence


@pytest.mark.parametrize("change", [dict(warm=0.52), dict(copy=0.5), dict(frozen=0.4), dict(scratch=0.66)])
def test_pretrain_finetune_does_not_hold_when_a_pretrained_way_is_no_better(change):
    from explorer.lessons.gpt import decide_transfer

    assert not decide_transfer({**TRANSFER, **change}).holds


def test_the_sweep_pretrains_its_own_model_when_none_is_chosen(tmp_path):
    from explorer.render.run_export import open_state
    from explorer.training.jobs.finetune_sweep_job import FinetuneSweepConfig, FinetuneSweepJob
    from explorer.training.params import validate_config
    from explorer.training.record import RunRecorder, open_run
    from explorer.training.runner import run_job

    cfg = FinetuneSweepConfig(pretrained="", pretrain_steps=3, shares="0.01", steps=2, batch_size=4,
                              ways="scratch,warm")
    assert not validate_config(cfg)
    assert "pretrain_steps" in validate_config(FinetuneSweepConfig(pretrained="", pretrain_steps=0))
    job = FinetuneSweepJob(cfg, "cpu")
    for _ in run_job(job, recorder=RunRecorder(tmp_path / "run")):
        pass
    assert job.total_steps == 3 + 2 and job.pretrained is not None and job.pre_job is None
    record = open_run(tmp_path / "run")
    assert "pretrain_loss" in record.metrics and record.info["status"] == "finished"
    snap = open_state(tmp_path / "run").snapshot
    assert snap.pretrain_steps == 3 and snap.done == 1 and "pre-trained in this run" in snap.pretrained
    assert snap.final_accuracy.shape == (1, 2) and not any(snap.final_accuracy.ravel() != snap.final_accuracy.ravel())
    # the model fine-tuned is the one pre-trained: the warm start's weights began as the pre-trained vector
    import numpy as np
    import torch

    base = job.pretrained.build_model()
    vector = torch.nn.utils.parameters_to_vector(base.parameters()).detach().numpy()
    np.testing.assert_array_equal(vector, job.pretrained.param_vector)
    state = open_state(tmp_path / "run")
    assert state.figure("efficiency").caption.startswith("Fine-tuned: 2×64 pre-trained")
    pre = state.figure("pretraining")
    losses = np.asarray(record.metrics["pretrain_loss"], dtype=float)
    assert pre.series[0].x.tolist() == [1, 2, 3] and pre.series[0].y.tolist() == losses[np.isfinite(losses)].tolist()
    assert "pre-training" in pre.x.label and not pre.is_empty
