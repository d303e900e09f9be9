"""The per-example gradient helper for LGC."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fennec.scores import create_scorer  # noqa: E402
from fennec.scores.gradients import per_example_grads  # noqa: E402


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def test_matches_a_loop_of_autograd_calls() -> None:
    model = _model()
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(1))
    got = per_example_grads(model, x, batch_size=3)
    assert got.shape == (7, 8 * 3 + 3) and got.dtype == np.float64
    head = model[2]
    for i in range(7):
        model.zero_grad()
        out = model(x[i:i + 1])[0]
        torch.log_softmax(out, dim=-1)[out.argmax()].backward()
        expected = torch.cat([head.weight.grad.reshape(-1), head.bias.grad]).numpy()
        np.testing.assert_allclose(got[i], expected, rtol=1e-5, atol=1e-6)


def test_sum_logits_target_and_chosen_layers() -> None:
    model = _model()
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(2))
    got = per_example_grads(model, x, layers=[model[0]], target="sum_logits")
    assert got.shape == (4, 5 * 8 + 8)
    model.zero_grad()
    model(x[:1]).sum().backward()
    np.testing.assert_allclose(got[0, :40], model[0].weight.grad.reshape(-1).numpy(), rtol=1e-5, atol=1e-6)
    assert model.training  # the helper restores the mode it found


def test_gradients_of_class_structured_inputs_score_higher_with_lgc() -> None:
    # The same network on inputs clustered by class vs on pure noise: the gradient kernel of the former
    # aligns with the labels.
    model = _model()
    gen = torch.Generator().manual_seed(3)
    labels = torch.arange(3).repeat_interleave(20)
    noise = torch.randn(60, 5, generator=gen)
    clustered = noise + torch.nn.functional.one_hot(labels, 5).float() * 4
    lgc = create_scorer("lgc")
    for target in ("log_prob_pred", "sum_logits"):
        good = lgc.score(grads=per_example_grads(model, clustered, target=target), labels=labels.numpy())
        bad = lgc.score(grads=per_example_grads(model, noise, target=target), labels=labels.numpy())
        assert good > bad + 0.05, (target, good, bad)
