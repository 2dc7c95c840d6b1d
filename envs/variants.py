"""Dynamics and morphology variants built by editing an `mujoco.MjSpec`.

Transfer experiments need the same robot with other physics or body proportions. Editing the
parsed spec (rather than hand-copying XML) keeps every variant derived from the one v5 model
shipped with Gymnasium, so a fix in the base model reaches all variants.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import gymnasium
import mujoco
import numpy as np

from pbml_control.envs.names import did_you_mean

ASSET_DIR = Path(gymnasium.__file__).parent / "envs" / "mujoco" / "assets"


@dataclass(frozen=True)
class Variant:
    """Multiplicative changes to a base model; all 1.0 is the unchanged v5 model.

    mass_scale: every body's mass and inertia (geom densities / masses, explicit inertials,
        or the compiler's settotalmass where the asset sets one).
    friction_scale: the sliding friction of every geom (MuJoCo takes the max of the two geoms
        in contact, so scaling all geoms scales every contact).
    gravity_scale: `opt.gravity`.
    limb_length_scale: the length of every limb, i.e. every body below the root body (the
        direct child of the world): capsule half-lengths / fromto segments and positions of
        geoms, sites, joints and child bodies. The root's own geometry and thickness
        (radii) are unchanged. The root is lifted so that the lowest geom starts at the same
        height above the floor as in the base model.
    """

    mass_scale: float = 1.0
    friction_scale: float = 1.0
    gravity_scale: float = 1.0
    limb_length_scale: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (math.isfinite(value) and value > 0.0) and f.name != "gravity_scale":
                raise ValueError(f"{f.name} must be finite and > 0, got {value!r}")
            if f.name == "gravity_scale" and not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"gravity_scale must be finite and >= 0, got {value!r}")


#: Named transfer variants, registered as `PBML/<Task>-<Name>-v0`.
NAMED_VARIANTS: dict[str, Variant] = {
    "Heavy": Variant(mass_scale=1.5),
    "Light": Variant(mass_scale=0.7),
    "Slippery": Variant(friction_scale=0.3),
    "LowGravity": Variant(gravity_scale=0.5),
    "LongLimbs": Variant(limb_length_scale=1.25),
    "ShortLimbs": Variant(limb_length_scale=0.8),
}


def named_variant(name: str) -> Variant:
    """Look up a named variant; unknown names raise ValueError naming them."""
    try:
        return NAMED_VARIANTS[name]
    except KeyError:
        raise ValueError(
            f"unknown variant {name!r} (known: {', '.join(sorted(NAMED_VARIANTS))})"
            f"{did_you_mean(name, NAMED_VARIANTS)}"
        ) from None


def _root_and_limbs(spec: mujoco.MjSpec) -> tuple[list[mujoco.MjsBody], list[mujoco.MjsBody]]:
    """Root bodies are the world's children; limbs are all bodies below them."""
    world = spec.worldbody
    roots = [b for b in spec.bodies if b.parent is not None and b.parent.name == world.name]
    roots = [b for b in roots if b.name != world.name]
    root_names = {b.name for b in roots}
    limbs = [
        b
        for b in spec.bodies
        if b.name != world.name and b.name not in root_names and b.parent is not None
    ]
    return roots, limbs


def _scale_mass(spec: mujoco.MjSpec, scale: float, keep_total: bool) -> None:
    """Scale densities and masses, or the compiler's settotalmass where the asset sets one.

    A model with settotalmass (half_cheetah.xml) is rescaled to that total at compile time.
    With `keep_total` (no change of geometry) scaling the total is the whole job, and the
    unscaled model compiles exactly as Gymnasium's does: folding settotalmass into densities
    instead changes masses by one ulp, and every trajectory after. Without it (limbs change
    length, so a longer limb must weigh more) settotalmass becomes the equivalent density
    factor of the base geometry.
    """
    total = spec.compiler.settotalmass
    if total > 0 and keep_total:
        spec.compiler.settotalmass = total * scale
        return
    factor = scale
    if total > 0:
        probe = spec.copy()
        probe.compiler.settotalmass = -1
        factor *= total / float(probe.compile().body_mass.sum())
        spec.compiler.settotalmass = -1
    if factor == 1.0:
        return
    for g in spec.geoms:
        g.density = g.density * factor
        if not math.isnan(g.mass):
            g.mass = g.mass * factor
    for b in spec.bodies:
        if b.explicitinertial:
            b.mass = b.mass * factor
            b.inertia = np.asarray(b.inertia) * factor
            b.fullinertia = np.asarray(b.fullinertia) * factor


def _scale_limbs(spec: mujoco.MjSpec, scale: float) -> None:
    """Stretch every limb body's geometry and its children's attachment points."""
    _, limbs = _root_and_limbs(spec)
    limb_names = {b.name for b in limbs}
    for body in limbs:
        if body.parent.name in limb_names:
            body.pos = np.asarray(body.pos) * scale
        for g in body.geoms:
            fromto = np.asarray(g.fromto)
            if not math.isnan(fromto[0]):
                g.fromto = fromto * scale
            else:
                g.pos = np.asarray(g.pos) * scale
                if g.type in (mujoco.mjtGeom.mjGEOM_CAPSULE, mujoco.mjtGeom.mjGEOM_CYLINDER):
                    size = np.asarray(g.size).copy()
                    size[1] *= scale
                    g.size = size
        for j in body.joints:
            j.pos = np.asarray(j.pos) * scale
        for s in body.sites:
            s.pos = np.asarray(s.pos) * scale


def _lowest_point(model: mujoco.MjModel) -> float:
    """Lowest z of the non-world geoms at qpos0 (capsules exactly, others by bounding sphere)."""
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    lowest = math.inf
    for i in range(model.ngeom):
        if model.geom_bodyid[i] == 0:
            continue
        z = data.geom_xpos[i, 2]
        if model.geom_type[i] == mujoco.mjtGeom.mjGEOM_CAPSULE:
            axis_z = abs(data.geom_xmat[i].reshape(3, 3)[2, 2])
            bottom = z - model.geom_size[i, 0] - model.geom_size[i, 1] * axis_z
        elif model.geom_type[i] == mujoco.mjtGeom.mjGEOM_SPHERE:
            bottom = z - model.geom_size[i, 0]
        else:
            bottom = z - model.geom_rbound[i]
        lowest = min(lowest, bottom)
    return lowest


@functools.lru_cache(maxsize=32)
def _base_lowest_point(xml_file: str) -> float:
    spec = mujoco.MjSpec.from_file(str(ASSET_DIR / xml_file))
    spec.compiler.settotalmass = -1  # masses do not matter here; avoids the deprecation warning
    return _lowest_point(spec.compile())


def build_variant_model(xml_file: str, variant: Variant = Variant()) -> mujoco.MjModel:
    """Compile a Gymnasium v5 asset with `variant` applied through `mujoco.MjSpec`."""
    spec = mujoco.MjSpec.from_file(str(ASSET_DIR / xml_file))
    _scale_mass(spec, variant.mass_scale, keep_total=variant.limb_length_scale == 1.0)
    if variant.friction_scale != 1.0:
        for g in spec.geoms:
            friction = np.asarray(g.friction).copy()
            friction[0] *= variant.friction_scale
            g.friction = friction
    if variant.gravity_scale != 1.0:
        spec.option.gravity = np.asarray(spec.option.gravity) * variant.gravity_scale
    if variant.limb_length_scale != 1.0:
        _scale_limbs(spec, variant.limb_length_scale)
        lift = _base_lowest_point(xml_file) - _lowest_point(_compile(spec))
        roots, _ = _root_and_limbs(spec)
        for root in roots:
            if root.bodies:  # only bodies that carry limbs
                pos = np.asarray(root.pos).copy()
                pos[2] += lift
                root.pos = pos
    return _compile(spec)


def _compile(spec: mujoco.MjSpec) -> mujoco.MjModel:
    """`spec.compile()` without the Python copy of MuJoCo 4's settotalmass deprecation warning
    (the C-level copy goes to `mujoco_log`, at DEBUG level): the v5 asset uses it on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*settotalmass.*deprecated", UserWarning)
        return spec.compile()
