"""Threshold overrides: --config, else ./pyproject.toml, else ./value-diag.toml -> Thresholds."""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from value_diag.health import (
    DEFAULT_RULES,
    DEFAULT_THRESHOLDS,
    GATES,
    REASONS,
    SCALE_FREE_INFO,
    Level,
    Preset,
    Rules,
    Thresholds,
)
from value_diag.options import MAX_PERSIST, MAX_WARMUP
from value_diag.registry import REGISTRY, ScaleFree

PYPROJECT: Final = "pyproject.toml"
OWN_FILE: Final = "value-diag.toml"
DEFAULT_SOURCE: Final = "default"
OUR_TABLE: Final = "value-diag"
MISSPELT_TABLE: Final = "value_diag"
"""How [tool.value-diag] is often misspelt (after the Python package's name)."""
MENTIONS: Final = (OUR_TABLE.encode(), MISSPELT_TABLE.encode())
THRESHOLD: Final = b"threshold"
MENTION_BLOCK: Final = 1 << 20
"""Bytes read at a time when looking for our name in a pyproject.toml."""
LONGEST_KEY: Final = 64
"""Characters of a key from the file kept in a message; a longer one is cut in the middle."""
PRESET_OPTION: Final = "--preset"
"""The source of a preset chosen on the command line."""
GATE: Final = "gate"
"""The thresholds table's key (and the rows of `value-diag thresholds`) of --fail-on's
warm-up and persistence."""
INFO: Final = "info"
"""What `value-diag thresholds` shows for a metric the preset does not judge."""

# The vocabulary of a thresholds table, from the metric registry.
CONFIG_KEYS: Final[dict[str, dict[str, str]]] = {m.name: dict(m.keys) for m in REGISTRY if m.keys}
"""How a config file names each threshold: metric -> level -> the Thresholds field."""
LEVEL_KEYS: Final[dict[str, dict[str, str]]] = {
    m.name: dict(m.choices) for m in REGISTRY if m.choices
}
"""Config entries that name a level ("ok", "info", "warning", "critical"), not a number:
metric -> key -> the Rules field."""
PRESET_KEY: Final = "preset"
"""The config key (and Rules field) naming the preset."""
SCALE_FREE_ONLY: Final = {m.name: m.ratio for m in REGISTRY if m.scale_free is ScaleFree.RATIO}
"""Metric -> the config metric of its scale-free ratio, which the default preset does not use."""
SCALE_FREE_NEW: Final = frozenset(m.name for m in REGISTRY if m.scale_free is ScaleFree.ONLY)
"""Config metrics only the scale-free preset judges (information under the default)."""
NOT_SCALE_FREE: Final = frozenset(m.name for m in REGISTRY if m.scale_free is ScaleFree.NEVER)
"""Config metrics the scale-free preset does not use (it measures flatness otherwise)."""
NOT_LEVELS: Final = frozenset(key for m in REGISTRY for key in m.parameters)
"""Config keys that are parameters of a rule, not a level's threshold (no order check)."""
HIGHER_IS_HEALTHIER: Final = frozenset(m.name for m in REGISTRY if m.higher_is_healthier and m.keys)
"""Metrics whose alarms are below the threshold; for the others they are above."""
ABSOLUTE: Final = frozenset(m.name for m in REGISTRY if m.absolute and m.keys)
"""Metrics judged by an absolute value or a ratio of positives: a negative threshold makes
no sense."""


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Effective:
    """The thresholds in force and where each came from ("default" or "FILE: key")."""

    thresholds: Thresholds
    sources: dict[str, str]
    origin: str = DEFAULT_SOURCE
    """The file the thresholds were read from, or "default"."""
    warnings: tuple[str, ...] = ()
    """Tables in the file that look meant for us but are not read, one line each."""
    preset: Preset = DEFAULT_RULES.preset
    eager: Level = DEFAULT_RULES.eager
    explicit: frozenset[str] = frozenset()
    """The metrics whose thresholds the file set."""
    warmup: int | None = None
    persist: int | None = None
    """The gate's warm-up and persistence the file set (``gate = { warmup = N, persist = K }``),
    None for the preset's."""

    def rules(
        self,
        preset: Preset | None = None,
        critic: bool = False,
        *,
        max_age: float | None = None,
        warmup: int | None = None,
        persist: int | None = None,
    ) -> Rules:
        """What judges a frame: these thresholds, the preset (``preset`` from --preset if
        given, else the file's), the eager level, whether the critic block counts
        (``--critic``), ``max_age`` (--max-age), and the gate's ``warmup`` and ``persist``
        (the options', else those the file set, else the preset's)."""
        numbers = {f.name: getattr(self.thresholds, f.name) for f in dataclasses.fields(Thresholds)}
        return Rules(
            **numbers,
            eager=self.eager,
            preset=self.preset if preset is None else preset,
            explicit=self.explicit,
            critic=critic,
            max_age=max_age,
            warmup=self.warmup if warmup is None else warmup,
            persist=self.persist if persist is None else persist,
            preset_from=PRESET_OPTION if preset is not None else self.sources[PRESET_KEY],
        )


def defaults() -> Effective:
    """The built-in thresholds, no file read (``--no-config``)."""
    return Effective(DEFAULT_THRESHOLDS, dict.fromkeys(_fields(), DEFAULT_SOURCE))


def load(explicit: str | None = None, cwd: Path | None = None) -> Effective:
    """The effective thresholds: an explicit file, else the first config found in ``cwd``.

    Raises:
        ConfigError: the file is missing, unreadable, not UTF-8 or not TOML (also
            nested too deeply or holding a number Python will not read), or holds an
            unknown key, a value of the wrong type or size, or levels out of order.
    """
    warnings: list[str] = []
    found = _find(explicit, cwd or Path.cwd(), warnings)
    if found is None:
        return dataclasses.replace(defaults(), warnings=tuple(warnings))
    path, prefix, table = found
    effective = _apply(table, f"{path}", prefix)
    return dataclasses.replace(effective, origin=f"{path}", warnings=tuple(warnings))


def _fields() -> list[str]:
    named = [
        f for keys in (CONFIG_KEYS, LEVEL_KEYS) for levels in keys.values() for f in levels.values()
    ]
    return [PRESET_KEY, *named]


def _find(explicit: str | None, cwd: Path, warnings: list[str]) -> tuple[Path, str, Any] | None:
    if explicit is not None:
        path = Path(explicit)
        doc = _read(path)
        if "thresholds" in doc:
            _only(doc, {"thresholds"}, path, "")
            return path, "thresholds", doc["thresholds"]
        section = _ours(doc, path)
        if section is None:
            hint = _misspelt(doc)
            raise ConfigError(
                f"{path}: no [thresholds] or [tool.value-diag.thresholds] table"
                + (f" ({hint})" if hint else "")
            )
        return path, "tool.value-diag.thresholds", section["thresholds"]
    pyproject = cwd / PYPROJECT
    if pyproject.is_file() and _mentions_us(pyproject):
        doc = _read(pyproject)
        hint = _misspelt(doc)
        if hint:
            warnings.append(f"{pyproject}: {hint}")
        section = _ours(doc, pyproject)
        if section is not None:
            return pyproject, "tool.value-diag.thresholds", section["thresholds"]
    own = cwd / OWN_FILE
    if own.is_file():
        doc = _read(own)
        _only(doc, {"thresholds"}, own, "")
        if "thresholds" in doc:
            return own, "thresholds", doc["thresholds"]
    return None


def _mentions_us(path: Path) -> bool:
    """Whether a pyproject.toml could have our table: most don't, and TOML costs start-up.

    The file is read a block at a time, so a huge one is never held whole; each block is
    searched together with the end of the one before, so a name cut in two is still found.
    """
    overlap = max(len(word) for word in (*MENTIONS, THRESHOLD)) - 1
    named = threshold = False
    tail = b""
    try:
        with path.open("rb") as f:
            while block := f.read(MENTION_BLOCK):
                data = tail + block
                named = named or any(name in data for name in MENTIONS)
                threshold = threshold or THRESHOLD in data
                if named and threshold:
                    return True
                tail = data[-overlap:]
    except OSError:
        return True  # let the real read say what is wrong
    return False


def _misspelt(doc: dict[str, Any]) -> str | None:
    """What to say when the file has [tool.value_diag] (which is not read), else None."""
    tool = doc.get("tool")
    if not isinstance(tool, dict) or MISSPELT_TABLE not in tool:
        return None
    table = tool[MISSPELT_TABLE]
    rest = ".thresholds" if isinstance(table, dict) and "thresholds" in table else ""
    return f"[tool.{MISSPELT_TABLE}{rest}] is not read: did you mean [tool.{OUR_TABLE}{rest}]?"


def _ours(doc: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """The [tool.value-diag] table if it has thresholds; a misspelt key in it is refused."""
    tool = doc.get("tool")
    section = tool.get(OUR_TABLE) if isinstance(tool, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: tool.value-diag must be a table")
    _only(section, {"thresholds"}, path, "tool.value-diag.")
    return section if "thresholds" in section else None


def _only(table: dict[str, Any], known: set[str], path: Path, prefix: str) -> None:
    for key in table:
        if key not in known:
            known_keys = ", ".join(known)
            raise ConfigError(f"{path}: {prefix}{_name(key)}: unknown key (known: {known_keys})")


def _read(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {byte:#04x} at offset {exc.start})"
        ) from None
    except ValueError as exc:  # tomllib leaves int()'s refusal of a very long number as it is
        limit = sys.get_int_max_str_digits()
        reason = f"an integer of more than {limit} digits" if "digits" in str(exc) else str(exc)
        raise ConfigError(f"{path}: not valid TOML: {reason}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None


def _name(key: str) -> str:
    """A key from the file, cut in the middle if long, so the message stays one short line."""
    if len(key) <= LONGEST_KEY:
        return key
    half = (LONGEST_KEY - 3) // 2
    return f"{key[:half]}...{key[-half:]}"


def _apply(table: object, where: str, prefix: str) -> Effective:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {prefix} must be a table")
    values: dict[str, float] = {}
    sources = dict.fromkeys(_fields(), DEFAULT_SOURCE)
    chosen: dict[str, Any] = {}
    known_keys = ", ".join([*CONFIG_KEYS, *LEVEL_KEYS, PRESET_KEY, GATE])
    for metric, levels in table.items():
        key = f"{prefix}.{_name(metric)}"
        if metric == GATE:
            gate = _gate(levels, where, key)
            chosen.update(gate)
            sources.update((f"{GATE}.{name}", f"{where}: {key}.{name}") for name in gate)
            continue
        if metric == PRESET_KEY or metric in LEVEL_KEYS:
            chosen.update(_choice(metric, levels, where, key))
            sources.update(
                (field, f"{where}: {key}" + ("" if field == PRESET_KEY else f".{level}"))
                for level, field in _chosen_fields(metric, levels)
            )
            continue
        if metric not in CONFIG_KEYS:
            raise ConfigError(f"{where}: {key}: unknown metric (known: {known_keys})")
        if not isinstance(levels, dict):
            raise ConfigError(f"{where}: {key}: must be a table like {{ warning = 1 }}")
        for level, value in levels.items():
            if level not in CONFIG_KEYS[metric]:
                known = ", ".join(CONFIG_KEYS[metric])
                raise ConfigError(f"{where}: {key}.{_name(level)}: unknown level (known: {known})")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{where}: {key}.{level}: must be a number")
            try:
                number = float(value)
            except OverflowError:  # an integer of hundreds of digits
                raise ConfigError(f"{where}: {key}.{level}: too large a number") from None
            if not math.isfinite(number):
                raise ConfigError(f"{where}: {key}.{level}: must be a finite number")
            field = CONFIG_KEYS[metric][level]
            bounds = RANGES[field]
            if not bounds.holds(number):
                raise ConfigError(f"{where}: {key}.{level}: must be {bounds} ({bounds.why})")
            values[field] = number
            sources[field] = f"{where}: {key}.{level}"
    thresholds = dataclasses.replace(DEFAULT_THRESHOLDS, **values)
    _check_order(thresholds, where, prefix)
    _check_floor(thresholds, where, prefix)
    explicit = frozenset(m for m, levels in table.items() if m in CONFIG_KEYS and levels)
    return Effective(thresholds, sources, explicit=explicit, **chosen)


@dataclass(frozen=True, slots=True)
class Range:
    """Where a threshold may be set. Outside, it would mean "always" or "never" (a
    correlation below -1, a floor of 1e300): a file that says so is refused, not obeyed."""

    low: float
    high: float
    why: str
    """What the number is, said in the message that refuses one outside."""
    open_low: bool = False
    """``low`` itself is outside (a tolerance of 0 would leave no scale to divide by)."""

    def holds(self, x: float) -> bool:
        """Whether ``x`` is in the range."""
        return (x > self.low if self.open_low else x >= self.low) and x <= self.high

    def __str__(self) -> str:
        low, high = _number(self.low), _number(self.high)
        return f"above {low} and at most {high}" if self.open_low else f"from {low} to {high}"


def _number(x: float) -> str:
    """1e9 as "1e9", not "1e+09"."""
    return f"{x:g}".replace("e+0", "e").replace("e+", "e")


REWARD_MAX: Final = 1e9
"""Largest threshold in reward units (TD error, spread; squared for Bellman error and
variance): past any return a run reports, so only a number that means "never" is refused."""
RATIO_MAX: Final = 100.0
"""Largest threshold of a ratio to the returns' own scale (td_bias; squared for
bellman_ratio): a bias a hundred times the returns' spread is already past any run."""
SKEW_MAX: Final = 100.0
"""Largest skewness threshold: a sample of n returns cannot be skewed past sqrt(n), and
batches of 10,000 returns are large."""
_CORRELATION: Final = Range(-1.0, 1.0, "a correlation is from -1 to 1")
_FIT: Final = Range(-1.0, 1.0, "at most 1, a perfect fit; -1 is errors twice the returns' spread")
_REWARD: Final = Range(0.0, REWARD_MAX, "|x| in reward units is compared")
_SQUARED: Final = Range(0.0, REWARD_MAX**2, "in reward units squared")
_RATIO: Final = Range(0.0, RATIO_MAX, "a ratio to the returns' scale")
RANGES: Final[dict[str, Range]] = {
    "corr_excellent": _CORRELATION,
    "corr_warning": _CORRELATION,
    "corr_critical": _CORRELATION,
    "calib_corr_warning": _CORRELATION,
    "td_mean_warning": _REWARD,
    "td_mean_critical": _REWARD,
    "bellman_warning": _SQUARED,
    "bellman_critical": _SQUARED,
    "skew_warning": Range(0.0, SKEW_MAX, "|skewness| is compared"),
    "skew_critical": Range(0.0, SKEW_MAX, "|skewness| is compared"),
    "variance_warning": _SQUARED,
    "spread_warning": Range(0.0, REWARD_MAX, "p90 - p10 in reward units"),
    "ev_warning": _FIT,
    "ev_critical": _FIT,
    "fit_warning": _FIT,
    "fit_critical": _FIT,
    "td_bias_warning": _RATIO,
    "td_bias_critical": _RATIO,
    "bellman_ratio_warning": Range(0.0, RATIO_MAX**2, "a ratio to the returns' scale squared"),
    "bellman_ratio_critical": Range(0.0, RATIO_MAX**2, "a ratio to the returns' scale squared"),
    "variance_floor": _SQUARED,
    "fit_tolerance": Range(0.0, 1.0, "a share of |mean return|", open_low=True),
    "bootstrap_significance": Range(0.0, RATIO_MAX, "a share of TD Std", open_low=True),
    "bootstrap_z": Range(0.0, RATIO_MAX, "standard errors of TD Mean", open_low=True),
    "bootstrap_carried": Range(0.0, 1.0, "a share of TD Mean"),
    "bound_mean": Range(0.0, RATIO_MAX, "widths of the value bound"),
    "frozen_change": Range(0.0, 1.0, "a share of the critic's weights"),
    "replaced_change": Range(0.0, RATIO_MAX, "a share of the critic's weights"),
    "constant_span": Range(0.0, RATIO_MAX, "a share of the returns' scale D"),
}
"""The range of every Thresholds field a config file may set (tests/test_config_bounds.py
checks that each has one, and that the defaults lie in them)."""


def _check_floor(t: Thresholds, where: str, prefix: str) -> None:
    """Returns cannot vary both too little to judge EV and too much: the floor under which
    EV is not judged stays at or below the variance that warns."""
    if t.variance_floor > t.variance_warning:
        raise ConfigError(
            f"{where}: {prefix}.low_return_variance.floor = {_number(t.variance_floor)} is"
            f" above return_variance.warning = {_number(t.variance_warning)}: returns cannot"
            " vary too little and too much at once"
        )


GATE_LIMITS: Final = {"warmup": (0, MAX_WARMUP), "persist": (1, MAX_PERSIST)}
"""The gate's config keys and their ranges, as --warmup and --persist take them."""


def _gate(value: object, where: str, key: str) -> dict[str, int]:
    """``gate = { warmup = 20, persist = 2 }``: whole numbers in the options' ranges."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key}: must be a table like {{ warmup = 20, persist = 2 }}")
    out: dict[str, int] = {}
    for name, number in value.items():
        if name not in GATE_LIMITS:
            known = ", ".join(GATE_LIMITS)
            raise ConfigError(f"{where}: {key}.{_name(name)}: unknown key (known: {known})")
        low, high = GATE_LIMITS[name]
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            raise ConfigError(f"{where}: {key}.{name}: must be a whole number from {low} to {high}")
        out[name] = number
    return out


def _choice(metric: str, value: object, where: str, key: str) -> dict[str, Any]:
    """The preset (``preset = "scale-free"``) or a level (``compile = { eager = "ok" }``)."""
    if metric == PRESET_KEY:
        names = ", ".join(f'"{p.value}"' for p in Preset)
        if not isinstance(value, str) or value not in set(Preset):
            raise ConfigError(f"{where}: {key}: must be one of {names}")
        return {"preset": Preset(value)}
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: {key}: must be a table like {{ eager = "ok" }}')
    out: dict[str, Any] = {}
    levels = ", ".join(f'"{lv.value}"' for lv in LEVEL_CHOICES)
    for level, word in value.items():
        if level not in LEVEL_KEYS[metric]:
            known = ", ".join(LEVEL_KEYS[metric])
            raise ConfigError(f"{where}: {key}.{_name(level)}: unknown key (known: {known})")
        if not isinstance(word, str) or word not in {lv.value for lv in LEVEL_CHOICES}:
            raise ConfigError(f"{where}: {key}.{level}: must be one of {levels}")
        out[LEVEL_KEYS[metric][level]] = Level(word)
    return out


def _chosen_fields(metric: str, value: object) -> list[tuple[str, str]]:
    """(key, field) of what a preset or level entry set, for the sources."""
    if metric == PRESET_KEY:
        return [("", PRESET_KEY)]
    assert isinstance(value, dict)
    return [(level, LEVEL_KEYS[metric][level]) for level in value]


LEVEL_CHOICES: Final = (Level.OK, Level.INFO, Level.WARNING, Level.CRITICAL)
"""The levels a config entry may name."""


def _check_order(t: Thresholds, where: str, prefix: str) -> None:
    """Each level must be on the unhealthy side of the one before it."""
    for metric, levels in CONFIG_KEYS.items():
        names = [name for name in levels if name not in NOT_LEVELS]
        for healthier, worse in itertools.pairwise(names):
            a, b = getattr(t, levels[healthier]), getattr(t, levels[worse])
            wrong = b > a if metric in HIGHER_IS_HEALTHIER else b < a
            if wrong:
                side = "above" if metric in HIGHER_IS_HEALTHIER else "below"
                raise ConfigError(
                    f"{where}: {prefix}.{metric}.{worse} = {b:g} is {side} "
                    f"{healthier} = {a:g}: levels must get worse in order"
                )


Row = tuple[str, str, float | str, str]
"""(metric, level, value, source): one line of `value-diag thresholds`."""


def describe(
    effective: Effective,
    preset: Preset | None = None,
    warmup: int | None = None,
    persist: int | None = None,
) -> list[Row]:
    """(metric, level, value, source) for every rule in force, in table order.

    The seed's default table first. A preset other than the default adds a first row
    (``preset``) and judges by its own rules: a metric it does not judge is one
    ``info`` row, unless the file set its thresholds. ``preset`` (from --preset) replaces
    the file's. The last two rows are the gate's warm-up and persistence (``warmup`` and
    ``persist`` from the command line, else the preset's).
    """
    chosen = effective.preset if preset is None else preset
    t, sources = effective.thresholds, effective.sources
    scale_free = chosen is Preset.SCALE_FREE
    rows: list[Row] = []
    if chosen is not Preset.DEFAULT or sources[PRESET_KEY] != DEFAULT_SOURCE:
        source = PRESET_OPTION if preset is not None else sources[PRESET_KEY]
        rows.append((PRESET_KEY, "", chosen.value, source))
    ratios = set(SCALE_FREE_ONLY.values())
    for metric in CONFIG_KEYS:
        if metric in ratios:
            continue  # shown in place of the metric it judges, under scale-free only
        if metric in SCALE_FREE_NEW and not scale_free:
            continue  # only the scale-free preset judges it
        if metric in NOT_SCALE_FREE and scale_free:
            continue  # the scale-free preset measures flatness against the returns' size
        shown_as = metric
        if scale_free and metric in SCALE_FREE_INFO and metric not in effective.explicit:
            if metric not in SCALE_FREE_ONLY:
                rows.append((metric, INFO, INFO, chosen.value))
                continue
            shown_as = SCALE_FREE_ONLY[metric]
        for lv, f in CONFIG_KEYS[shown_as].items():
            rows.append((shown_as, lv, getattr(t, f), sources[f]))
    for metric, levels in LEVEL_KEYS.items():
        rules = effective.rules()
        rows += [(metric, lv, getattr(rules, f).value, sources[f]) for lv, f in levels.items()]
    default_warmup, default_persist = GATES[chosen]
    for key, given, own, default in (
        ("warmup", warmup, effective.warmup, default_warmup),
        ("persist", persist, effective.persist, default_persist),
    ):
        if given is not None:
            rows.append((GATE, key, given, f"--{key}"))
        elif own is not None:
            rows.append((GATE, key, own, sources[f"{GATE}.{key}"]))
        else:
            preset_default = DEFAULT_SOURCE if chosen is Preset.DEFAULT else chosen.value
            rows.append((GATE, key, default, preset_default))
    return rows


def shown(value: float | str) -> str:
    """A value of describe() as `value-diag thresholds` prints it."""
    return value if isinstance(value, str) else f"{value:g}"


def reason(effective: Effective, preset: Preset | None, metric: str, level: str) -> str | None:
    """Why a level stands where it does, said of the scale-free rules and the gate (else None)."""
    chosen = effective.preset if preset is None else preset
    if metric == GATE:
        return GATE_REASONS[level]
    return REASONS.get((metric, level)) if chosen is Preset.SCALE_FREE else None


GATE_REASONS: Final = {
    "warmup": "most updates before --fail-on may fire; --persist ok updates end it sooner",
    "persist": "updates in a row a level must hold before --fail-on fires at it",
}
