"""The CRITIC CALIBRATION block: read from every shape, judged, drawn in every format."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import SAMPLES, invoke, run_cli
from telemetry import EXAMPLE, EXAMPLE_LINES, dumps, flat, ppo

from value_diag import health
from value_diag.health import Level, Mark, Rules, calibration
from value_diag.ingest.parse import Record, parse
from value_diag.schema import CRITIC_FIELDS

CRITIC: Final = {
    "explained_variance": 0.62,
    "value_mean": 24.25,
    "value_std": 8.5,
    "value_min": -3.0,
    "value_max": 47.5,
}
CRITIC_VALUES: Final = tuple(CRITIC.values())
BLOCK: Final = [
    "",
    "CRITIC CALIBRATION",
    "V-Corr    0.87↗     EV (fit)  0.62",
    "TD Mean   +2.4      TD Std    8.1",
    "Bellman   12.3      V-Span    50.5",
    "V-Mean    +24.2     V-Std     8.5",
    "Calib     ok",
]
"""esper-lite's layout (labels 10 wide, values 8, gap 2) for the spec example and CRITIC."""


def once(path: Path, *args: str) -> Any:
    return invoke(["once", str(path), *args])


def lines_of(proc: Any) -> list[str]:
    return [line.rstrip() for line in proc.stdout.decode("utf-8").splitlines()]


def write(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        flat({**EXAMPLE, **CRITIC}),
        ppo({**EXAMPLE, **CRITIC}),
        dumps({"tamiyo": {"value_function": EXAMPLE, **CRITIC}}),
    ],
    ids=["flat", "esper", "snapshot"],
)
def test_every_shape_gives_the_critics_five(line: bytes) -> None:
    parsed = parse(line)
    assert isinstance(parsed, Record)
    assert parsed.critic == CRITIC_VALUES


def test_a_line_without_them_has_no_critic_and_null_is_not_reported() -> None:
    parsed = parse(flat(EXAMPLE))
    assert isinstance(parsed, Record) and parsed.critic is None
    partial = parse(flat({**EXAMPLE, "explained_variance": None, "value_mean": 1}))
    assert isinstance(partial, Record)
    assert partial.critic == (None, 1.0, None, None, None)


def test_bare_nan_tokens_in_critic_fields_are_numbers() -> None:
    parsed = parse(b'{"return_p10": 1, "explained_variance": NaN, "value_max": Infinity}')
    assert isinstance(parsed, Record) and parsed.critic is not None
    ev = parsed.critic[0]
    assert ev is not None and math.isnan(ev)
    assert parsed.critic[4] == math.inf


def test_producer_writes_the_names_schema_reads() -> None:
    from value_diag.producer import metrics

    assert metrics.CRITIC_FIELDS is CRITIC_FIELDS


# --- judging -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "word"),
    [
        ((Level.OK, Level.OK, Level.OK, Level.OK), "ok"),
        ((Level.OK, Level.WARNING, Level.OK, Level.OK), "weak"),
        ((Level.WARNING, Level.OK, Level.OK, Level.CRITICAL), "bad"),
        ((Level.OK, Level.NO_DATA, Level.OK, Level.OK), "ok"),
        ((Level.INFO, Level.INFO, Level.INFO, Level.INFO), "n/a"),
    ],
)
def test_calib_is_bad_weak_or_ok(levels: tuple[Level, ...], word: str) -> None:
    mark = calibration([Mark(level) for level in levels])
    assert health.CALIB_WORDS[mark.level] == word


@pytest.mark.parametrize(
    ("ev", "level"),
    [(0.97, Level.OK), (0.3, Level.OK), (0.29, Level.WARNING), (0.0, Level.CRITICAL),
     (-0.4, Level.CRITICAL), (math.nan, Level.CRITICAL)],
)  # fmt: skip
def test_explained_variance_levels(ev: float, level: Level) -> None:
    assert health.explained_variance(ev).level is level


def test_ev_counts_toward_the_status_only_with_critic(tmp_path: Path) -> None:
    run = write(tmp_path / "run.jsonl", flat({**EXAMPLE, **CRITIC, "explained_variance": -0.4}))
    plain = once(run, "--fail-on", "critical", "-f", "json")
    assert plain.returncode == 0, plain.stderr
    judged = once(run, "--fail-on", "critical", "--critic")
    assert judged.returncode == 1
    assert b"EV" in judged.stderr


# --- drawing -------------------------------------------------------------------------------


def test_the_default_panel_is_the_seeds_even_with_critic_fields(tmp_path: Path) -> None:
    run = write(tmp_path / "run.jsonl", flat({**EXAMPLE, **CRITIC}))
    assert lines_of(once(run))[1:] == [*EXAMPLE_LINES[:4], "Compile   not reported"]


def test_critic_block_in_esper_layout(tmp_path: Path) -> None:
    run = write(
        tmp_path / "run.jsonl",
        flat({**EXAMPLE, **CRITIC}),
        b'{"compile_enabled": true, "compile_backend": "inductor",'
        b' "compile_mode": "reduce-overhead"}',
    )
    proc = once(run, "--critic")
    assert proc.returncode == 0, proc.stderr
    assert lines_of(proc)[1:] == EXAMPLE_LINES + BLOCK


def test_critic_not_reported_shows_dashes_and_json_nulls(tmp_path: Path) -> None:
    run = write(tmp_path / "run.jsonl", flat(EXAMPLE))
    text = lines_of(once(run, "--critic"))
    assert "EV (fit)  —" in text[8]
    assert text[10].endswith("V-Span    —")
    got = json.loads(once(run, "-f", "json").stdout)
    critic = got["critic"]
    assert set(critic) == {*CRITIC_FIELDS, "value_span", "value_fit", "calib"}
    for name in (*CRITIC_FIELDS, "value_span"):
        assert critic[name] == {"value": None, "level": "no_data"}


def test_json_carries_the_critic_block(tmp_path: Path) -> None:
    run = write(tmp_path / "run.jsonl", ppo({**EXAMPLE, **CRITIC}))
    critic = json.loads(once(run, "-f", "json").stdout)["critic"]
    assert critic["explained_variance"] == {"value": 0.62, "level": "ok"}
    assert critic["value_span"] == {"value": 50.5, "level": "info"}
    assert critic["calib"] == {"value": "ok", "level": "ok"}


def test_a_new_run_clears_the_critic(tmp_path: Path) -> None:
    run = write(
        tmp_path / "run.jsonl",
        ppo({**EXAMPLE, **CRITIC}),
        dumps({"event_type": "TRAINING_STARTED", "data": {}}),
    )
    critic = json.loads(once(run, "-f", "json").stdout)["critic"]
    assert critic["explained_variance"]["level"] == "no_data"


def test_markdown_github_and_compare_carry_it(tmp_path: Path) -> None:
    bad = {**EXAMPLE, **CRITIC, "explained_variance": 0.1}
    run = write(tmp_path / "run.jsonl", flat(bad))
    md = once(run, "--critic", "-f", "markdown").stdout.decode()
    assert "| EV | 0.1 | **warning** |" in md
    assert "| Calib | weak | **warning** |" in md
    gh = once(run, "--critic", "-f", "github").stdout.decode()
    assert "EV 0.1 (warning)" in gh
    assert "EV" not in once(run, "-f", "markdown").stdout.decode(), "only with --critic"
    table = invoke(["once", str(run), str(run), "--compare", "--critic"]).stdout.decode()
    header = next(line for line in table.splitlines() if "status" in line)
    assert all(word in header.split() for word in ("EV", "V-Mean", "V-Std", "V-Span", "Calib"))


def test_trend_draws_the_ev_sparkline(tmp_path: Path) -> None:
    lines = [flat({**EXAMPLE, **CRITIC, "explained_variance": i / 10}) for i in range(8)]
    run = write(tmp_path / "run.jsonl", *lines)
    text = lines_of(once(run, "--critic", "--trend"))
    ev_line = text[8]
    assert ev_line.startswith("V-Corr"), ev_line
    assert re.search(r" EV +▁▂▃▄▅▆▇█ 0–0\.7 +warn <0\.3$", ev_line), ev_line
    got = json.loads(once(run, "--critic", "--trend", "-f", "json").stdout)
    assert got["history"]["explained_variance"] == [i / 10 for i in range(8)]


def test_watch_draws_the_block(tmp_path: Path) -> None:
    from conftest import clean_env

    run = write(tmp_path / "run.jsonl", flat({**EXAMPLE, **CRITIC}))
    proc = run_cli(["watch", "-", "--critic"], input=run.read_bytes(), env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert [line for line in lines_of(proc) if line][-6:] == BLOCK[1:]


# --- compile: eager on purpose --------------------------------------------------------------


@pytest.mark.parametrize(("word", "status", "code"), [("ok", "ok", 0), ("info", "ok", 0),
                         ("warning", "warning", 1), ("critical", "critical", 1)])  # fmt: skip
def test_eager_level_comes_from_the_config(
    tmp_path: Path, word: str, status: str, code: int
) -> None:
    healthy = {**EXAMPLE, "return_p10": 20.0, "return_p90": 60.0, "return_variance": 50.0}
    run = write(tmp_path / "run.jsonl", flat(healthy), b'{"compile_enabled": false}')
    config = tmp_path / "ci.toml"
    config.write_text(f'[thresholds]\ncompile = {{ eager = "{word}" }}\n', encoding="utf-8")
    proc = once(run, "--config", str(config), "--fail-on", "warning", "-f", "json")
    assert proc.returncode == code, proc.stderr
    got = json.loads(proc.stdout)
    assert got["status"] == status
    assert got["infrastructure"]["level"] == word
    shown = invoke(["thresholds", "--config", str(config)]).stdout.decode()
    row = next(line for line in shown.splitlines() if line.startswith("compile"))
    assert row.split()[:3] == ["compile", "eager", word]
    assert row.endswith(f"{config}: thresholds.compile.eager")


@pytest.mark.parametrize(
    "body", ['compile = { eager = "fine" }', "compile = { eager = 1 }", 'compile = { lazy = "ok" }']
)
def test_a_bad_eager_entry_is_refused(tmp_path: Path, body: str) -> None:
    config = tmp_path / "ci.toml"
    config.write_text(f"[thresholds]\n{body}\n", encoding="utf-8")
    proc = invoke(["thresholds", "--config", str(config)])
    assert proc.returncode == 2
    assert b"thresholds.compile" in proc.stderr


def test_default_rules_judge_eager_as_a_warning() -> None:
    assert health.compile_status(False).level is Level.WARNING
    assert health.compile_status(False, Rules(eager=Level.OK)).level is Level.OK


def test_the_bundled_esper_samples_of_todays_format_show_the_block() -> None:
    """esper's current PPO payload carries the critic: the samples show it with --critic."""
    healthy = invoke(["once", str(SAMPLES / "healthy.jsonl"), "--critic"])
    assert healthy.returncode == 0, healthy.stderr
    text = healthy.stdout.decode()
    block = text[text.index("CRITIC CALIBRATION") :].splitlines()
    assert block[1].startswith("V-Corr    0.91") and "EV (fit)  0.79" in block[1], block
    assert block[-1] == "Calib     ok", block
    ab = invoke(["once", str(SAMPLES / "ab" / "events.jsonl"), "--critic", "-f", "json"])
    runs = {
        f["source"].rsplit("#", 1)[1]: f["critic"] for f in map(json.loads, ab.stdout.splitlines())
    }
    assert runs["A"]["calib"]["value"] == "ok" and runs["B"]["calib"]["value"] == "bad", runs
    assert all(isinstance(runs["A"][k]["value"], float) for k in CRITIC_FIELDS)
