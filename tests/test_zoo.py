"""The zoo: every committed genome reproduces its card in a plain Gymnasium loop, and the CLI
(`pbml zoo`, `pbml evaluate/render/export zoo:<task>`) works on tiny zoos built here: a
goal-free entry and a goal-conditioned one (its card per goal, `--goal` in evaluate and render).

Committed entries replay their card exactly (==) wherever the exported module computes the
same action bits as on the machine that made the card: checked by a fingerprint of its actions
on fixed observations. torch's float64 matmul picks its kernels by CPU (AVX2 or AVX-512, FMA or
not) and version, so another machine may round an action in its last bit, and contact dynamics
amplify that over a 1000-step episode: there the replay is held to 2% and the test says why.
The tiny entry below is measured and replayed in one process, so it must match exactly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import gymnasium
import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from pbml_control.cli import main
from pbml_control.mujoco_problem import MujocoProblem, MujocoProblemConfig
from pbml_control.policies import TorchPolicy, load_genome, save_genome, to_torch_module
from pbml_control.user_loop import gym_id
from pbml_control.zoo import entries, plain_loop_returns

ROOT = Path(__file__).resolve().parents[1]
TASK = "InvertedPendulum-v5"  # the cheapest fast-path v5 task
STEPS = 30
W, H = 64, 48


def committed_entries() -> list[Path]:
    """Every folder in the repository's zoo/: each must be a complete entry."""
    zoo = ROOT / "zoo"
    if not zoo.is_dir():
        return []
    return sorted(p for p in zoo.iterdir() if p.is_dir() and not p.name.startswith("."))


def replay_first_episodes(folder: Path) -> list[tuple[float, float, float]]:
    """(plain-loop return now, the card's, tolerance off the card machine) for the card's first
    episode seed; a goal-conditioned card's at each of its goals.

    Off the card machine a goal-free replay is held to 2% of the card's return; a goal entry's
    (returns of a few hundred, whose episodes at one goal spread by several percent) to 4
    standard deviations of the card's own episodes at that goal: another machine's trajectory
    is another sample of the same policy.
    """
    card_file, genome_file = folder / "card.json", folder / "genome.safetensors"
    assert card_file.is_file(), f"zoo entry {folder.name} has no card.json"
    assert genome_file.is_file(), f"zoo entry {folder.name} has no genome.safetensors"
    card = json.loads(card_file.read_text(encoding="utf-8"))
    task = card["task"]
    assert task == folder.name, f"card task {task!r} is not its folder's name"
    genome = load_genome(genome_file)
    assert genome.metadata["task"] == task
    plain, steps = card["plain_loop"], card["episode_steps"]
    first = plain["episode_seeds"][:1]
    if "goals" not in card:
        # Gymnasium's own class under its own id, not one of ours
        assert gymnasium.spec(task).entry_point.startswith("gymnasium."), task
        (got,) = plain_loop_returns(genome, task, first, steps)
        return [(float(got), float(plain["returns"][0]), 0.02 * abs(plain["returns"][0]))]
    assert card["env_id"] == gym_id(task), "a goal entry names the id a user makes"
    assert [row["goal"] for row in plain["per_goal"]] == card["goals"]
    replays = []
    for row in plain["per_goal"]:
        (got,) = plain_loop_returns(genome, card["env_id"], first, steps, row["goal"])
        replays.append((float(got), float(row["returns"][0]), 4 * float(np.std(row["returns"]))))
    return replays


#: sha256 of each committed entry's module actions (:func:`action_bits`) on the machine that
#: measured its card (torch 2.13.0+cpu, AVX-512).
CARD_MACHINE_ACTIONS = {
    "HalfCheetah-v5": "4da44b0172032dc81f4c947ab78c37614162d372a370b95b3cd2f53e8634a122",
    "HalfCheetahVel": "885fe61dc920380a632ffbb0d036258006c34afee2605094930063a7eb78c9ab",
}


def action_bits(genome) -> str:
    """sha256 of the exported module's float64 actions on 256 fixed observations."""
    module = to_torch_module(genome.spec, genome.params, genome.normalizer_state)
    obs = np.random.default_rng(0).standard_normal((256, genome.spec.obs_dim)) * 3
    with torch.no_grad():
        actions = np.stack([module(torch.as_tensor(o)).numpy() for o in obs])
    return hashlib.sha256(actions.tobytes()).hexdigest()


@pytest.mark.parametrize("folder", committed_entries(), ids=lambda p: p.name)
def test_committed_genome_reproduces_its_card_in_a_plain_gymnasium_loop(folder):
    """The exported torch module in gymnasium.make(<task>[, goal=[g]]) earns the card's
    return (first seed, at every goal of a goal-conditioned entry): exactly where this machine
    computes the card machine's action bits."""
    replays = replay_first_episodes(folder)
    genome = load_genome(folder / "genome.safetensors")
    same_bits = action_bits(genome) == CARD_MACHINE_ACTIONS.get(folder.name)
    for got, card, tolerance in replays:
        if same_bits:
            assert got == card, f"{folder.name}: {got!r} vs card {card!r} (same action bits)"
        else:  # another CPU or torch: last-bit action differences, amplified by contacts
            assert abs(got - card) <= tolerance, f"{folder.name}: {got} vs card {card}"


# --- a tiny zoo ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_zoo(tmp_path_factory) -> Path:
    """zoo/InvertedPendulum-v5 with a small MLP genome, its normaliser and a card (seconds)."""
    problem = MujocoProblem(MujocoProblemConfig(task=TASK, hidden=(4,), max_episode_steps=STEPS))
    try:
        params = problem.initial_params(np.random.default_rng(0))[None].repeat(2, axis=0)
        params[1] += 0.3
        problem.evaluate(params, np.zeros(0), seed=0, generation=0)  # fills the normaliser
        spec, norm = problem.evaluator.policy_spec, problem.problem_state.normalizer
    finally:
        problem.close()
    root = tmp_path_factory.mktemp("zoo")
    folder = root / TASK
    folder.mkdir()
    m = spec.layout().num_modules
    meta = {"task": TASK, "member_id": 7, "chosen_as": "best by training fitness"}
    save_genome(
        folder / "genome.safetensors", spec, params[1], np.full(m, -1.0), np.zeros(m), norm, meta
    )
    seeds = [11, 12]
    returns = plain_loop_returns(load_genome(folder / "genome.safetensors"), TASK, seeds, STEPS)
    card = {
        "task": TASK,
        "member_id": 7,
        "episode_steps": STEPS,
        "plain_loop": {
            "episode_seeds": seeds,
            "returns": returns.tolist(),
            "mean": float(returns.mean()),
            "ci95": [float(returns.min()), float(returns.max())],
        },
        "training": {"scheme": "pbml", "env_steps": 1_500_000, "wall_minutes": 2.5},
    }
    (folder / "card.json").write_text(json.dumps(card))
    return root


@pytest.fixture
def zoo(tiny_zoo, monkeypatch) -> Path:
    monkeypatch.setenv("PBML_ZOO", str(tiny_zoo))
    return tiny_zoo


def test_tiny_entry_replays_exactly_on_this_machine(zoo):
    [(got, card, _)] = replay_first_episodes(zoo / TASK)
    assert got == card


def test_zoo_lists_each_entry_with_its_card_numbers(zoo, capsys):
    assert [e.task for e in entries()] == [TASK]
    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(TASK))
    card = json.loads((zoo / TASK / "card.json").read_text())
    mean = card["plain_loop"]["mean"]
    assert f"{mean:.0f} (" in row and "1.5 M" in row and "2 min" in row and "pbml" in row
    assert row.rstrip().endswith(TASK)  # the path to the entry


def test_empty_zoo_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PBML_ZOO", str(tmp_path))
    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("the zoo is empty") and out.count("\n") == 1


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"task": "X"}'])
def test_a_broken_card_is_one_line_exit_2(tmp_path, monkeypatch, capsys, text):
    (tmp_path / "X").mkdir()
    (tmp_path / "X" / "card.json").write_text(text)
    monkeypatch.setenv("PBML_ZOO", str(tmp_path))
    assert main(["zoo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pbml: error: zoo card") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "zoo:Nope-v5"],
        ["render", "zoo:Nope-v5", "--out", "x.mp4"],
        ["export", "zoo:Nope-v5", "--out", "x.safetensors"],
    ],
    ids=["evaluate", "render", "export"],
)
def test_unknown_zoo_name_is_one_line_exit_2(zoo, tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"no zoo entry 'Nope-v5'; the zoo has {TASK}" in err and err.count("\n") == 1, err
    assert not any(tmp_path.iterdir())


def test_evaluate_a_zoo_entry_equals_its_genome_file(zoo, capsys):
    args = ["--episodes", "2", "--steps", str(STEPS)]
    assert main(["evaluate", f"zoo:{TASK}", *args]) == 0
    by_name = capsys.readouterr().out
    assert main(["evaluate", str(zoo / TASK / "genome.safetensors"), *args]) == 0
    assert by_name == capsys.readouterr().out and by_name.startswith(f"task {TASK}, goal none")


def test_evaluate_on_the_card_seeds_gives_the_card_returns_exactly(zoo, capsys):
    """The card's seeds are reset seeds: pbml evaluate --seed 11 --episodes 2 is seeds 11, 12."""
    card = json.loads((zoo / TASK / "card.json").read_text())
    assert main(["evaluate", f"zoo:{TASK}", "--seed", "11", "--episodes", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == STEPS and report["steps_from"] == "the zoo card's horizon"
    assert report["seeds"] == card["plain_loop"]["episode_seeds"]
    assert report["returns"] == card["plain_loop"]["returns"]


def test_render_a_zoo_entry(zoo, tmp_path, capsys):
    """The genome plays through render's own rollout; the overlay names the saved member."""
    out = tmp_path / "zoo.mp4"
    args = ["render", f"zoo:{TASK}", "--steps", "6", "--size", f"{W}x{H}", "--out", str(out)]
    assert main(args) == 0
    assert "members 7 (best by training fitness)" in capsys.readouterr().out
    frames = np.stack(imageio.mimread(out, memtest=False))
    assert frames.shape == (7, H, W, 3) and frames.std() > 10.0


@pytest.mark.parametrize("command", ["render", "export"])
@pytest.mark.parametrize("member", ["rank:2", "7", "champion"])
def test_a_genome_has_only_the_best_member(zoo, tmp_path, capsys, command, member):
    out = tmp_path / ("x.mp4" if command == "render" else "x.safetensors")
    code = main([command, f"zoo:{TASK}", "--member", member, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "holds one genome: --member must be best" in err, err
    assert err.count("\n") == 1 and not out.exists()


def test_export_a_zoo_entry_as_genome_and_torch_module(zoo, tmp_path, capsys):
    """The genome file is the entry's again; the torch file loads pickle-free into TorchPolicy
    and acts exactly as the documented to_torch_module of the entry."""
    out, pt = tmp_path / "g.safetensors", tmp_path / "policy.pt"
    assert main(["export", f"zoo:{TASK}", "--out", str(out), "--torch", str(pt)]) == 0
    said = capsys.readouterr().out
    assert "member 7 (best" in said and f"wrote {out}" in said and f"wrote {pt}" in said
    original, copy = load_genome(zoo / TASK / "genome.safetensors"), load_genome(out)
    assert copy.metadata == original.metadata and copy.spec == original.spec
    for a, b in zip(original, copy, strict=True):
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b)
    before, after = original.normalizer_state, copy.normalizer_state
    assert before.keys() == after.keys()
    assert all(np.array_equal(v, after[k]) for k, v in before.items())

    module = TorchPolicy(original.spec)
    module.load_state_dict(torch.load(pt, weights_only=True))
    reference = to_torch_module(original.spec, original.params, original.normalizer_state)
    obs = torch.as_tensor(np.random.default_rng(1).normal(size=(5, original.spec.obs_dim)))
    with torch.no_grad():
        assert torch.equal(module(obs), reference(obs))


def test_export_a_zoo_entry_refuses_goals(zoo, tmp_path, capsys):
    out = tmp_path / "g.safetensors"
    assert main(["export", f"zoo:{TASK}", "--goal", "1", "--out", str(out)]) == 2
    assert "holds one genome" in capsys.readouterr().err and not out.exists()


# --- a tiny goal-conditioned zoo ------------------------------------------------------------
GOAL_TASK, GOAL_ID, GOALS = "HalfCheetahVel", "PBML/HalfCheetahVel-v0", [[-1.0], [2.0]]


@pytest.fixture(scope="module")
def tiny_goal_zoo(tmp_path_factory) -> Path:
    """zoo/HalfCheetahVel with a small MLP genome and a card per goal, as make_zoo writes one."""
    problem = MujocoProblem(
        MujocoProblemConfig(task=GOAL_TASK, hidden=(4,), max_episode_steps=STEPS)
    )
    try:
        params = problem.initial_params(np.random.default_rng(0))[None].repeat(2, axis=0)
        params[1] += 0.3
        problem.evaluate(params, np.array([1.0]), seed=0, generation=0)  # fills the normaliser
        spec, norm = problem.evaluator.policy_spec, problem.problem_state.normalizer
    finally:
        problem.close()
    root = tmp_path_factory.mktemp("goal_zoo")
    folder = root / GOAL_TASK
    folder.mkdir()
    m = spec.layout().num_modules
    meta = {"task": GOAL_TASK, "member_id": 9, "chosen_as": "champion (validation on 2 goals)"}
    genome_file = folder / "genome.safetensors"
    save_genome(genome_file, spec, params[1], np.full(m, -1.0), np.zeros(m), norm, meta)
    seeds, genome = [11, 12], load_genome(genome_file)
    per_goal = []
    for goal in GOALS:
        returns = plain_loop_returns(genome, GOAL_ID, seeds, STEPS, goal)
        per_goal.append({"goal": goal, "returns": returns.tolist(), "mean": float(returns.mean()),
                         "ci95": [float(returns.min()), float(returns.max())]})  # fmt: skip
    card = {
        "task": GOAL_TASK,
        "env_id": GOAL_ID,
        "member_id": 9,
        "episode_steps": STEPS,
        "goals": GOALS,
        "plain_loop": {"episode_seeds": seeds, "per_goal": per_goal},
        "training": {"scheme": "pbml", "env_steps": 2_000_000, "wall_minutes": 3.0},
    }
    (folder / "card.json").write_text(json.dumps(card))
    return root


@pytest.fixture
def goal_zoo(tiny_goal_zoo, monkeypatch) -> Path:
    monkeypatch.setenv("PBML_ZOO", str(tiny_goal_zoo))
    return tiny_goal_zoo


def goal_card(zoo: Path) -> dict:
    return json.loads((zoo / GOAL_TASK / "card.json").read_text())


def test_tiny_goal_entry_replays_exactly_at_every_goal(goal_zoo):
    replays = replay_first_episodes(goal_zoo / GOAL_TASK)
    assert len(replays) == len(GOALS) and all(got == card for got, card, _ in replays)


def test_zoo_lists_a_goal_entry_by_its_per_goal_returns(goal_zoo, capsys):
    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(GOAL_TASK))
    means = [g["mean"] for g in goal_card(goal_zoo)["plain_loop"]["per_goal"]]
    assert f"2 goals: means {min(means):.0f} .. {max(means):.0f}, 2 ep each" in row, row
    assert "2.0 M" in row and row.rstrip().endswith(GOAL_TASK)
    assert "takes --goal G in evaluate and render" in out


def test_exported_goal_entry_earns_the_card_in_a_plain_gymnasium_loop(goal_zoo, tmp_path, capsys):
    """The documented route: pbml export zoo:<task> --torch FILE.pt, then a user's own loop,
    gymnasium.make(<id>, goal=[g], max_episode_steps=N) and env.reset(seed=s), one observation
    at a time: the card's returns at each goal, exactly."""
    out, pt = tmp_path / "g.safetensors", tmp_path / "policy.pt"
    assert main(["export", f"zoo:{GOAL_TASK}", "--out", str(out), "--torch", str(pt)]) == 0
    capsys.readouterr()
    policy = TorchPolicy(load_genome(out).spec)
    policy.load_state_dict(torch.load(pt, weights_only=True))
    card = goal_card(goal_zoo)
    for row in card["plain_loop"]["per_goal"]:
        env = gymnasium.make(card["env_id"], goal=row["goal"], max_episode_steps=STEPS)
        returns = []
        for seed in card["plain_loop"]["episode_seeds"]:
            obs, _ = env.reset(seed=seed)
            total, done = 0.0, False
            while not done:
                with torch.no_grad():
                    obs, r, terminated, truncated, _ = env.step(
                        policy(torch.as_tensor(obs)).numpy()
                    )
                total, done = total + float(r), terminated or truncated
            returns.append(total)
        env.close()
        assert returns == row["returns"], row["goal"]


def test_evaluate_a_goal_entry_at_a_goal_gives_the_card_returns_there(goal_zoo, capsys):
    card = goal_card(goal_zoo)
    args = ["evaluate", f"zoo:{GOAL_TASK}", "--goal", "2", "--seed", "11", "--episodes", "2"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["goal"] == [2.0] and report["env_id"] == GOAL_ID
    assert report["steps"] == STEPS and report["steps_from"] == "the zoo card's horizon"
    at_two = next(g for g in card["plain_loop"]["per_goal"] if g["goal"] == [2.0])
    assert report["returns"] == at_two["returns"]


@pytest.mark.parametrize("command", ["evaluate", "render"])
def test_a_goal_outside_the_goal_space_is_one_line_exit_2(goal_zoo, tmp_path, capsys, command):
    out = tmp_path / "x.mp4"
    extra = ["--out", str(out)] if command == "render" else []
    assert main([command, f"zoo:{GOAL_TASK}", "--goal", "5", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pbml: error: goal [5.0] is outside the goal space of HalfCheetahVel")
    assert err.count("\n") == 1 and not out.exists()


def test_render_a_goal_entry_while_the_goal_switches(goal_zoo, tmp_path, capsys):
    out = tmp_path / "switch.mp4"
    args = ["render", f"zoo:{GOAL_TASK}", "--goal", "2", "--goal", "-1", "--switch-goal-every",
            "3", "--steps", "6", "--size", f"{W}x{H}", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert "members 9 (champion (validation on 2 goals))" in capsys.readouterr().out
    frames = np.stack(imageio.mimread(out, memtest=False))
    assert frames.shape == (7, H, W, 3) and frames.std() > 10.0
