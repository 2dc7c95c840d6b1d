"""Survivor fitness (``selection.survivor_fitness``) and the env-step budget of a run."""

import numpy as np

from pbml_control.config import RunConfig
from pbml_control.genome import ModuleLayout
from pbml_control.loop import evolve, initial_state
from pbml_control.problem import Evaluation


class CountingProblem:
    """Fitness = params[0] + a per-generation offset; counts rows evaluated as env steps."""

    layout = ModuleLayout(("w",), ((2,),))

    def __init__(self) -> None:
        self.calls: list[tuple[int, np.ndarray]] = []
        self.env_steps_total = 0

    def initial_params(self, rng):
        return rng.standard_normal(2)

    def sample_goal(self, rng, split="train"):
        return rng.uniform(-1, 1, size=1)

    def evaluate(self, params, goal, seed, generation):
        self.calls.append((generation, params.copy()))
        self.env_steps_total += 10 * len(params)
        return Evaluation(params[:, 0] + generation, {"env_steps": 10 * len(params)})

    def state_dict(self):
        return {"env_steps_total": np.array(self.env_steps_total)}

    def load_state_dict(self, state):
        self.env_steps_total = int(state["env_steps_total"])

    def close(self):
        pass


def config(mode: str, period: int = 100, **kw) -> RunConfig:
    return RunConfig.from_dict(
        {
            "seed": 3,
            "generations": 6,
            "population_size": 16,
            "selection": {"death_rate": 0.3, "survivor_fitness": mode},
            "schedule": {"kind": "random", "period": period},
            **kw,
        }
    )


def run(cfg: RunConfig) -> tuple[CountingProblem, list, list]:
    problem = CountingProblem()
    states, rows = [], []
    evolve(
        initial_state(cfg, problem),
        cfg,
        problem,
        [lambda s, m, t: (states.append(s), rows.append(m))],
    )
    return problem, states, rows


def test_keep_evaluates_only_members_without_fitness():
    """After generation 0, a generation runs exactly the previous generation's offspring."""
    problem, _, rows = run(config("keep"))
    sizes = [len(p) for _, p in problem.calls]
    assert sizes[0] == 16
    assert sizes[1:] == [r["offspring"] for r in rows[:-1]]
    assert [r["evaluated"] for r in rows] == sizes


def test_keep_survivors_hold_the_fitness_of_their_first_evaluation():
    """A member keeps params[0] + its birth generation (when it first ran) for its life."""
    _, states, _ = run(config("keep"))
    final = states[-1].population
    evaluated = final.evaluations > 0
    assert evaluated.sum() >= 8 and final.evaluations.max() == 1
    expected = final.params[evaluated, 0] + final.birth_generation[evaluated]
    np.testing.assert_array_equal(final.fitness[evaluated], expected)


def test_average_is_the_mean_of_every_evaluation_under_the_goal():
    """Fitness of a survivor is params[0] + the mean generation it was evaluated in."""
    _, states, _ = run(config("average"))
    final = states[-1].population
    evaluated = final.evaluations > 0
    first = final.birth_generation[evaluated]
    last = first + final.evaluations[evaluated] - 1
    expected = final.params[evaluated, 0] + (first + last) / 2
    np.testing.assert_allclose(final.fitness[evaluated], expected, rtol=0, atol=1e-12)


def test_reevaluate_ranks_on_this_generation_only():
    """The default: every member runs each generation and its fitness is that run's."""
    problem, _, rows = run(config("reevaluate"))
    assert all(len(p) == 16 for _, p in problem.calls)
    assert "evaluated" not in rows[0]


def test_goal_shift_forgets_fitness():
    """With ``keep``, the first generation under a new goal evaluates everyone again."""
    problem, _, rows = run(config("keep", period=3))
    shifts = [r["generation"] for r in rows if r["goal_shift"]]
    assert shifts == [3]
    assert len(problem.calls[3][1]) == 16


def test_max_env_steps_stops_the_run_at_the_budget():
    """The run stops after the generation that reaches the budget, before ``generations``."""
    cfg = config("reevaluate", generations=100, max_env_steps=16 * 10 * 4)
    problem, _, rows = run(cfg)
    assert len(rows) == 4
    assert problem.env_steps_total == cfg.max_env_steps


def test_modes_differ_only_in_what_selection_sees():
    """Same seed: generation 0 is identical in every mode (same founders, same evaluation)."""
    rows = {m: run(config(m))[2] for m in ("reevaluate", "keep", "average")}
    first = [{k: v for k, v in r[0].items() if k != "evaluated"} for r in rows.values()]
    assert first[0] == first[1] == first[2]
    assert rows["keep"][3] != rows["reevaluate"][3]


def test_a_run_stopped_by_its_budget_checkpoints_its_last_generation(tmp_path):
    """`pbml train` with max_env_steps ends on a checkpoint of the generation that spent it."""
    from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
    from pbml_control.runner import read_metrics, train

    cfg = RunConfig.from_dict(
        {
            "seed": 1,
            "generations": 50,
            "population_size": 4,
            "checkpoint_every": 10,
            "max_env_steps": 4 * 20 * 2,
            "problem": {"name": "mujoco", "task": "HalfCheetahVel", "hidden": [4],
                        "max_episode_steps": 20},
        }
    )  # fmt: skip
    train(tmp_path / "run", cfg)
    rows = read_metrics(tmp_path / "run")
    assert [r["env_steps_total"] for r in rows] == [80, 160]
    assert load_checkpoint(latest_checkpoint(tmp_path / "run" / "checkpoints")).generation == 2


def test_goal_sets_average_the_single_goal_evaluations():
    """A member's fitness on k goals is the mean of its k single-goal fitnesses."""
    from pbml_control.mujoco_problem import make

    problem = make(task="HalfCheetahVel", hidden=[4], max_episode_steps=15, episodes=2,
                   obs_normalization=False)  # fmt: skip
    rng = np.random.default_rng(0)
    params = np.stack([problem.initial_params(rng) for _ in range(3)]) * 30
    goals = np.array([[-1.5], [0.7], [2.0]])
    together = problem.evaluate(params, goals, 5, 2).fitness
    apart = np.mean([problem.evaluate(params, g, 5, 2).fitness for g in goals], axis=0)
    problem.close()
    np.testing.assert_allclose(together, apart, rtol=1e-14)
    assert len(set(np.round(together, 6))) == 3


def test_goal_sets_are_drawn_per_epoch_and_logged():
    """With goals_per_generation = 3 every metrics row lists 3 goals, fixed within an epoch."""
    cfg = RunConfig.from_dict(
        {
            "seed": 2, "generations": 4, "population_size": 4,
            "problem": {"name": "mujoco", "task": "HalfCheetahVel", "hidden": [4],
                        "max_episode_steps": 10},
            "schedule": {"kind": "random", "period": 2, "goals_per_generation": 3},
        }
    )  # fmt: skip
    from pbml_control.registry import make_problem

    problem = make_problem(cfg.problem)
    rows = []
    evolve(initial_state(cfg, problem), cfg, problem, [lambda s, m, t: rows.append(m)])
    problem.close()
    goals = [r["goal"] for r in rows]
    assert all(np.shape(g) == (3, 1) for g in goals)
    assert goals[0] == goals[1] != goals[2] == goals[3]
    assert rows[0]["env_steps"] == 4 * 3 * 10


def test_goal_sets_are_refused_by_problems_with_one_goal():
    """The toy worlds evaluate one goal: goals_per_generation > 1 is a config error."""
    import pytest

    from pbml_control.config import ConfigError

    cfg = config("reevaluate")
    cfg = RunConfig.from_dict({**cfg.to_dict(), "schedule": {"goals_per_generation": 2}})
    with pytest.raises(ConfigError, match="goals_per_generation"):
        run(cfg)


def test_selection_sees_only_ranks():
    """Any monotone transform of fitness (rank shaping included) selects the same members."""
    from pbml_control.rng import generator
    from pbml_control.selection import SelectionConfig, select

    fitness = np.random.default_rng(4).normal(size=64) * 100
    shaped = np.argsort(np.argsort(fitness)) / 63.0 - 0.5  # centred ranks, as in OpenAI-ES
    for scheme in ("pbml", "truncation", "greedy"):
        cfg = SelectionConfig(scheme=scheme, death_rate=0.5)
        a = select(fitness, cfg, generator(1, "select", 0))
        b = select(np.exp(fitness / 50) ** 3, cfg, generator(1, "select", 0))
        c = select(shaped, cfg, generator(1, "select", 0))
        for x in (b, c):
            np.testing.assert_array_equal(a.survivors, x.survivors)
            np.testing.assert_array_equal(a.parents, x.parents)
