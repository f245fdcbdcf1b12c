"""A replay's chapters as the search's moments: what each one says, and its link. No I/O."""

from __future__ import annotations

from live.discovery.moments import MAX_SAID, Chapter, chapters_of, moment_of


def test_a_product_chapter_says_the_answers_given_while_it_was_shown() -> None:
    stored = [
        {"at_ms": 500, "type": "answer", "title": "Hello?", "question": "Hello?", "answer": "Hi"},
        {"at_ms": 1200, "type": "pin", "title": "Kettle", "sku": "k1", "seq": 3, "ts": 1},
        {"at_ms": 2000, "type": "answer", "title": "Loud?", "question": "Loud?", "answer": "No"},
        {"at_ms": 3000, "type": "sale", "title": "Mug", "sku": "m1", "sale_id": "s1"},
        {"at_ms": 4000, "type": "answer", "title": "Hot?", "question": "Hot?", "answer": "Yes"},
    ]
    assert chapters_of(stored) == [
        Chapter(500, "answer", "Hello?", None, ("Hello?", "Hi")),  # before any product
        Chapter(1200, "pin", "Kettle", "k1", ("Loud?", "No")),
        Chapter(2000, "answer", "Loud?", None, ("Loud?", "No")),
        Chapter(3000, "sale", "Mug", "m1", ("Hot?", "Yes")),  # the next product takes over
        Chapter(4000, "answer", "Hot?", None, ("Hot?", "Yes")),
    ]
    assert chapters_of([]) == []


def test_the_hosts_chat_lines_belong_to_the_product_on_screen_and_are_no_moments() -> None:
    stored = [
        {"at_ms": 100, "type": "said", "text": "Welcome all"},  # no product yet: dropped
        {"at_ms": 1200, "type": "pin", "title": "Kettle", "sku": "k1"},
        {"at_ms": 1500, "type": "said", "text": "It boils in a minute"},
        {"at_ms": 2000, "type": "answer", "title": "Loud?", "question": "Loud?", "answer": "No"},
        {"at_ms": 3000, "type": "pin", "title": "Mug", "sku": "m1"},
        {"at_ms": 3100, "type": "said", "text": "Stoneware"},
    ]
    assert chapters_of(stored) == [
        Chapter(1200, "pin", "Kettle", "k1", ("It boils in a minute", "Loud?", "No")),
        Chapter(2000, "answer", "Loud?", None, ("Loud?", "No")),
        Chapter(3000, "pin", "Mug", "m1", ("Stoneware",)),
    ]


def test_a_moment_says_at_most_max_said_lines() -> None:
    lines = [{"at_ms": 2 + i, "type": "said", "text": f"line {i}"} for i in range(MAX_SAID + 5)]
    (chapter,) = chapters_of([{"at_ms": 1, "type": "pin", "title": "Kettle", "sku": "k1"}, *lines])
    assert chapter.said == tuple(f"line {i}" for i in range(MAX_SAID))


def test_a_moment_opens_the_replay_at_its_whole_second() -> None:
    doc = moment_of("r_1", "Tea time", 99, Chapter(61_999, "pin", "Kettle", "k1", ("Boils",)))
    assert (doc.kind, doc.doc_id, doc.url) == ("moment", "r_1:61999:pin", "/r/r_1?t=61")
    assert (doc.title, doc.body, doc.at_ms) == ("Kettle", "Boils", 99)
    assert doc.extra == {
        "room_id": "r_1",
        "at_ms": 61_999,
        "room_title": "Tea time",
        "chapter": "pin",
        "sku": "k1",
    }


def test_a_pin_and_a_sale_on_one_frame_are_two_moments() -> None:
    stored = [
        {"at_ms": 1200, "type": "pin", "title": "Kettle", "sku": "k1"},
        {"at_ms": 1200, "type": "sale", "title": "Kettle", "sku": "k1", "sale_id": "s1"},
    ]
    docs = [moment_of("r_1", "Tea", 9, c) for c in chapters_of(stored)]
    assert len({doc.key for doc in docs}) == 2
