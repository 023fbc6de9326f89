import pytest

from shared.domain.errors import Conflict
from shared.domain.invoices import InvoiceStatus, amount_due, check_transition

LEGAL = {
    (InvoiceStatus.DRAFT, InvoiceStatus.OPEN),
    (InvoiceStatus.DRAFT, InvoiceStatus.VOID),
    (InvoiceStatus.OPEN, InvoiceStatus.PAID),
    (InvoiceStatus.OPEN, InvoiceStatus.VOID),
    (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE),
    (InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.PAID),
    (InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.VOID),
}


@pytest.mark.parametrize("current", list(InvoiceStatus))
@pytest.mark.parametrize("target", list(InvoiceStatus))
def test_only_the_documented_transitions_are_allowed(current: InvoiceStatus, target: InvoiceStatus) -> None:
    if (current, target) in LEGAL:
        check_transition(current, target)
    else:
        with pytest.raises(Conflict):
            check_transition(current, target)


def test_paid_and_void_are_final() -> None:
    for final in (InvoiceStatus.PAID, InvoiceStatus.VOID):
        for target in InvoiceStatus:
            with pytest.raises(Conflict):
                check_transition(final, target)


def test_a_credit_total_leaves_nothing_due() -> None:
    assert amount_due(-500) == 0
    assert amount_due(0) == 0
    assert amount_due(1999) == 1999
