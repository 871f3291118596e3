"""Messages in the room: hosts' announcements, bidders' questions and objections, the
host's answers; all recorded, nothing identifying a bidder to another (RULES.md, More
rules)."""

from typing import Any

import pytest

from auction.lot import replay
from auction.model import Announce, AnswerQuestion, AskHost, PauseLot
from auction.record import GENESIS, seal
from auction.verify import build_export, dumps, verify
from auction.views import BIDDER, PUBLIC, STAFF, bidder_view, redact, snapshot

from .support import HOST, MINUTE, T0, Lot, opened

SUPERVISOR = "staff:supervisor"


def ask(lot: Lot, bidder: str = "a", text: str = "保证金何时退还？",
        kind: str = "question") -> int:
    lot.accept(AskHost(bidder_id=bidder, kind=kind, text=text, ip="10.0.0.9", device="dev"))
    return lot.s.version


def seen(lot: Lot, audience: str, bidder_id: str | None = None) -> list[dict[str, Any]]:
    return [redact(lot.s, r, audience, bidder_id)
            for r in seal("lot-1", 1, GENESIS, lot.events)]


def test_a_host_announcement_is_recorded_and_shown_to_everyone() -> None:
    lot = opened("a", "b")
    events = lot.accept(Announce(actor=HOST, text="请各竞买人注意：本场延时规则为 5 分钟。"))
    assert events[0].actor == HOST
    shown = seen(lot, PUBLIC)[-1]
    assert shown["type"] == "Announced" and shown["text"].startswith("请各竞买人注意")


def test_a_bidders_question_is_seen_whole_by_staff_and_the_asker_only() -> None:
    lot = opened("a", "b", visibility="blind")
    seq = ask(lot, "a")
    staff = snapshot(lot.s, STAFF)["questions"]
    assert staff == [{"seq": seq, "at": T0, "kind": "question", "text": "保证金何时退还？",
                      "answer": None, "public": False, "bidder_id": "a", "bidder_no": "Na"}]
    assert bidder_view(lot.s, "a")["questions"][0]["text"] == "保证金何时退还？"  # type: ignore[index]
    assert "questions" not in bidder_view(lot.s, "b")  # type: ignore[operator]
    own = seen(lot, BIDDER, "a")[-1]
    assert own["own"] is True and own["text"] == "保证金何时退还？"
    for other in (seen(lot, BIDDER, "b")[-1], seen(lot, PUBLIC)[-1]):
        assert other == {"seq": seq, "type": "QuestionAsked", "at": T0}
    assert "questions" not in snapshot(lot.s, PUBLIC)


def test_a_private_answer_reaches_the_asker_and_staff_only() -> None:
    lot = opened("a", "b")
    seq = ask(lot, "a", kind="objection", text="对暂停的理由有异议")
    lot.accept(AnswerQuestion(actor=SUPERVISOR, question=seq, text="已记录，将在结果公示期处理"))
    assert bidder_view(lot.s, "a")["questions"][0]["answer"] == "已记录，将在结果公示期处理"  # type: ignore[index]
    assert snapshot(lot.s, STAFF)["questions"][0]["answer"].startswith("已记录")
    public = seen(lot, PUBLIC)[-1]
    assert set(public) == {"seq", "type", "at"}


def test_a_public_answer_shows_the_question_to_everyone_but_never_the_asker() -> None:
    lot = opened("a", "b")
    seq = ask(lot, "a")
    lot.accept(AnswerQuestion(actor=HOST, question=seq, text="结果公示后五个工作日内",
                              public=True))
    shown = seen(lot, PUBLIC)[-1]
    assert shown["text"] == "结果公示后五个工作日内"
    assert shown["question_text"] == "保证金何时退还？" and shown["public"] is True
    text = repr(seen(lot, PUBLIC)) + repr(seen(lot, BIDDER, "b"))
    assert "Na" not in text and "'a'" not in text and "10.0.0.9" not in text


def test_questions_are_taken_while_the_lot_is_suspended_too() -> None:
    lot = opened("a")
    lot.accept(PauseLot(actor=HOST, reason="outage"))
    ask(lot, "a", kind="objection", text="暂停前我的报价未被接受")


def test_questions_are_refused_before_the_opening_and_after_the_close() -> None:
    lot = Lot()
    lot.register("a")
    lot.refuse(AskHost(bidder_id="a", kind="question", text="?"), "not_open")
    lot = opened("a")
    lot.refuse(AskHost(bidder_id="a", kind="question", text="?"), "closed", at=T0 + MINUTE)


@pytest.mark.parametrize(("cmd", "code"), [
    (AskHost(bidder_id="ghost", kind="question", text="?"), "not_eligible"),
    (AskHost(bidder_id="a", kind="complaint", text="?"), "invalid_params"),
    (AskHost(bidder_id="a", kind="question", text=" "), "invalid_params"),
    (AskHost(bidder_id="a", kind="question", text="?", ip="x" * 501), "invalid_params"),
    (AskHost(bidder_id="a", kind="question", text="?", token_gen=7), "bad_token"),
    (Announce(actor=HOST, text=""), "invalid_params"),
    (Announce(actor="", text="x"), "invalid_params"),
    (AnswerQuestion(actor=HOST, question=99, text="x"), "unknown_question"),
    (AnswerQuestion(actor=HOST, question="5", text="x"), "unknown_question"),  # type: ignore[arg-type]
])
def test_a_message_that_cannot_be_recorded_is_refused(cmd: Any, code: str) -> None:
    lot = opened("a")
    lot.refuse(cmd, code)


def test_a_question_is_answered_once() -> None:
    lot = opened("a")
    seq = ask(lot)
    lot.refuse(AnswerQuestion(actor=HOST, question=seq, text="x", public=1),  # type: ignore[arg-type]
               "invalid_params")
    lot.accept(AnswerQuestion(actor=HOST, question=seq, text="x"))
    lot.refuse(AnswerQuestion(actor=HOST, question=seq, text="y"), "already_answered")


def test_nothing_is_announced_or_answered_once_the_lot_has_ended() -> None:
    lot = opened("a")
    seq = ask(lot)
    lot.tick(at=T0 + MINUTE)
    lot.refuse(Announce(actor=HOST, text="x"), "invalid_state")
    lot.refuse(AnswerQuestion(actor=HOST, question=seq, text="x"), "invalid_state")


def test_messages_replay_and_verify() -> None:
    lot = opened("a", "b")
    lot.accept(Announce(actor=HOST, text="注意", reason="提醒"))
    seq = ask(lot, "b")
    lot.accept(AnswerQuestion(actor=HOST, question=seq, text="好的", public=True))
    assert replay(lot.events) == lot.s
    result = verify(dumps(build_export(lot.s, seal("lot-1", 1, GENESIS, lot.events))))
    assert result.ok, result.summary


def test_under_blind_visibility_the_asker_sees_its_private_answer_in_its_own_stream() -> None:
    lot = opened("a", "b", visibility="blind")
    seq = ask(lot, "a")
    lot.accept(AnswerQuestion(actor=HOST, question=seq, text="收到"))
    mine = seen(lot, BIDDER, "a")[-1]
    assert mine["own"] is True and mine["text"] == "收到" and mine["question_text"]
    assert set(seen(lot, BIDDER, "b")[-1]) == {"seq", "type", "at"}
