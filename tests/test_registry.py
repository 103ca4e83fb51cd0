"""The metric registry (value_diag/registry.py): every list of metrics the modules use is
drawn from it, so a metric added there shows in every view.

The proof: a fresh interpreter adds a metric to the registry before anything else is
imported, then finds it in health's rules, the config vocabulary, the styles, the table
rows, the --compare columns and their priority, and in the markdown and GitHub output of
a frame. A list written out by hand beside the registry would not have it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from value_diag import config, health, registry
from value_diag.render import compare, panel, styles
from value_diag.schema import VALUE_FIELDS

ADD_A_METRIC = textwrap.dedent(
    """
    import json
    from value_diag import registry
    from value_diag.registry import Metric, Rule, ScaleFree, Style

    new = Metric(
        "grad_norm",
        "G-Norm",
        ascii_label="G-Norm",
        row=99,
        column=75,
        ok_style=Style.CYAN,
        keys={"warning": "skew_warning"},
        absolute=True,
        scale_free=ScaleFree.INFO,
    )
    judged = Metric("kl_div", "KL", rule=Rule.SKEWNESS)
    registry.REGISTRY = (*registry.REGISTRY, new, judged)
    registry.BY_NAME = {m.name: m for m in registry.REGISTRY}

    from value_diag import config, health
    from value_diag.frame import Frame
    from value_diag.render import compare, github, markdown, panel, styles
    from value_diag.state import FoldState

    VALUES = (0.9, 1.0, 3.0, 4.0, 10.0, 30.0, 50.0, 25.0, 0.1)

    frame = Frame("run.jsonl", FoldState(values=VALUES, records=1))
    print(json.dumps({
        "rules": sorted(health.RULES),
        "shape": list(health.SHAPE),
        "config": config.CONFIG_KEYS.get("grad_norm"),
        "absolute": sorted(config.ABSOLUTE),
        "styles": styles.OK.get("grad_norm"),
        "rows": list(panel.METRICS),
        "labels": compare.labels(),
        "priority": list(compare.PRIORITY),
        "markdown": markdown.markdown(frame),
        "compare": markdown.compare_markdown([frame]),
        "github": sorted(github.levels(frame)),
    }))
    """
)


def test_a_metric_added_to_the_registry_shows_in_every_view() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ADD_A_METRIC], capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    assert "kl_div" in seen["rules"]
    assert "grad_norm" in seen["shape"]  # the scale-free preset shows it as information
    assert seen["config"] == {"warning": "skew_warning"}
    assert "grad_norm" in seen["absolute"]
    assert seen["styles"] == "cyan"
    assert seen["rows"][-1] == "grad_norm"
    assert "G-Norm" in seen["labels"]
    at = seen["priority"].index("G-Norm")
    assert seen["priority"][at - 1 : at + 2] == ["p90-p10", "G-Norm", "Skew"]
    assert "| G-Norm | — | no data |" in seen["markdown"]
    assert "| G-Norm |" in seen["compare"].splitlines()[2] + " |"
    assert "G-Norm" in seen["github"]


def test_the_lists_in_use_are_the_registrys() -> None:
    """What each module holds, in the registry's terms (and the spec's nine among them)."""
    assert list(panel.METRICS) == [m.name for m in registry.rows()]
    assert list(panel.CRITIC_METRICS) == [m.name for m in registry.critic_rows()]
    assert set(config.CONFIG_KEYS) == {m.name for m in registry.REGISTRY if m.keys}
    assert set(health.RULES) == {m.name for m in registry.REGISTRY if m.rule}
    assert set(health.RULES) >= set(VALUE_FIELDS)
    assert {label for label in compare.PRIORITY if label not in compare.OWN_PRIORITY} == set(
        registry.columns()
    )
    assert set(styles.OK) == {m.name for m in registry.REGISTRY if m.ok_style}
    assert panel.metric_label("return_variance") == "Ret σ"
    assert panel.metric_label("return_variance", ascii_only=True) == "Ret sigma"
