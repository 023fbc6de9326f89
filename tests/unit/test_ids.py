from shared.domain.ids import new_id


def test_ids_are_prefixed_and_sort_in_creation_order() -> None:
    ids = [new_id("cus") for _ in range(5000)]  # many share a millisecond
    assert all(i.startswith("cus_") and len(i) == 30 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_sort_by_time_across_milliseconds() -> None:
    import time

    first = new_id("in")
    time.sleep(0.002)
    assert new_id("in") > first
