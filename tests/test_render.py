"""`pbml render`: videos decode back, move, switch goals, and fail in one line."""

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from pbml_control import render
from pbml_control.cli import main
from pbml_control.runner import train

ROOT = Path(__file__).resolve().parents[1]
HALFCHEETAH = ROOT / "configs" / "halfcheetah_velocity.toml"
W, H, STEPS = 96, 64, 12


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A tiny HalfCheetah run (seconds): a real checkpoint with a normaliser state."""
    from pbml_control.config import load_config

    config = load_config(
        HALFCHEETAH,
        [
            "generations=2",
            "population_size=6",
            "checkpoint_every=2",
            "problem.workers=1",
            "problem.hidden=[8]",
            "problem.max_episode_steps=15",
        ],
    )
    out = tmp_path_factory.mktemp("render") / "hc"
    train(out, config)
    return out


def frames_of(path: Path) -> np.ndarray:
    return np.stack(imageio.mimread(path, memtest=False))


def test_video_and_gif_decode_with_frames_that_move(run_dir, tmp_path, capsys):
    """MP4 and GIF have steps+1 frames of the asked size, not blank, changing over time."""
    out = tmp_path / "hc.mp4"
    args = ["render", str(run_dir), "--goal", "1.0", "--steps", str(STEPS)]
    assert main([*args, "--size", f"{W}x{H}", "--gif", "--out", str(out)]) == 0
    assert "members" in capsys.readouterr().out
    for path in (out, out.with_suffix(".gif")):
        frames = frames_of(path)[..., :3].astype(float)
        assert frames.shape == (STEPS + 1, H, W, 3), path
        assert all(f.std() > 10.0 for f in frames), "a blank frame"
        assert np.abs(frames[-1] - frames[0]).mean() > 1.0, "the video does not change"


def test_grid_tiles_one_panel_per_member_and_goal(run_dir, tmp_path):
    """--grid with 2 members x 2 goals gives a 2x2 mosaic of tiles."""
    out = tmp_path / "grid.mp4"
    args = ["render", str(run_dir), "--member", "best", "--member", "rank:2", "--grid"]
    args += ["--goal", "1.0", "--goal", "-1.0", "--steps", "3", "--size", f"{W}x{H}"]
    assert main([*args, "--out", str(out)]) == 0
    assert frames_of(out).shape == (4, 2 * H, 2 * W, 3)


def test_goal_switch_changes_the_goal_mid_video(run_dir):
    """Frames equal a single-goal video until the switch, then differ (goal text and motion)."""
    source = render.load_source(run_dir)
    try:
        first_id = str(source.checkpoint.population.ids[0])
        member = render.select_members(source, [first_id], [np.array([1.0])])
        goals = [np.array([1.0]), np.array([-1.0])]
        switched = render.plan_clips(member, goals, STEPS, switch_every=5, grid=False)
        fixed = render.plan_clips(member, goals[:1], STEPS, switch_every=None, grid=False)
        assert switched[0][0].goal_at(4)[0] == 1.0 and switched[0][0].goal_at(5)[0] == -1.0
        a = list(render.render_frames(source, switched, STEPS, W, H))
        b = list(render.render_frames(source, fixed, STEPS, W, H))
    finally:
        source.close()
    # frame t shows the state after t steps; step 5 (frame 6) is the first under goal -1
    assert all(np.array_equal(a[t], b[t]) for t in range(6))
    assert all(not np.array_equal(a[t], b[t]) for t in range(6, STEPS + 1))
    band = slice(0, H // 2)  # the overlay's goal line sits in the top band
    assert not np.array_equal(a[6][band], b[6][band])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--member", "999999"], "member id 999999 is not in"),
        (["--member", "rank:0"], "member rank 0 out of range"),
        (["--member", "champion"], "bad member 'champion'"),
        (["--goal", "30"], "outside the goal space"),
        (["--goal", "1,2"], "needs 1"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(run_dir, tmp_path, capsys, extra, message):
    """Bad members, goals or sizes: exit code 2, one line naming the problem, no video."""
    out = tmp_path / "x.mp4"
    code = main(["render", str(run_dir), "--steps", "2", *extra, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_missing_gl_library_names_the_debian_package(run_dir, tmp_path, capsys, monkeypatch):
    """No libEGL: exit 2 and one line telling which package to apt-get install."""
    monkeypatch.setattr(render, "_library_loads", lambda name: False)
    monkeypatch.setenv("MUJOCO_GL", "egl")  # only read here, before any GL is touched
    code = main(["render", str(run_dir), "--out", str(tmp_path / "x.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and "apt-get install libegl1" in err and err.count("\n") == 1


def test_not_a_run_folder_exits_2(tmp_path, capsys):
    assert main(["render", str(tmp_path), "--out", str(tmp_path / "x.mp4")]) == 2
    assert "no checkpoint in" in capsys.readouterr().err


def test_help_shows_an_example(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["render", "--help"])
    assert stop.value.code == 0
    assert "pbml render runs/hc --goal 1.5 --goal -1.0" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [["--size", "95x64"], ["--steps", "0"], ["--fps", "-1"]])
def test_bad_options_are_usage_errors(run_dir, tmp_path, capsys, extra):
    """argparse-level errors: exit 2 and one line."""
    with pytest.raises(SystemExit) as stop:
        main(["render", str(run_dir), *extra, "--out", str(tmp_path / "x.mp4")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith("pbml: error:") and err.count("\n") == 1


def test_gl_context_failure_leaves_no_video(run_dir, tmp_path, capsys, monkeypatch):
    """A GL context that cannot be created mid-way: exit 2, one line, no half-written MP4."""

    def fail(*args):
        raise render.RenderError("cannot create an OpenGL context (MUJOCO_GL=egl): test")

    monkeypatch.setattr(render, "_open_renderer", fail)
    out = tmp_path / "x.mp4"
    assert main(["render", str(run_dir), "--member", "rank:1", "--out", str(out)]) == 2
    assert "OpenGL context" in capsys.readouterr().err
    assert not out.exists()


def test_fast_tasks_get_real_time_gifs(tmp_path):
    """At 125 fps (Hopper) the GIF keeps every 3rd frame with 20 ms delays, not 8 ms ones
    that browsers would slow to 100 ms."""
    from PIL import Image

    from pbml_control.render import write_media

    frames = [np.full((16, 16, 3), 10 * i, dtype=np.uint8) for i in range(10)]
    count = write_media(iter(frames), tmp_path / "v.mp4", 125.0, gif=tmp_path / "v.gif")
    gif = Image.open(tmp_path / "v.gif")
    assert count == 10 and gif.n_frames == 4 and gif.info["duration"] == 20


def test_gif_fps_thins_the_gif_in_real_time(tmp_path):
    """--gif-fps 10 on a 20 fps clip keeps every 2nd frame, each shown 100 ms."""
    from PIL import Image

    from pbml_control.render import write_media

    frames = [np.full((16, 16, 3), 20 * i, dtype=np.uint8) for i in range(10)]
    write_media(iter(frames), tmp_path / "v.mp4", 20.0, gif=tmp_path / "v.gif", gif_fps=10.0)
    gif = Image.open(tmp_path / "v.gif")
    assert gif.n_frames == 5 and gif.info["duration"] == 100


# --- a task meets a policy in one place: the video's returns are the evaluator's ------------
def test_rendered_returns_equal_evaluated_returns(run_dir):
    """Every tile of a 2 members x 2 goals grid earns, over an episode, the evaluator's return
    for that member, goal and seed (same env step, same policy, same normaliser)."""
    source = render.load_source(run_dir)
    try:
        members = render.select_members(source, ["best", "rank:2"], [np.array([1.0])])
        goals = [np.array([1.0]), np.array([-1.0])]
        panels = render.plan_clips(members, goals, 15, switch_every=None, grid=True)[0]
        seed = 7
        shown = render.episode_returns(source, panels, steps=15, seed=seed)
        for panel, returns in zip(panels, shown, strict=True):
            (evaluated,) = source.evaluator.trace(
                source.params(panel.member), panel.goals[0], np.array([seed]),
                source.normalizer_state, {},
            )  # fmt: skip
            assert returns == [evaluated], (panel.member.label, panel.goals[0])
        assert len({r[0] for r in shown}) == 4  # the tiles really differ
    finally:
        source.close()


def test_an_ended_episode_restarts_with_the_next_seed(tmp_path):
    """A Hopper that falls starts over; each episode's return is the evaluator's for its seed
    (the reset path of the shared env step)."""
    from pbml_control.policies import PolicySpec, save_genome
    from pbml_control.run_loader import genome_evaluator

    spec = PolicySpec(obs_dim=11, act_dim=3, hidden=(), activation="tanh",
                      action_low=(-1.0,) * 3, action_high=(1.0,) * 3)  # fmt: skip
    params = spec.init_params(np.random.default_rng(1)) * 40.0  # falls within a few dozen steps
    m = spec.layout().num_modules
    path = save_genome(tmp_path / "hopper.safetensors", spec, params, np.zeros(m), np.zeros(m),
                       None, {"task": "Hopper-v5"})  # fmt: skip
    source = render.load_source(path)
    try:
        (member,) = render.select_members(source, ["best"], [np.zeros(0)])
        panels = render.plan_clips([member], [np.zeros(0)], 300, None, grid=False)[0]
        shown = render.episode_returns(source, panels, steps=300, seed=3)[0]
    finally:
        source.close()
    assert len(shown) >= 3, shown  # at least two episodes ended
    with genome_evaluator(source.genome, "Hopper-v5", max_episode_steps=1000) as evaluator:
        for k, value in enumerate(shown[:-1]):
            expected = evaluator.trace(params, np.zeros(0), np.array([3 + k]), None, {})[0]
            assert value == expected, k


def test_a_signal_inside_gl_context_creation_is_the_interrupt(monkeypatch):
    """ctypes turns a KeyboardInterrupt raised by the signal handler inside a GL call into
    ArgumentError('argument 3: KeyboardInterrupt: '); it must stay an interrupt (exit 130),
    not become a one-line GL error (exit 2), as it did in a SIGTERM-mid-render test."""
    import ctypes

    import mujoco

    def interrupted(*args, **kwargs):
        raise ctypes.ArgumentError("argument 3: <class 'KeyboardInterrupt'>: ")

    monkeypatch.setattr(mujoco, "Renderer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        render._open_renderer(mujoco.MjModel.from_xml_string("<mujoco/>"), 32, 32)
