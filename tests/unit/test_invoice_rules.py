import pytest

from shared.domain.errors import Conflict
from shared.domain.invoices import InvoiceStatus as S
from shared.domain.invoices import amount_due, check_transition

LEGAL = {
    (S.DRAFT, S.OPEN), (S.DRAFT, S.VOID),
    (S.OPEN, S.PAID), (S.OPEN, S.VOID), (S.OPEN, S.UNCOLLECTIBLE),
    (S.UNCOLLECTIBLE, S.PAID), (S.UNCOLLECTIBLE, S.VOID),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_only_the_documented_transitions_are_allowed(current: S, target: S) -> None:
    if (current, target) in LEGAL:
        check_transition(current, target)
    else:
        with pytest.raises(Conflict):
            check_transition(current, target)


def test_paid_and_void_are_final() -> None:
    for final in (S.PAID, S.VOID):
        for target in S:
            with pytest.raises(Conflict):
                check_transition(final, target)


def test_a_credit_total_leaves_nothing_due() -> None:
    assert amount_due(-500) == 0
    assert amount_due(0) == 0
    assert amount_due(1999) == 1999
