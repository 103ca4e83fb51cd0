"""What an alarm usually means and what to check first: one home for the advice that the
README's "When a metric is red" table, `once`'s line under an alarming panel and the live
view's `w` key all show. Pure data; the thresholds in the row titles come from the rules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from value_diag.health import (
    COMPILE,
    DEFAULT_THRESHOLDS,
    FIT,
    SPREAD,
    Level,
    Thresholds,
)
from value_diag.render.panel import culprit_names

if TYPE_CHECKING:
    from value_diag.frame import Frame


@dataclass(frozen=True, slots=True)
class Advice:
    """One row: when it applies (``when``, with the default thresholds), what it usually
    means, and what to check first (markdown, as the README shows it)."""

    when: str
    means: str
    check: str


NON_FINITE: Final = "non_finite"
"""The row of any NaN or Inf, whatever the metric."""
STALE: Final = "stale"
"""The row of a run that stopped writing."""


def _g(x: float) -> str:
    return f"{x:g}"


def advice(t: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, Advice]:
    """Each metric's row, in the README's order, its thresholds those of ``t``."""
    return {
        "v_return_correlation": Advice(
            f"V-Corr low (< {_g(t.corr_warning)} yellow, < {_g(t.corr_critical)} red) or falling",
            (
                "V(s) no longer tracks the returns, so the advantages are mostly noise. Low in the "
                "first updates is normal; a fall after it had risen is not."
            ),
            (
                "Value loss coefficient too small next to the policy and entropy terms; value "
                "learning rate too low (never learns) or too high (oscillates); returns not "
                "normalised (targets far from order 1); returns computed wrong: bootstrap from "
                "V(s_T) at a time-limit truncation, zero only at a true terminal, and a done mask "
                "that is not shifted by one step; value head too small, or a trunk shared with the "
                "policy that the policy gradient dominates; value clipping too tight. With Ret σ "
                "near zero there is nothing to correlate with."
            ),
        ),
        "td_error_mean": Advice(
            f"TD Mean far from 0 (\\|x\\| ≥ {_g(t.td_mean_warning)}, ≥ {_g(t.td_mean_critical)})",
            (
                "A systematic bias: positive, V underestimates (it lags returns that are rising); "
                "negative, V overestimates."
            ),
            (
                "Value fitting too slowly for an improving policy (more value epochs, a higher "
                "value learning rate); reward or return normalisation statistics drifting; a γ in "
                "the returns that differs from the one in δ; truncations treated as terminals "
                "(negative δ at time limits); a reward scale that changed mid-run (curriculum)."
            ),
        ),
        "td_error_std": Advice(
            "TD Std large, or `Inf` (info: not judged unless non-finite)",
            (
                "The TD errors are spread wide: noisy targets, a very stochastic environment, or an"
                " unstable value head."
            ),
            (
                "Outlier rewards (one huge reward per episode), reward clipping, an environment bug"
                " that emits huge rewards, the gradient norm."
            ),
        ),
        "bellman_error": Advice(
            f"Bellman high (≥ {_g(t.bellman_warning)}, ≥ {_g(t.bellman_critical)}) or spiking",
            "The value regression is blowing up. A spike often comes a few updates before NaN.",
            (
                "Learning rate too high; no gradient clipping; the reward scale (Bellman grows with"
                " the square of the rewards: with returns in the hundreds, raise the thresholds "
                "instead); stale targets: too many epochs over one rollout, or returns computed "
                "with values from long ago; fp16 overflow."
            ),
        ),
        SPREAD: Advice(
            f"Returns `⚠` (p90 − p10 > {_g(t.spread_warning)})",
            (
                "The rollout's returns are spread wide: some episodes succeed and others fail, or "
                "episodes end at very different lengths. Not a bug by itself."
            ),
            (
                "Per-environment returns: is one stuck or crashed; episode lengths (time-limit "
                "truncations against early terminals); success against failure (Skew). A red "
                "percentile is only negative, not unhealthy."
            ),
        ),
        "return_variance": Advice(
            f"Ret σ high (variance > {_g(t.variance_warning)})",
            "Large returns: the value head has to regress big targets.",
            (
                "Reward scaling or normalisation; γ close to 1 with long episodes (returns near r /"
                " (1 − γ)); large terminal bonuses or penalties. A `NaN` σ (negative variance) is a"
                " bug in whatever computed the metrics."
            ),
        ),
        "return_skewness": Advice(
            f"Skew far from 0 (\\|x\\| ≥ {_g(t.skew_warning)}, ≥ {_g(t.skew_critical)})",
            (
                "Lopsided returns: positive, rare large successes (sparse rewards); negative, rare "
                "disasters (big terminal penalties). A squared value loss is pulled towards the "
                "tail."
            ),
            (
                "Terminal reward and penalty sizes, reward clipping, whether a few environments "
                "dominate; a Huber value loss or return normalisation."
            ),
        ),
        COMPILE: Advice(
            "Compile `EAGER`",
            "torch.compile is off: every update runs 3-5x slower. Nothing is wrong with learning.",
            (
                "The compile flag in the run's config; an earlier compile error in the training log"
                " that fell back to eager; the torch and Triton versions on that machine."
            ),
        ),
        NON_FINITE: Advice(
            "Any `NaN` or `Inf` (always red)",
            "The loss has gone non-finite; what the run learns from here on is garbage.",
            (
                "The first `!` in `--trend`: the gradient norm and learning rate at that update; "
                "the policy ratio overflowing; advantage normalisation dividing by a zero std; "
                "mixed-precision overflow; NaN in the observations."
            ),
        ),
        FIT: Advice(
            f"V-Fit low (scale-free: < {_g(t.fit_warning)} yellow, ≤ {_g(t.fit_critical)} red)",
            (
                "V does not predict the returns, its bias included: a constant at the "
                "returns' mean would do about as well. Red at the start of a run is the "
                "warm-up; red after it is a critic that is not learning."
            ),
            (
                "The value loss coefficient (at 0, V stays at its initialisation); the "
                "reward or return normalisation (returns too large for the head to reach); "
                "the value learning rate (blown up, or far too small); the first NaN."
            ),
        ),
        "explained_variance": Advice(
            f"EV low (< {_g(t.ev_warning)} yellow, ≤ {_g(t.ev_critical)} red; --critic)",
            (
                "The critic explains little of the returns' variance. With returns that "
                "hardly vary it is noise (shown as info), not a verdict."
            ),
            "As for V-Corr; and with the scale-free preset, V-Fit, which weighs V's bias too.",
        ),
        STALE: Advice(
            "`updated 5m ago` in the bottom line (yellow after a minute, red after five)",
            "The run stopped writing: hung, crashed or finished.",
            (
                "The training process and its own log; a full disk; a deadlocked environment worker"
                " or data loader."
            ),
        ),
    }


ADVICE_LABELS: Final = {NON_FINITE: "NaN", STALE: "stale"}
"""How the rows that are not a metric's are named in a line of advice."""

HEADER: Final = ("| Metric | What it usually means | Check first |", "|---|---|---|")


def markdown_table(t: Thresholds = DEFAULT_THRESHOLDS) -> str:
    """The README's "When a metric is red" table, from the rows above."""
    rows = [f"| {a.when} | {a.means} | {a.check} |" for a in advice(t).values()]
    return "\n".join([*HEADER, *rows])


def plain(text: str, ascii_only: bool = False) -> str:
    """A row's markdown as terminal text: no code spans, no escaped pipes (and in ASCII)."""
    text = text.replace("`", "").replace("\\|", "|")
    if ascii_only:
        for glyph, word in ASCII_WORDS.items():
            text = text.replace(glyph, word)
        text = text.encode("ascii", "replace").decode("ascii")
    return text


ASCII_WORDS: Final = {
    "≥": ">=",
    "≤": "<=",
    "−": "-",
    "σ": "sigma",
    "γ": "gamma",
    "δ": "delta",
    "⚠": "!",
}
"""How the rows' few non-ASCII signs read with --ascii."""


def checks(frame: Frame) -> list[tuple[str, Advice]]:
    """The rows for what alarms in a frame, worst first, each with the metric it is for: a
    stale run's first, then any non-finite value's, then each culprit's that has a row."""
    h = frame.health
    rows = advice(frame.rules)
    out: list[tuple[str, Advice]] = []
    if h.stale is not None:
        out.append((STALE, rows[STALE]))
    names = culprit_names(h, frame.rules.critic)
    for name in names:
        value = h.values.get(name)
        if h.mark(name).level is Level.CRITICAL and value is not None and not math.isfinite(value):
            out.append((NON_FINITE, rows[NON_FINITE]))
            break
    out += [(name, rows[name]) for name in names if name in rows]
    return out
