"""config.py: where the thresholds come from, what may override them, and what is refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Final

import pytest

from value_diag.config import ConfigError, Effective, describe, load
from value_diag.health import DEFAULT_THRESHOLDS, Thresholds

SPEC_DEFAULTS: Final = {
    ("v_return_correlation", "excellent"): 0.8,
    ("v_return_correlation", "warning"): 0.5,
    ("v_return_correlation", "critical"): 0.3,
    ("td_error_mean", "warning"): 5.0,
    ("td_error_mean", "critical"): 15.0,
    ("bellman_error", "warning"): 20.0,
    ("bellman_error", "critical"): 50.0,
    ("return_skewness", "warning"): 1.0,
    ("return_skewness", "critical"): 2.0,
    ("return_variance", "warning"): 100.0,
    ("return_spread", "warning"): 50.0,
    ("explained_variance", "warning"): 0.3,
    ("explained_variance", "critical"): 0.0,
    ("low_return_variance", "floor"): 1.0,
    ("calib_corr", "warning"): 0.6,
    ("compile", "eager"): "warning",
    ("gate", "warmup"): 0,
    ("gate", "persist"): 1,
}
"""The issue's table of defaults, written out here (not read from the product)."""

PYPROJECT_TABLE: Final = "[tool.value-diag.thresholds]"
OWN_TABLE: Final = "[thresholds]"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def own_file(cwd: Path, body: str) -> Path:
    """./value-diag.toml holding a [thresholds] table."""
    return write(cwd / "value-diag.toml", f"{OWN_TABLE}\n{body}\n")


def pyproject(cwd: Path, body: str) -> Path:
    """./pyproject.toml holding a project table and a [tool.value-diag.thresholds] table."""
    return write(
        cwd / "pyproject.toml", f'[project]\nname = "trainer"\n\n{PYPROJECT_TABLE}\n{body}\n'
    )


def table(effective: Effective) -> dict[tuple[str, str], float | str]:
    return {(metric, level): value for metric, level, value, _ in describe(effective)}


def sources(effective: Effective) -> dict[tuple[str, str], str]:
    return {(metric, level): source for metric, level, _, source in describe(effective)}


def bellman_warning(effective: Effective) -> float:
    return effective.thresholds.bellman_warning


# --- defaults and precedence ---------------------------------------------------------------


def test_no_file_gives_the_spec_defaults(tmp_path: Path) -> None:
    effective = load(None, cwd=tmp_path)
    assert effective.thresholds == DEFAULT_THRESHOLDS == Thresholds()
    assert table(effective) == SPEC_DEFAULTS
    assert list(table(effective)) == list(SPEC_DEFAULTS), "describe() keeps the table order"
    assert set(sources(effective).values()) == {"default"}


def test_precedence_explicit_then_pyproject_then_own_file(tmp_path: Path) -> None:
    own_file(tmp_path, "bellman_error = { warning = 21 }")
    assert bellman_warning(load(None, cwd=tmp_path)) == 21

    pyproject(tmp_path, "bellman_error = { warning = 22 }")
    assert bellman_warning(load(None, cwd=tmp_path)) == 22, "pyproject.toml before value-diag.toml"

    (tmp_path / "elsewhere").mkdir()
    explicit = own_file(tmp_path / "elsewhere", "bellman_error = { warning = 23 }")
    assert bellman_warning(load(str(explicit), cwd=tmp_path)) == 23, "--config before both"


def test_the_first_file_found_is_used_whole_not_merged(tmp_path: Path) -> None:
    """value-diag.toml's bellman value is not picked up when pyproject.toml has the table."""
    own_file(tmp_path, "bellman_error = { warning = 30, critical = 60 }")
    pyproject(tmp_path, "td_error_mean = { warning = 6 }")
    effective = load(None, cwd=tmp_path)
    assert effective.thresholds == dataclasses.replace(DEFAULT_THRESHOLDS, td_mean_warning=6.0)


def test_explicit_config_ignores_the_working_directory(tmp_path: Path) -> None:
    pyproject(tmp_path, "bellman_error = { warning = 22 }")
    own_file(tmp_path, "td_error_mean = { warning = 7 }")
    explicit = write(tmp_path / "ci.toml", "[thresholds]\nreturn_spread = { warning = 80 }\n")
    effective = load(str(explicit), cwd=tmp_path)
    assert effective.thresholds == dataclasses.replace(DEFAULT_THRESHOLDS, spread_warning=80.0)


def test_explicit_config_may_be_a_pyproject_style_file(tmp_path: Path) -> None:
    explicit = write(
        tmp_path / "other.toml", f"{PYPROJECT_TABLE}\nbellman_error = {{ warning = 24 }}\n"
    )
    assert bellman_warning(load(str(explicit), cwd=tmp_path / "nowhere")) == 24


@pytest.mark.parametrize(
    "content",
    [
        '[project]\nname = "trainer"\n',
        "[tool.ruff]\nline-length = 100\n",
        "[tool.value-diag]\n",
    ],
    ids=["no-tool", "other-tool", "empty-section"],
)
def test_pyproject_without_the_table_falls_through_to_own_file(
    tmp_path: Path, content: str
) -> None:
    write(tmp_path / "pyproject.toml", content)
    assert load(None, cwd=tmp_path).thresholds == DEFAULT_THRESHOLDS
    own = own_file(tmp_path, "bellman_error = { warning = 25 }")
    effective = load(None, cwd=tmp_path)
    assert bellman_warning(effective) == 25
    assert sources(effective)[("bellman_error", "warning")].startswith(f"{own}: ")


def test_own_file_without_the_table_gives_defaults(tmp_path: Path) -> None:
    write(tmp_path / "value-diag.toml", "# nothing here yet\n")
    assert load(None, cwd=tmp_path).thresholds == DEFAULT_THRESHOLDS


# --- subsets and describe() ----------------------------------------------------------------

SUBSETS: Final = [
    ("return_spread = { warning = 80 }", {"spread_warning": 80.0}),
    ("return_variance = { warning = 1e4 }", {"variance_warning": 1e4}),
    ("bellman_error = { critical = 500 }", {"bellman_critical": 500.0}),
    (
        "bellman_error = { warning = 200, critical = 500 }\ntd_error_mean = { critical = 40 }",
        {"bellman_warning": 200.0, "bellman_critical": 500.0, "td_mean_critical": 40.0},
    ),
    (
        "v_return_correlation = { excellent = 0.9, warning = 0.6, critical = 0.1 }",
        {"corr_excellent": 0.9, "corr_warning": 0.6, "corr_critical": 0.1},
    ),
    ("v_return_correlation = { critical = -0.5 }", {"corr_critical": -0.5}),
    (
        "return_skewness = { warning = 0, critical = 0 }",
        {"skew_warning": 0.0, "skew_critical": 0.0},
    ),
    ("", {}),
]


@pytest.mark.parametrize(("body", "changed"), SUBSETS, ids=[str(i) for i in range(len(SUBSETS))])
def test_any_subset_overrides_and_the_rest_keep_defaults(
    tmp_path: Path, body: str, changed: dict[str, float]
) -> None:
    own_file(tmp_path, body)
    effective = load(None, cwd=tmp_path)
    assert effective.thresholds == dataclasses.replace(DEFAULT_THRESHOLDS, **changed)


def test_integers_are_read_as_numbers(tmp_path: Path) -> None:
    own_file(tmp_path, "bellman_error = { warning = 60, critical = 200 }")
    t = load(None, cwd=tmp_path).thresholds
    assert (t.bellman_warning, t.bellman_critical) == (60.0, 200.0)
    assert isinstance(t.bellman_warning, float)


@pytest.mark.parametrize("where", ["explicit", "pyproject", "own"])
def test_describe_names_the_source_of_each_value(tmp_path: Path, where: str) -> None:
    body = "bellman_error = { critical = 500 }\nv_return_correlation = { warning = 0.4 }"
    if where == "explicit":
        path = write(tmp_path / "ci.toml", f"{OWN_TABLE}\n{body}\n")
        effective, prefix = load(str(path), cwd=tmp_path), "thresholds"
    elif where == "pyproject":
        path = pyproject(tmp_path, body)
        effective, prefix = load(None, cwd=tmp_path), "tool.value-diag.thresholds"
    else:
        path = own_file(tmp_path, body)
        effective, prefix = load(None, cwd=tmp_path), "thresholds"
    got = sources(effective)
    overridden = {("bellman_error", "critical"), ("v_return_correlation", "warning")}
    for key in overridden:
        metric, level = key
        assert got[key] == f"{path}: {prefix}.{metric}.{level}"
    assert {got[key] for key in SPEC_DEFAULTS if key not in overridden} == {"default"}
    values = table(effective)
    assert values[("bellman_error", "critical")] == 500
    assert values[("v_return_correlation", "warning")] == 0.4
    assert values[("bellman_error", "warning")] == 20


# --- refused configs -----------------------------------------------------------------------

BAD_BODIES: Final = [
    pytest.param("bellman_eror = { warning = 30 }", "bellman_eror", id="unknown-metric"),
    pytest.param("td_error_std = { warning = 3 }", "td_error_std", id="metric-without-levels"),
    pytest.param("bellman_error = { warn = 30 }", "bellman_error.warn", id="unknown-level"),
    pytest.param(
        "return_variance = { critical = 300 }", "return_variance.critical", id="level-not-offered"
    ),
    pytest.param('bellman_error = { warning = "30" }', "bellman_error.warning", id="string"),
    pytest.param("bellman_error = { warning = true }", "bellman_error.warning", id="bool"),
    pytest.param("bellman_error = { warning = { x = 1 } }", "bellman_error.warning", id="table"),
    pytest.param("bellman_error = { warning = [30] }", "bellman_error.warning", id="array"),
    pytest.param("bellman_error = 30", "bellman_error", id="metric-not-a-table"),
    pytest.param("bellman_error = { warning = nan }", "bellman_error.warning", id="nan"),
    pytest.param("bellman_error = { critical = inf }", "bellman_error.critical", id="inf"),
    pytest.param("return_spread = { warning = -inf }", "return_spread.warning", id="-inf"),
    pytest.param("td_error_mean = { warning = -1 }", "td_error_mean.warning", id="negative-td"),
    pytest.param(
        "return_skewness = { warning = -0.5, critical = 2 }",
        "return_skewness.warning",
        id="negative-skew",
    ),
    pytest.param(
        "bellman_error = { warning = 100, critical = 20 }",
        "bellman_error.critical",
        id="bellman-critical-below-warning",
    ),
    pytest.param(
        "bellman_error = { warning = 60 }",
        "bellman_error",
        id="bellman-warning-above-default-critical",
    ),
    pytest.param(
        "td_error_mean = { warning = 10, critical = 8 }",
        "td_error_mean.critical",
        id="td-critical-below-warning",
    ),
    pytest.param(
        "return_skewness = { critical = 0.5 }",
        "return_skewness",
        id="skew-critical-below-default-warning",
    ),
    pytest.param(
        "v_return_correlation = { excellent = 0.6, warning = 0.7 }",
        "v_return_correlation.warning",
        id="corr-warning-above-excellent",
    ),
    pytest.param(
        "v_return_correlation = { warning = 0.4, critical = 0.45 }",
        "v_return_correlation.critical",
        id="corr-critical-above-warning",
    ),
]


@pytest.mark.parametrize(("body", "key"), BAD_BODIES)
@pytest.mark.parametrize("where", ["own", "pyproject", "explicit"])
def test_bad_values_are_refused_naming_file_and_key(
    tmp_path: Path, body: str, key: str, where: str
) -> None:
    if where == "own":
        path, prefix, explicit = own_file(tmp_path, body), "thresholds", None
    elif where == "pyproject":
        path, prefix, explicit = pyproject(tmp_path, body), "tool.value-diag.thresholds", None
    else:
        path = write(tmp_path / "ci.toml", f"{OWN_TABLE}\n{body}\n")
        prefix, explicit = "thresholds", str(path)
    with pytest.raises(ConfigError) as caught:
        load(explicit, cwd=tmp_path)
    message = str(caught.value)
    assert str(path) in message, message
    assert f"{prefix}.{key}" in message, message
    assert "\n" not in message


def test_thresholds_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "value-diag.toml", "thresholds = 5\n")
    with pytest.raises(ConfigError, match="thresholds") as caught:
        load(None, cwd=tmp_path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("name", ["pyproject.toml", "value-diag.toml", "explicit.toml"])
def test_invalid_toml_is_refused_naming_the_file(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, "[tool.value-diag.thresholds\nbellman_error = {warning = }\n")
    explicit = str(path) if name == "explicit.toml" else None
    with pytest.raises(ConfigError) as caught:
        load(explicit, cwd=tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert "TOML" in message


def test_pyproject_that_never_names_us_is_not_read(tmp_path: Path) -> None:
    """Another project's pyproject.toml is its own business, even when it is broken."""
    write(tmp_path / "pyproject.toml", "[thresholds\nnot toml at all\n")
    own_file(tmp_path, "bellman_error = { warning = 21 }")
    effective = load(None, cwd=tmp_path)
    assert effective.thresholds.bellman_warning == 21


def test_missing_explicit_file_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such.toml"
    own_file(tmp_path, "bellman_error = { warning = 21 }")  # not a fallback for --config
    with pytest.raises(ConfigError) as caught:
        load(str(missing), cwd=tmp_path)
    assert str(missing) in str(caught.value)


@pytest.mark.parametrize(
    "content",
    ["", "[threshold]\nbellman_error = { warning = 30 }\n", "[tool.value-diag]\nx = 1\n"],
    ids=["empty", "misspelt-table", "section-without-thresholds"],
)
def test_explicit_file_without_a_thresholds_table_is_refused(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "ci.toml", content)
    with pytest.raises(ConfigError) as caught:
        load(str(path), cwd=tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert "thresholds" in message


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        ("value-diag.toml", "[threshold]\nbellman_error = { warning = 30 }\n", "threshold"),
        (
            "pyproject.toml",
            "[tool.value-diag.threshold]\nbellman_error = { warning = 30 }\n",
            "threshold",
        ),
    ],
    ids=["own-file", "pyproject"],
)
def test_misspelt_table_in_a_found_file_is_refused(
    tmp_path: Path, name: str, content: str, key: str
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(ConfigError) as caught:
        load(None, cwd=tmp_path)
    assert str(path) in str(caught.value)
    assert key in str(caught.value)
