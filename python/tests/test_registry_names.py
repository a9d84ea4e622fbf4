"""torchcdat reads what the C++ core declares once (issue 26): the names of directions and tuners from its registry,
a tuner's own values in last_stats from Tuner::report_names(), and CDAT's safeguards from cdat::cdat_safeguards()."""
import math

import pytest
import torch

import torchcdat
from torchcdat import _C
from torchcdat.options import as_direction, as_tuner, options_dict


def test_every_registered_name_is_accepted_and_others_are_refused_with_the_registry_list(monkeypatch):
    assert torchcdat.direction_names() == list(_C.direction_names())
    assert torchcdat.tuner_names() == list(_C.tuner_names())
    # a name the C++ registry lists (one registered in C++ would be listed there too) needs no Python class
    monkeypatch.setattr(_C, "direction_names", lambda: ["gd", "sign"])
    monkeypatch.setattr(_C, "tuner_names", lambda: ["cdat", "polyak"])
    sign = as_direction("sign")
    assert isinstance(sign, torchcdat.Direction) and sign.name == "sign"
    polyak = as_tuner("polyak")
    assert isinstance(polyak, torchcdat.RegisteredTuner) and polyak.name == "polyak"
    with pytest.raises(torchcdat.InvalidOption, match="direction must be one of gd, sign or a torchcdat.Direction"):
        as_direction("adam")
    with pytest.raises(torchcdat.InvalidOption, match="tuner must be one of cdat, polyak or a torchcdat.Tuner"):
        as_tuner("linesearch")


def test_a_registered_tuners_options_reach_the_core_which_judges_their_names():
    tuner = torchcdat.RegisteredTuner("cdat", fstar=0.5)  # cdat's entry takes no extra options
    assert tuner.options.extra == {"fstar": 0.5}
    params = [torch.zeros(2, dtype=torch.float64, requires_grad=True)]
    with pytest.raises(torchcdat.InvalidOption, match="tuner 'cdat' has no option 'fstar' \\(it takes none\\)"):
        torchcdat.TunedOptimizer(params, tuner=tuner)


def test_the_docstring_lists_the_registry_names():
    for name in _C.direction_names() + _C.tuner_names():
        assert name in torchcdat.TunedOptimizer.__doc__


def step_stats(tuner):
    w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    optimizer = torchcdat.TunedOptimizer([w], tuner=tuner)
    optimizer.step(lambda: (w ** 2).sum())
    return optimizer.last_stats


def test_last_stats_has_the_tuners_own_values_and_the_shared_ones():
    shared = {"step", "loss", "lr", "slope", "curvature", "grad_norm", "direction_norm", "trials", "search_failed",
              "non_descent", "actual_change", "curvature_fallback", "reused_forward", "warning"}
    cdat = step_stats("cdat")
    assert set(cdat) == shared | {"numerator", "denominator", "curvature_floored", "growth_capped"}
    assert cdat["numerator"] == pytest.approx(-cdat["slope"])
    assert cdat["curvature_floored"] == 0.0 and cdat["growth_capped"] == 0.0
    assert set(step_stats("linesearch")) == shared  # the line search has no values of its own


def test_the_safeguards_table_gives_cdat_tuners_defaults_paper_rule_and_docstring():
    defaults = options_dict(torchcdat.CdatTuner().options.cdat)
    paper = options_dict(torchcdat.CdatTuner.paper_rule().options.cdat)
    table = _C.cdat_safeguards()
    assert [s["field"] for s in table] == ["loss_floor", "max_growth", "trust_check", "trust_ratio"]

    def value(text, like):
        return text if isinstance(like, str) else float(text)

    for s in table:
        assert value(s["default"], defaults[s["field"]]) == defaults[s["field"]], s["field"]
        assert value(s["paper_rule"], paper[s["field"]]) == paper[s["field"]], s["field"]
        line = f"{s['field']}: {s['summary']}; {s['range']}; default {s['default']}, paper rule {s['paper_rule']}"
        assert line in torchcdat.CdatTuner.__doc__
    assert math.isinf(paper["loss_floor"]) and paper["max_growth"] == 0.0 and paper["trust_check"] == "off"
