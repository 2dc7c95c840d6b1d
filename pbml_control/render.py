"""Videos of genomes from a checkpoint: headless MuJoCo rendering, goal switches, grids, overlays.

Rendering reads a run through the run loader (``run_loader.load_source``) and reuses the run's
own code, never a copy of it: members are ranked by the run's own evaluator, the policy is
:class:`~pbml_control.policies.PopulationPolicy` with the checkpoint's observation-normaliser
state, and the robot moves by the env step evaluation uses (``envs.batch_rollout.SimBatch``),
so a rendered episode earns the return the evaluator gives it. Only the camera, the text
overlay and the restart of an ended episode are new here; media.py encodes the files.
A genome file or zoo entry is a source with one member (``run_loader.GenomeSource``) and plays
through the same rollout.

OpenGL: MuJoCo picks its headless backend from ``MUJOCO_GL`` when ``mujoco`` is first
imported, and cannot switch afterwards. :func:`select_gl_backend` therefore runs before
anything imports MuJoCo: it keeps a ``MUJOCO_GL`` the user set, otherwise it picks ``egl`` when
``libEGL`` loads and ``osmesa`` when ``libOSMesa`` does, and otherwise raises a one-line error
that names the Debian package to install. MuJoCo, Gymnasium and the envs are imported lazily
for that reason.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pbml_control.media import GIF_MAX_FPS, write_media  # noqa: F401  (the render API)
from pbml_control.members import (
    Member,
    MemberError,
    Source,
    load_source,
    member_fitness,
    parse_goal,
    resolve_checkpoint,
    select_members,
)

RenderSource = Source  # the name render's callers know: a run or a genome file

if TYPE_CHECKING:
    import mujoco


__all__ = [
    "CAMERAS",
    "CameraView",
    "Member",
    "Panel",
    "RenderError",
    "RenderSource",
    "episode_returns",
    "load_source",
    "member_fitness",
    "parse_goal",
    "plan_clips",
    "render_frames",
    "resolve_checkpoint",
    "select_gl_backend",
    "select_members",
    "tile",
    "write_media",
]

# Debian package and shared library behind each headless backend.
_GL_LIBRARIES = {
    "egl": ("libEGL.so.1", "libegl1"),
    "osmesa": ("libOSMesa.so.8", "libosmesa6"),
}


class RenderError(MemberError):
    """A rendering problem the user can fix (missing GL, bad member or goal); one line."""


# --- OpenGL ---------------------------------------------------------------------------------
def _library_loads(name: str) -> bool:
    """Whether a shared library can be loaded (the cheapest honest check for a GL backend)."""
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def select_gl_backend() -> str:
    """Choose ``MUJOCO_GL`` before MuJoCo is imported; a missing library raises RenderError.

    A backend the user set is kept (and checked); otherwise EGL is preferred because it is the
    faster path and uses a GPU where one exists, with OSMesa (pure software) as the fallback.
    """
    requested = os.environ.get("MUJOCO_GL", "").strip().lower()
    if requested:
        if requested in _GL_LIBRARIES:
            library, package = _GL_LIBRARIES[requested]
            if not _library_loads(library):
                other = "osmesa" if requested == "egl" else "egl"
                raise RenderError(
                    f"MUJOCO_GL={requested} but {library} cannot be loaded; install it with "
                    f"`apt-get install {package}` (or use MUJOCO_GL={other} with "
                    f"{_GL_LIBRARIES[other][1]})"
                )
        return requested
    if "mujoco" in sys.modules:
        raise RenderError(
            "mujoco was imported before MUJOCO_GL was set; set MUJOCO_GL=egl (or osmesa) "
            "in the environment before starting Python"
        )
    for backend, (library, _) in _GL_LIBRARIES.items():
        if _library_loads(library):
            os.environ["MUJOCO_GL"] = backend
            return backend
    raise RenderError(
        "no headless OpenGL library found: install libEGL with `apt-get install libegl1` "
        "(or libOSMesa with `apt-get install libosmesa6`)"
    )


# --- camera ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CameraView:
    """A free or body-tracking camera; tracking keeps a running robot in the frame."""

    track_body: str | None  # None: a fixed camera looking at ``lookat``
    distance: float
    elevation: float
    azimuth: float = 90.0  # 90: looking along +y, so a robot running along +x crosses the frame
    lookat: tuple[float, float, float] = (0.0, 0.0, 0.0)


#: One view per task. The planar runners are seen from the side, slightly from above, the Ant
#: from above and behind, the Reacher and the Swimmer straight from above (the Reacher does not
#: move, so the camera does not track it). Distances are chosen so the robot's larger extent
#: spans about a third to two thirds of a 4:3 frame, never cut off
#: (``tests/test_render_camera.py`` checks it for every task by a segmentation render).
CAMERAS: dict[str, CameraView] = {
    "HalfCheetahVel": CameraView("torso", distance=2.7, elevation=-20.0),
    "HopperVel": CameraView("torso", distance=2.9, elevation=-15.0),
    "Walker2dVel": CameraView("torso", distance=3.4, elevation=-15.0),
    "AntHeading": CameraView("torso", distance=3.2, elevation=-35.0),
    "ReacherGoal": CameraView(None, distance=0.5, elevation=-90.0),
    "HalfCheetah-v5": CameraView("torso", distance=2.7, elevation=-20.0),
    "Hopper-v5": CameraView("torso", distance=2.9, elevation=-15.0),
    "Walker2d-v5": CameraView("torso", distance=3.4, elevation=-15.0),
    "Ant-v5": CameraView("torso", distance=3.2, elevation=-35.0),
    "Swimmer-v5": CameraView("torso", distance=3.5, elevation=-90.0),  # it swims in the plane
    "InvertedPendulum-v5": CameraView("cart", distance=2.2, elevation=-10.0),
}


def make_camera(model: mujoco.MjModel, task: str) -> mujoco.MjvCamera:
    """The task's view as an ``MjvCamera`` (``mjCAMERA_TRACKING`` on the torso body)."""
    import mujoco

    view = CAMERAS.get(task, CameraView("torso", distance=2.7, elevation=-20.0))
    cam = mujoco.MjvCamera()
    if view.track_body is not None:
        cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        cam.trackbodyid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, view.track_body)
    else:
        cam.type = mujoco.mjtCamera.mjCAMERA_FREE
        cam.lookat[:] = view.lookat
    cam.distance = view.distance
    cam.elevation = view.elevation
    cam.azimuth = view.azimuth
    return cam


# --- clips and panels -----------------------------------------------------------------------
@dataclass(frozen=True)
class Panel:
    """One tile of the video: a member rolled out under a goal schedule."""

    member: Member
    goals: tuple[np.ndarray, ...]  # cycled every ``switch_every`` steps
    switch_every: int

    def goal_at(self, step: int) -> np.ndarray:
        return self.goals[(step // self.switch_every) % len(self.goals)]


def plan_clips(
    members: Sequence[Member],
    goals: Sequence[np.ndarray],
    steps: int,
    switch_every: int | None,
    grid: bool,
) -> list[list[Panel]]:
    """Decide what is shown where: a list of clips played in turn, each a list of tiles.

    Without ``grid`` each member gets its own clip, one after another, and the goals cycle
    within it (every ``switch_every`` steps, by default evenly over the clip). With ``grid``
    all tiles play side by side: one per member when ``switch_every`` is given (every tile
    follows the same goal schedule), otherwise one per (member, goal) with a fixed goal.
    """
    goals = tuple(goals)
    cycle = switch_every or max(1, math.ceil(steps / len(goals)))
    if not grid:
        return [[Panel(m, goals, cycle)] for m in members]
    if switch_every is not None:
        return [[Panel(m, goals, switch_every) for m in members]]
    return [[Panel(m, (g,), steps) for m in members for g in goals]]


# --- frames ---------------------------------------------------------------------------------
def _format_goal(goal: np.ndarray) -> str:
    return ", ".join(f"{x:+.2f}" for x in np.atleast_1d(goal))


def _font(height: int) -> Any:
    from PIL import ImageFont

    size = max(9, height // 18)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def overlay(frame: np.ndarray, lines: Sequence[str], font: Any) -> np.ndarray:
    """Write ``lines`` in the top-left corner on a dark band, so they read on any floor."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image, "RGBA")
    text = "\n".join(lines)
    _, _, right, bottom = draw.multiline_textbbox((4, 3), text, font=font, spacing=2)
    draw.rectangle((0, 0, right + 4, bottom + 4), fill=(0, 0, 0, 150))
    draw.multiline_text((4, 3), text, font=font, fill=(255, 255, 255, 255), spacing=2)
    return np.asarray(image)


def tile(frames: Sequence[np.ndarray], cols: int | None = None) -> np.ndarray:
    """Tiles (H, W, 3) of equal size in a near-square grid, black where a tile is missing."""
    n = len(frames)
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    h, w, c = frames[0].shape
    out = np.zeros((rows * h, cols * w, c), dtype=frames[0].dtype)
    for k, frame in enumerate(frames):
        r, q = divmod(k, cols)
        out[r * h : (r + 1) * h, q * w : (q + 1) * w] = frame
    return out


class _Clip:
    """A clip's tiles, stepped together through the evaluator's env step (``SimBatch``).

    Each tile is one simulation of a persistent batch (so ``get_data`` gives the whole MjData a
    renderer draws) whose policy row is its member's. A tile's goal follows its panel; an
    episode that ends (a fallen Hopper, or numerical instability) starts over with the next
    seed, and the counter shows it.
    """

    def __init__(self, source: RenderSource, panels: Sequence[Panel], size: tuple, seed: int):
        import mujoco

        from pbml_control.envs.batch_rollout import SimBatch
        from pbml_control.envs.task_spec import TaskSpec
        from pbml_control.policies import PopulationPolicy

        config = source.evaluator.config
        if not isinstance(source.task, TaskSpec):
            raise RenderError(
                f"pbml render draws fast-path MuJoCo tasks only; {config.task} runs on the "
                "generic Gymnasium path (see docs/tasks.md)"
            )
        self.panels, self.task, n = list(panels), source.task, len(panels)
        self.model = self.task.build_model()
        self.model.vis.global_.offwidth = max(self.model.vis.global_.offwidth, size[0])
        self.model.vis.global_.offheight = max(self.model.vis.global_.offheight, size[1])
        self.data = mujoco.MjData(self.model)
        self.policy = PopulationPolicy(
            source.policy_spec,
            np.stack([source.params(p.member) for p in self.panels]),
            normalizer=source.normalizer_state,
            member_index=np.arange(n),
            dtype=np.dtype(config.policy_dtype),
        )
        self.sims = SimBatch(self.task, self.model, n, persistent=True)
        self.goals = np.stack([np.asarray(p.goal_at(0), dtype=np.float64) for p in self.panels])
        self.seed = seed
        self.episode = np.zeros(n, dtype=np.int64)
        self.returns = np.zeros(n)
        self.finished: list[list[float]] = [[] for _ in range(n)]  # returns of ended episodes
        self.terms: list[dict[str, float]] = [{} for _ in range(n)]
        self.obs = self.sims.reset(np.full(n, seed), self.goals)

    def step(self, t: int) -> None:
        """Env step ``t`` of every tile, under the goals its panel shows at ``t``."""
        for i, panel in enumerate(self.panels):
            goal = panel.goal_at(t)
            if not np.array_equal(goal, self.goals[i]):
                self.goals[i] = goal  # the policy sees the new goal at once
                self.obs[i] = self.sims.observe(np.array([i]), self.goals[i : i + 1])[0]
        ids = np.arange(len(self.panels))
        action = np.asarray(self.policy.act(self.obs), dtype=np.float64)
        obs, reward, terms, term, broken = self.sims.step(ids, action, self.goals)
        self.obs = obs.copy()
        self.returns += reward
        for i in ids:
            self.terms[i] = {k: float(np.asarray(v)[i]) for k, v in terms.items()}
        for i in np.flatnonzero(term | broken):
            self.episode[i] += 1
            self.finished[i].append(float(self.returns[i]))
            seed = np.array([self.seed + self.episode[i]])
            self.obs[i] = self.sims.reset(seed, self.goals[i : i + 1], np.array([i]))[0]
            self.returns[i] = 0.0

    def tile_data(self, i: int) -> Any:
        """Tile ``i``'s whole MjData, for the renderer."""
        return self.sims.batch.get_data(i, self.data)

    def lines(self, i: int, task: str, t: int, steps: int) -> list[str]:
        member = self.panels[i].member
        head = f"{task}  member {member.id} ({member.label})"
        goal = f"goal {_format_goal(self.goals[i])}   " if self.goals[i].size else ""
        goal += f"step {t}/{steps}"
        tail = f"return {self.returns[i]:.1f}"
        if "x_velocity" in self.terms[i]:
            tail += f"   vel {self.terms[i]['x_velocity']:+.2f}"
        if self.episode[i]:
            tail += f"   episode {self.episode[i] + 1}"
        return [head, goal, tail]


def episode_returns(
    source: RenderSource, panels: Sequence[Panel], steps: int, seed: int = 0
) -> list[list[float]]:
    """Per tile, the returns of the episodes a clip of ``steps`` steps plays: those that ended,
    then the one still running. The numbers the video's overlay shows, without drawing it."""
    clip = _Clip(source, panels, (16, 16), seed)
    for t in range(steps):
        clip.step(t)
    return [[*clip.finished[i], float(clip.returns[i])] for i in range(len(panels))]


def _open_renderer(model: mujoco.MjModel, width: int, height: int) -> mujoco.Renderer:
    """``mujoco.Renderer`` with a clear error when the GL context cannot be created."""
    import mujoco

    try:
        renderer = mujoco.Renderer(model, height=height, width=width)
    except Exception as exc:  # GL failures surface as ImportError, RuntimeError, GLError...
        # A SIGINT/SIGTERM landing inside a ctypes GL call comes back as ctypes.ArgumentError
        # ("argument 3: KeyboardInterrupt: "): it is the interrupt, not a GL failure.
        if isinstance(exc.__context__, KeyboardInterrupt) or "KeyboardInterrupt" in str(exc):
            raise KeyboardInterrupt from None
        backend = os.environ.get("MUJOCO_GL", "")
        hint = "libosmesa6 and MUJOCO_GL=osmesa" if backend == "egl" else "libegl1 or libosmesa6"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RenderError(
            f"cannot create an OpenGL context (MUJOCO_GL={backend}): {first}; try {hint}"
        ) from None
    # Shadows and reflections cost the most in software GL and add little to a robot video.
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
    return renderer


def render_frames(
    source: RenderSource,
    clips: Sequence[Sequence[Panel]],
    steps: int,
    width: int,
    height: int,
    seed: int = 0,
) -> Iterator[np.ndarray]:
    """Yield video frames: each clip's tiles stepped together for ``steps`` steps.

    Frame 0 of a clip is the reset state; every later frame follows one env step, so a clip
    has ``steps + 1`` frames.
    """
    task = source.task_name
    font = _font(height)
    for panels in clips:
        clip = _Clip(source, panels, (width, height), seed)
        renderer = _open_renderer(clip.model, width, height)
        camera = make_camera(clip.model, clip.task.name)
        try:
            for t in range(steps + 1):
                if t:
                    clip.step(t - 1)
                tiles = []
                for i in range(len(panels)):
                    renderer.update_scene(clip.tile_data(i), camera)
                    tiles.append(overlay(renderer.render(), clip.lines(i, task, t, steps), font))
                yield tile(tiles)
        finally:
            renderer.close()
