"""One mechanism, two accountants: published values, composition, calibration toward safety."""

import dp_accounting
import pytest
from dp_accounting.pld import pld_privacy_accountant

from strongroom.errors import PrivacyBudgetError
from strongroom.privacy.mechanism import Mechanism, calibrate, composed_epsilons

# Opacus' published test point: sigma 1.5, q 0.04, 2250 steps, delta 1e-5 -> PRV 6.78.
REFERENCE = Mechanism(1.5, 0.04, 2250, 1e-5, "patient")


def test_both_accountants_match_published_values_and_agree():
    epsilons = REFERENCE.epsilons().checked()
    assert epsilons.prv == pytest.approx(6.78, abs=0.02)
    assert epsilons.pld == pytest.approx(6.77, abs=0.02)
    assert epsilons.reported == max(epsilons.prv, epsilons.pld)


def test_the_dp_event_is_the_poisson_subsampled_gaussian_self_composed():
    event = REFERENCE.dp_event()
    assert event == dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(0.04, dp_accounting.GaussianDpEvent(1.5)), 2250
    )


def test_a_split_run_composes_to_the_same_epsilon():
    whole = Mechanism(1.1, 0.01, 300, 1e-6, "patient")
    split = [whole.after(120), whole.after(180)]  # e.g. a run resumed by hand
    together = composed_epsilons(split, delta=1e-6)
    assert together.pld == pytest.approx(whole.epsilons().pld, rel=1e-3)
    assert together.prv == pytest.approx(whole.epsilons().prv, rel=1e-2)


def test_composition_of_two_runs_matches_dp_accounting_directly():
    first = Mechanism(0.9, 0.05, 60, 1e-6, "patient")
    second = Mechanism(1.3, 0.02, 150, 1e-6, "patient")
    reference = pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-3)
    reference.compose(dp_accounting.ComposedDpEvent([first.dp_event(), second.dp_event()]))
    composed = composed_epsilons([first, second], delta=1e-6).checked()
    assert composed.pld == pytest.approx(reference.get_epsilon(1e-6), rel=1e-9)
    assert composed.reported > max(first.epsilons().reported, second.epsilons().reported)


def test_disagreement_beyond_the_tolerance_is_an_error():
    with pytest.raises(PrivacyBudgetError, match="accountants disagree"):
        REFERENCE.epsilons().checked(tolerance=0.0)
    assert composed_epsilons([REFERENCE.after(0)], delta=1e-5).reported == 0.0


def test_calibration_rounds_toward_safety_under_both_accountants():
    mechanism = calibrate(
        target_epsilon=2.0, delta=1e-5, sampling_rate=1 / 16, steps=32, privacy_unit="patient"
    )
    epsilons = mechanism.epsilons()
    assert epsilons.prv <= 2.0 and epsilons.pld <= 2.0
    assert epsilons.reported >= 1.9  # and not wastefully noisy


def test_a_mechanism_that_cannot_be_accounted_is_refused():
    with pytest.raises(PrivacyBudgetError) as error:
        Mechanism(-1.0, 1.5, -1, 2.0, "patient", adjacency="replace_one")
    message = str(error.value)
    for part in ("noise multiplier", "sampling rate", "steps", "delta", "adjacency"):
        assert part in message


@pytest.mark.parametrize(
    ("target", "sampling_rate", "steps"),
    [(0.05, 1 / 30, 100), (100.0, 1 / 1000, 100), (100.0, 1.0, 1), (8.0, 0.5, 10000)],
)
def test_calibration_at_the_extremes_is_bounded_and_meets_the_target_under_both(
    target, sampling_rate, steps
):
    mechanism = calibrate(
        target_epsilon=target, delta=1e-5, sampling_rate=sampling_rate, steps=steps,
        privacy_unit="patient",
    )  # fmt: skip
    epsilons = mechanism.epsilons()
    assert epsilons.prv <= target and epsilons.pld <= target
    assert epsilons.reported >= 0.9 * target  # and not wastefully noisy


@pytest.mark.parametrize("steps", [0, 1, 7, 60])
def test_the_per_step_rdp_figure_is_never_below_the_accountants(steps):
    """The progress bar shows RDP's epsilon between accountant checks: it may overstate, never
    understate, what was spent."""
    mechanism = Mechanism(0.9, 0.05, steps, 1e-5, "patient")
    bound = mechanism.rdp_upper_bound()
    assert bound >= mechanism.epsilons().reported
    assert bound == 0.0 if steps == 0 else bound < 2 * mechanism.epsilons().reported
