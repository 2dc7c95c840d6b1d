"""Policies: layout, batched forward, normalisation, torch export and pickle-free genome files."""

from __future__ import annotations

import json
import pickle
import pickletools
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pbml_control.policies import (
    ObsNormalizer,
    ObsStats,
    PolicySpec,
    PopulationPolicy,
    TorchPolicy,
    from_torch_module,
    load_genome,
    save_genome,
    to_torch_module,
)

SPEC = PolicySpec(obs_dim=17, act_dim=6, hidden=(32, 24), action_low=-0.4, action_high=1.5)


def _population(spec: PolicySpec = SPEC, n: int = 5, seed: int = 0, scale: float = 1.0):
    """Random params with a large head, so actions reach the tanh saturation region."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, spec.num_params)) * scale


def _fitted_normalizer(spec: PolicySpec = SPEC, seed: int = 1) -> ObsNormalizer:
    rng = np.random.default_rng(seed)
    norm = ObsNormalizer(spec.obs_dim, clip=3.0)
    norm.update_from_batch(rng.standard_normal((200, spec.obs_dim)) * 4.0 + 2.0)
    return norm


def _per_member(spec: PolicySpec, params: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Reference forward pass for one member, written from the documented layout."""
    modules = spec.layout().split(params)
    h = obs
    for k, name in enumerate(spec.layer_names):
        block = modules[name]
        h = h @ block[:-1] + block[-1]
        if k < len(spec.hidden):
            h = np.tanh(h)
    return spec.action_mid + spec.action_half * np.tanh(h)


def _saved(tmp_path: Path, **overrides) -> Path:
    params = _population(n=1)[0]
    m = SPEC.layout().num_modules
    kwargs = dict(
        spec=SPEC,
        params=params,
        log_sigma=np.full(m, -2.0),
        logit_p=np.zeros(m),
        normalizer_state=_fitted_normalizer().state_dict(),
        metadata={"seed": 3, "git": "abc"},
    )
    kwargs.update(overrides)
    return save_genome(tmp_path / "g.safetensors", **kwargs)


# ----------------------------------------------------------------------------- spec


def test_layout_has_one_module_per_layer_and_matches_param_count():
    """Each layer (weight + bias) is one module, and the sizes add up to D."""
    layout = SPEC.layout()
    assert layout.names == ("layer0", "layer1", "head")
    assert layout.shapes == ((18, 32), (33, 24), (25, 6))
    assert layout.num_params == SPEC.num_params == SPEC.init_params(np.random.default_rng(0)).size


def test_init_is_deterministic_from_the_same_seed():
    """Same seed, same params; a different seed gives different params."""
    a = SPEC.init_params(np.random.default_rng(7))
    b = SPEC.init_params(np.random.default_rng(7))
    c = SPEC.init_params(np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_initial_actions_are_near_the_middle_of_the_box():
    """The small head keeps fresh policies' actions close to the box centre."""
    params = SPEC.init_population(np.random.default_rng(0), 8)
    obs = np.random.default_rng(1).standard_normal((8, SPEC.obs_dim))
    actions = PopulationPolicy(SPEC, params).act(obs)
    assert np.max(np.abs(actions - SPEC.action_mid)) < 0.1 * SPEC.action_half.min()


def test_spec_rejects_bad_values_and_unknown_json_keys():
    """Invalid specs fail early; from_json names an unknown key."""
    with pytest.raises(ValueError, match="activation"):
        PolicySpec(3, 2, activation="swish")
    with pytest.raises(ValueError, match="action_low"):
        PolicySpec(3, 2, action_low=1.0, action_high=1.0)
    with pytest.raises(ValueError, match="hiden"):
        PolicySpec.from_json({**SPEC.to_json(), "hiden": [3]})
    assert PolicySpec.from_json(json.loads(json.dumps(SPEC.to_json()))) == SPEC


# ----------------------------------------------------------------------------- forward


@pytest.mark.parametrize("activation", ["tanh", "relu", "elu"])
def test_batched_forward_equals_a_per_member_loop(activation):
    """Every member uses its own weights in the batched pass."""
    spec = PolicySpec(17, 6, (32, 24), activation=activation, action_low=-0.4, action_high=1.5)
    params = _population(spec, n=7, scale=0.3)
    obs = np.random.default_rng(2).standard_normal((7, spec.obs_dim))
    batched = PopulationPolicy(spec, params).act(obs)
    if activation == "tanh":
        for i in range(7):
            np.testing.assert_allclose(batched[i], _per_member(spec, params[i], obs[i]), atol=1e-12)
    for i in range(7):
        single = PopulationPolicy(spec, params[i]).act(obs[i : i + 1])
        np.testing.assert_allclose(batched[i], single[0], atol=1e-12)


def test_actions_stay_within_bounds_even_when_saturated():
    """tanh squashing keeps actions in [low, high] for any weights and observations."""
    spec = PolicySpec(5, 3, (8,), action_low=(-1.0, 0.0, -3.0), action_high=(1.0, 0.5, 2.0))
    params = _population(spec, n=50, scale=10.0)
    obs = np.random.default_rng(3).standard_normal((50, 5)) * 100
    actions = PopulationPolicy(spec, params).act(obs)
    assert np.all(actions >= np.asarray(spec.action_low))
    assert np.all(actions <= np.asarray(spec.action_high))
    assert actions.max() > 0.45  # saturates towards the box edges, not stuck in the middle


def test_member_index_gives_each_sim_its_members_weights():
    """Sims mapped to member i act exactly like member i alone."""
    params = _population(n=4, scale=0.3)
    member_index = np.repeat(np.arange(4), 3)
    obs = np.random.default_rng(4).standard_normal((12, SPEC.obs_dim))
    actions = PopulationPolicy(SPEC, params, member_index=member_index).act(obs)
    expected = PopulationPolicy(SPEC, params[member_index]).act(obs)
    np.testing.assert_array_equal(actions, expected)


def test_policy_is_a_snapshot_of_params_and_normalizer():
    """Changing params or statistics after construction does not change a generation's actions."""
    params = _population(n=3, scale=0.3)
    norm = _fitted_normalizer()
    obs = np.random.default_rng(5).standard_normal((3, SPEC.obs_dim))
    policy = PopulationPolicy(SPEC, params, normalizer=norm)
    before = policy.act(obs)
    params += 1.0
    norm.update_from_batch(obs * 50)
    np.testing.assert_array_equal(policy.act(obs), before)


def test_float32_forward_is_close_to_float64():
    """The faster float32 path agrees with float64 to single precision."""
    params = _population(n=6, scale=0.3)
    obs = np.random.default_rng(6).standard_normal((6, SPEC.obs_dim))
    a64 = PopulationPolicy(SPEC, params).act(obs)
    a32 = PopulationPolicy(SPEC, params, dtype=np.float32).act(obs.astype(np.float32))
    np.testing.assert_allclose(a32, a64, atol=1e-5)


def test_wrong_obs_shape_is_refused():
    """A shape mistake in the rollout fails loudly instead of broadcasting."""
    policy = PopulationPolicy(SPEC, _population(n=2))
    with pytest.raises(ValueError, match="obs shape"):
        policy.act(np.zeros((3, SPEC.obs_dim)))


# ----------------------------------------------------------------------------- normalizer


def test_normalizer_merge_of_two_halves_equals_stats_of_the_whole():
    """Chan's merge of per-worker statistics reproduces the statistics of all observations."""
    obs = np.random.default_rng(7).standard_normal((301, 9)) * 3 + 1000.0
    whole = ObsStats.from_batch(obs)
    merged = ObsStats.from_batch(obs[:120]).merge(ObsStats.from_batch(obs[120:]))
    assert merged.count == whole.count == 301
    np.testing.assert_allclose(merged.mean, obs.mean(0), rtol=1e-13)
    np.testing.assert_allclose(merged.var, obs.var(0), rtol=1e-9)
    np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-9)


def test_normalizer_updates_are_deterministic_for_a_fixed_merge_order():
    """Same worker statistics in the same order give bit-identical normaliser state."""
    rng = np.random.default_rng(8)
    batches = [ObsStats.from_batch(rng.standard_normal((50, 4))) for _ in range(5)]
    a, b = ObsNormalizer(4), ObsNormalizer(4)
    a.update(batches)
    for s in batches:
        b.update(s)
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[key])


def test_normalizer_mask_counts_only_live_sims():
    """Masked-out (finished) sims do not contribute to the statistics."""
    obs = np.random.default_rng(9).standard_normal((6, 10, 3))
    mask = np.zeros((6, 10), dtype=bool)
    mask[:, :4] = True
    stats = ObsStats.from_batch(obs, mask)
    assert stats.count == 24
    np.testing.assert_allclose(stats.mean, obs[:, :4].reshape(-1, 3).mean(0), rtol=1e-12)
    assert ObsStats.from_batch(obs, np.zeros((6, 10), dtype=bool)).count == 0


def test_normalizer_from_sums_matches_from_batch():
    """Workers that only keep (count, sum, sumsq) still produce matching statistics."""
    obs = np.random.default_rng(10).standard_normal((40, 5))
    stats = ObsStats.from_sums(40, obs.sum(0), np.square(obs).sum(0))
    np.testing.assert_allclose(stats.var, obs.var(0), rtol=1e-9)


def test_normalize_standardises_and_clips():
    """Normalised observations have zero mean, unit variance and respect the clip."""
    obs = np.random.default_rng(11).standard_normal((500, 4)) * 5 + 3
    norm = ObsNormalizer(4, clip=10.0)
    norm.update_from_batch(obs)
    z = norm.normalize(obs)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-9)
    np.testing.assert_allclose(z.std(0), 1.0, atol=1e-6)
    assert np.all(np.abs(norm.normalize(obs * 1e6)) <= 10.0)
    fresh = ObsNormalizer(4).normalize(obs[:3])  # no data yet: identity up to eps, then clip
    np.testing.assert_allclose(fresh, np.clip(obs[:3], -10, 10), rtol=1e-7)


def test_normalizer_state_dict_round_trips():
    """load_state_dict restores exactly the statistics that state_dict saved."""
    norm = _fitted_normalizer()
    other = ObsNormalizer.from_state_dict(norm.state_dict())
    x = np.random.default_rng(12).standard_normal((3, SPEC.obs_dim))
    np.testing.assert_array_equal(other.normalize(x), norm.normalize(x))
    with pytest.raises(ValueError, match="'mean' has shape"):
        ObsNormalizer(SPEC.obs_dim + 1).load_state_dict(norm.state_dict())


# ----------------------------------------------------------------------------- torch


def test_params_to_torch_module_and_back_is_exact():
    """params -> nn.Module -> params is the identity, bit for bit."""
    params = _population(n=1)[0]
    module = to_torch_module(SPEC, params)
    assert isinstance(module, torch.nn.Module)
    assert [name for name, _ in module.named_children()][:3] == ["layer0", "layer1", "head"]
    np.testing.assert_array_equal(from_torch_module(SPEC, module), params)


def test_torch_module_actions_equal_population_policy_actions():
    """The exported module acts like the numpy forward pass of the same member (float64)."""
    params = _population(n=4, scale=0.3)
    norm = _fitted_normalizer()
    obs = np.random.default_rng(13).standard_normal((4, SPEC.obs_dim)) * 6
    numpy_actions = PopulationPolicy(SPEC, params, normalizer=norm).act(obs)
    for i in range(4):
        module = to_torch_module(SPEC, params[i], norm.state_dict())
        with torch.no_grad():
            batched = module(torch.as_tensor(obs[i : i + 1])).numpy()
            single = module(torch.as_tensor(obs[i])).numpy()
        np.testing.assert_allclose(batched[0], numpy_actions[i], atol=1e-10, rtol=0)
        np.testing.assert_allclose(single, numpy_actions[i], atol=1e-10, rtol=0)


def test_torch_module_accepts_float32_observations():
    """Gymnasium often returns float32; the module casts the input to its own dtype."""
    module = to_torch_module(SPEC, _population(n=1)[0])
    out = module(torch.zeros(SPEC.obs_dim, dtype=torch.float32))
    assert out.dtype == torch.float64 and out.shape == (SPEC.act_dim,)


def test_torch_state_dict_loads_into_a_fresh_module():
    """A saved state_dict (weights, normaliser, bounds) rebuilds the same policy."""
    params = _population(n=1, scale=0.3)[0]
    module = to_torch_module(SPEC, params, _fitted_normalizer().state_dict())
    fresh = TorchPolicy(SPEC)
    fresh.load_state_dict(module.state_dict())
    obs = torch.as_tensor(np.random.default_rng(14).standard_normal((5, SPEC.obs_dim)) * 6)
    with torch.no_grad():
        torch.testing.assert_close(fresh(obs), module(obs), rtol=0, atol=0)
    np.testing.assert_array_equal(from_torch_module(SPEC, fresh), params)


# ----------------------------------------------------------------------------- files


def test_save_load_export_gives_the_same_actions(tmp_path):
    """A genome saved, loaded and exported to torch acts exactly as before saving."""
    params = _population(n=1, scale=0.3)[0]
    norm = _fitted_normalizer()
    m = SPEC.layout().num_modules
    obs = np.random.default_rng(15).standard_normal((1, SPEC.obs_dim)) * 6
    before = PopulationPolicy(SPEC, params, normalizer=norm).act(obs)
    path = save_genome(
        tmp_path / "best.safetensors",
        SPEC,
        params,
        np.full(m, -1.5),
        np.full(m, 2.0),
        norm.state_dict(),
        {"generation": 12, "fitness": 3.5},
    )
    spec, genome, norm_state, metadata = load_genome(path)
    p, log_sigma, logit_p = genome.params, genome.log_sigma, genome.logit_p
    assert spec == SPEC and metadata == {"generation": 12, "fitness": 3.5}
    np.testing.assert_array_equal(p, params)
    np.testing.assert_array_equal(log_sigma, np.full(m, -1.5))
    np.testing.assert_array_equal(logit_p, np.full(m, 2.0))
    np.testing.assert_array_equal(PopulationPolicy(spec, p, normalizer=norm_state).act(obs), before)
    with torch.no_grad():
        exported = to_torch_module(spec, p, norm_state)(torch.as_tensor(obs)).numpy()
    np.testing.assert_allclose(exported, before, atol=1e-10, rtol=0)
    assert [f.name for f in tmp_path.iterdir()] == ["best.safetensors"]  # no temp file left


def test_genome_without_normalizer_round_trips(tmp_path):
    """The normaliser is optional in a genome file."""
    path = _saved(tmp_path, normalizer_state=None, metadata=None)
    loaded = load_genome(path)
    assert loaded.normalizer_state is None and loaded.metadata == {}


def test_save_refuses_shapes_that_do_not_match_the_spec(tmp_path):
    """Saving a genome of the wrong size names the offending array."""
    with pytest.raises(ValueError, match="params has shape"):
        _saved(tmp_path, params=np.zeros(SPEC.num_params - 1))
    with pytest.raises(ValueError, match="log_sigma has shape"):
        _saved(tmp_path, log_sigma=np.zeros(2))


def _rewrite_header(path: Path, edit) -> None:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])


def test_load_refuses_a_wrong_schema_version(tmp_path):
    """A file from a future schema is refused with a one-line message."""
    path = _saved(tmp_path)
    _rewrite_header(path, lambda h: h["__metadata__"].update(schema_version="99"))
    with pytest.raises(ValueError, match="schema version '99'") as info:
        load_genome(path)
    assert "\n" not in str(info.value)


def test_load_refuses_a_shape_mismatch_with_the_stored_spec(tmp_path):
    """A spec edited to disagree with the stored arrays is caught."""
    path = _saved(tmp_path)

    def widen(header):
        spec = json.loads(header["__metadata__"]["spec"])
        spec["obs_dim"] += 1
        header["__metadata__"]["spec"] = json.dumps(spec)
        layout = PolicySpec.from_json(spec).layout().to_json()
        header["__metadata__"]["layout"] = json.dumps(layout)

    _rewrite_header(path, widen)
    with pytest.raises(ValueError, match="params has shape") as info:
        load_genome(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_load_refuses_a_truncated_file(tmp_path, keep):
    """A partly written file is a ValueError, never garbage arrays."""
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError) as info:
        load_genome(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_load_refuses_random_bytes(tmp_path):
    """Corrupt content gives a ValueError."""
    path = tmp_path / "junk.safetensors"
    path.write_bytes(struct.pack("<Q", 16) + b"{not json at all" + b"\x00" * 32)
    with pytest.raises(ValueError, match="not valid JSON"):
        load_genome(path)


class _CreatesMarker:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_renamed_to_safetensors_is_refused_and_never_executed(tmp_path):
    """Loading a malicious pickle raises ValueError and does not run its payload."""
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"params": _CreatesMarker(marker)})
    for name, data in {
        "plain.safetensors": payload,
        # a pickle hidden after a plausible header length, and one after a valid header
        "prefixed.safetensors": struct.pack("<Q", len(payload) - 8) + payload,
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError):
            load_genome(path)
    good = _saved(tmp_path).read_bytes()
    (tmp_path / "tail.safetensors").write_bytes(good + payload)
    with pytest.raises(ValueError, match="corrupt tensor data"):  # trailing bytes
        load_genome(tmp_path / "tail.safetensors")
    assert not marker.exists()
    # The payload is live, shown without running it: it calls a global (builtins.open).
    opcodes = {op.name for op, _, _ in pickletools.genops(payload)}
    assert {"STACK_GLOBAL", "REDUCE"} <= opcodes


def test_policies_do_not_import_envs_mujoco_or_gymnasium():
    """The evaluator is the only place where tasks meet policies (ARCHITECTURE.md)."""
    code = (
        "import sys, pbml_control.policies; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('mujoco', 'gymnasium') "
        "or m.startswith('pbml_control.envs')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
