"""Transfer with swapped mutation parameters: the learned policy and the learned mutation
function moved apart (``LABEL=PATH::mutation=reset`` or ``::mutation=OTHER_RUN``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
from pbml_control.cli import main
from pbml_control.config import ConfigError, RunConfig
from pbml_control.registry import make_problem
from pbml_control.runner import train
from pbml_control.transfer import plan_transfer, start_state
from pbml_control.transfer_cache import job_key

SQUARE = {
    "generations": 10,
    "population_size": 12,
    "checkpoint_every": 5,
    "problem": {"name": "square"},
    "mutation": {"init_sigma": 1.0, "tau": 0.5},
    "schedule": {"kind": "random", "period": 3},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("swap")
    out = {}
    for name, changes in {
        "pbml": {},
        "static": {"schedule": {"kind": "static"}},
        "small": {"population_size": 8},
    }.items():
        config = RunConfig.from_dict({**SQUARE, **changes})
        train(root / name, config)
        out[name] = root / name
    return out


def population(run: Path):
    return load_checkpoint(latest_checkpoint(run / "checkpoints")).population


def start(spec: str):
    plan = plan_transfer([spec], "hard_square", generations=2, seeds=(0,))
    job = plan.jobs[0]
    return job, start_state(job, make_problem(job.config.problem)).population


def test_weights_of_one_run_with_the_mutation_parameters_of_another(runs) -> None:
    job, pop = start(f"swap={runs['static']}::mutation={runs['pbml']}")
    weights, sigma = population(runs["static"]), population(runs["pbml"])
    np.testing.assert_array_equal(pop.params, weights.params)
    np.testing.assert_array_equal(pop.log_sigma, sigma.log_sigma)
    np.testing.assert_array_equal(pop.logit_p, sigma.logit_p)
    assert not np.array_equal(pop.log_sigma, weights.log_sigma)  # the swap did something
    assert job.arm == "swap"


def test_reset_gives_every_member_the_founders_mutation_parameters(runs) -> None:
    job, pop = start(f"reset={runs['pbml']}::mutation=reset")
    np.testing.assert_array_equal(pop.params, population(runs["pbml"]).params)
    expected = job.config.mutation.initial_log_sigma(pop.layout.num_modules)
    np.testing.assert_array_equal(pop.log_sigma, np.tile(expected, (len(pop), 1)))
    assert len(np.unique(population(runs["pbml"]).log_sigma)) > 1  # it had evolved


def test_swapped_jobs_are_cached_apart_from_plain_ones(runs) -> None:
    plain, _ = start(f"x={runs['pbml']}")
    reset, _ = start(f"x={runs['pbml']}::mutation=reset")
    swapped, _ = start(f"x={runs['pbml']}::mutation={runs['static']}")
    assert len({job_key(plain), job_key(reset), job_key(swapped)}) == 3


def test_mismatched_population_is_a_one_line_error(runs, tmp_path, capsys) -> None:
    with pytest.raises(ConfigError, match="8 members, not 12"):
        plan_transfer([f"x={runs['pbml']}::mutation={runs['small']}"], "hard_square",
                      generations=2, seeds=(0,))  # fmt: skip
    out = tmp_path / "out"
    source = f"x={runs['pbml']}::mutation={runs['small']}"
    args = ["--target", "hard_square", "--generations", "2", "--seeds", "0", "--out", str(out)]
    code = main(["transfer", source, *args])
    assert code == 2 and not out.exists()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
