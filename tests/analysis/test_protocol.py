"""advgeom.analysis.protocol: the protocol's checks, its perturbations, the exemplar inputs."""

from __future__ import annotations

import pytest
import torch

from advgeom.analysis.protocol import (
    Protocol,
    attack_restarts_for,
    attack_steps_for,
    exemplar_images,
    perturb,
    random_perturbation,
)
from advgeom.data import load_fashion_mnist
from advgeom.zoo import build_network


@pytest.mark.parametrize("norm, p", [("linf", float("inf")), ("l2", 2), ("l1", 1)])
def test_random_perturbation_has_the_requested_norm(norm: str, p: float) -> None:
    x = torch.full((4, 1, 8, 8), 0.5)
    delta = random_perturbation(x, norm, 0.1, seed=0) - x
    torch.testing.assert_close(delta.flatten(1).norm(p=p, dim=1), torch.full((4,), 0.1), rtol=1e-4, atol=1e-6)


def test_protocol_validation() -> None:
    with pytest.raises(ValueError, match="manifold='points'"):
        Protocol(manifold="points")
    with pytest.raises(ValueError, match="repeats >= 2"):
        Protocol(manifold="exemplar", repeats=1)
    with pytest.raises(ValueError, match="norm="):
        Protocol(norm="l3")
    with pytest.raises(ValueError, match="schedule='cosine'"):
        Protocol(schedule="cosine")


def test_protocol_key_names_a_step_schedule_only_when_not_constant() -> None:
    """Constant steps keep the key every entry had before schedules were a field."""
    assert "schedule" not in Protocol().key() and Protocol(schedule="linear").key()["schedule"] == "linear"


def test_protocol_key_leaves_out_the_image_bounds_only() -> None:
    assert "bounds" not in Protocol().key()
    assert Protocol(bounds=(-1.0, 1.0)).key()["bounds"] == (-1.0, 1.0)
    assert Protocol(eps=0.1).key() != Protocol().key()


def test_exemplar_perturbation_repeats_each_input() -> None:
    x, y = torch.rand(3, 1, 4, 4), torch.tensor([0, 1, 2])
    protocol = Protocol(manifold="exemplar", repeats=4, eps=0.1, perturbation="random")
    out = perturb(torch.nn.Identity(), x, y, protocol)
    assert out.shape == (12, 1, 4, 4)
    centres = out.view(3, 4, -1).mean(1)
    assert torch.allclose(centres, x.flatten(1), atol=0.1)  # every copy stays within eps of its own image
    assert torch.equal(perturb(torch.nn.Identity(), x, y, Protocol(manifold="exemplar", repeats=2)),
                       x.repeat_interleave(2, dim=0))  # fmt: skip


def test_attack_steps_for_gives_deterministic_models_their_own_steps() -> None:
    torch.manual_seed(0)
    standard, vone = build_network("standard"), build_network("vone")
    assert attack_steps_for(standard, 20, 80) == 80 and attack_steps_for(vone, 20, 80) == 20
    assert attack_steps_for(standard, 20) == attack_steps_for(standard, 20, None) == 20
    with pytest.raises(ValueError, match="deterministic_steps=0 is too small"):
        attack_steps_for(standard, 20, 0)


def test_attack_restarts_for_restarts_only_deterministic_models() -> None:
    torch.manual_seed(0)
    standard, vone = build_network("standard"), build_network("vone")
    assert attack_restarts_for(standard, 4) == 4 and attack_restarts_for(vone, 4) == 1
    assert attack_restarts_for(standard) == 1
    with pytest.raises(ValueError, match="deterministic_restarts=0 is too small"):
        attack_restarts_for(standard, 0)


def test_exemplar_images_are_spread_over_the_classes_and_seeded() -> None:
    data = load_fashion_mnist("test")
    x, y = exemplar_images(data, 12, 10, seed=100)
    assert x.shape == (12, 1, 28, 28) and len(set(y.tolist())) == 10  # the classes take turns
    again, _ = exemplar_images(data, 12, 10, seed=100)
    other, _ = exemplar_images(data, 12, 10, seed=101)
    assert torch.equal(x, again) and not torch.equal(x, other)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: Protocol(norm="l3"), "norm='l3' is not allowed"),
        (lambda: Protocol(eps=-0.1), "eps=-0.1 is too small"),
        (lambda: Protocol(n_t=2.5), "n_t must be an integer"),
    ],
)
def test_bad_values_are_named(call, fragment) -> None:
    with pytest.raises(ValueError) as err:
        call()
    assert fragment in str(err.value)
