"""Messages in the room over HTTP and WebSocket: a host's announcement reaches every
room, a bidder's question reaches staff and the asker only, the host's answer reaches
the asker (or, public, everyone) and never names the asker."""

from __future__ import annotations

from web_support import SUPERVISOR_TOKEN, Server


async def test_an_announcement_a_question_and_answers_reach_who_may_see_them(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    public = await server.connect()
    await public.subscribe(lot_id)
    announced = await server.ok("POST", f"/api/lots/{lot_id}/announce",
                                {"text": "请注意：本场设有延时规则"})
    assert announced["events"][0]["type"] == "Announced"
    update = await public.next("update")
    assert update["events"][0]["text"] == "请注意：本场设有延时规则"

    asked = await server.ok("POST", f"/api/lots/{lot_id}/questions",
                            {"kind": "objection", "text": "我的报价为何被拒？"},
                            token=tokens[0])
    seq = asked["seq"]
    assert set(asked) == {"lot_id", "seq"}
    seen = (await public.next("update"))["events"][0]
    assert seen == {"seq": seq, "type": "QuestionAsked", "at": seen["at"]}
    supervisor = await server.ok("GET", f"/api/lots/{lot_id}", token=SUPERVISOR_TOKEN)
    assert supervisor["questions"][0]["text"] == "我的报价为何被拒？"
    assert supervisor["questions"][0]["bidder_id"] == "b1"
    other = await server.ok("GET", f"/api/lots/{lot_id}", token=tokens[1])
    assert "questions" not in other["you"] and "questions" not in other

    await server.ok("POST", f"/api/lots/{lot_id}/questions/{seq}/answer",
                    {"text": "报价低于最低加价幅度"})
    mine = await server.ok("GET", f"/api/lots/{lot_id}", token=tokens[0])
    assert mine["you"]["questions"][0]["answer"] == "报价低于最低加价幅度"
    assert set((await public.next("update"))["events"][0]) == {"seq", "type", "at"}

    second = (await server.ok("POST", f"/api/lots/{lot_id}/questions",
                              {"kind": "question", "text": "何时退保证金？"},
                              token=tokens[1]))["seq"]
    await public.next("update")
    await server.ok("POST", f"/api/lots/{lot_id}/questions/{second}/answer",
                    {"text": "五个工作日内", "public": True})
    shown = (await public.next("update"))["events"][0]
    assert shown["text"] == "五个工作日内" and shown["question_text"] == "何时退保证金？"
    assert "b2" not in repr(shown) and "bidder_no" not in shown


async def test_only_a_bidder_of_the_lot_may_ask_and_only_a_host_may_answer(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    status, body = await server.call("POST", f"/api/lots/{lot_id}/questions",
                                     {"kind": "question", "text": "?"}, token=None)
    assert status == 401
    seq = (await server.ok("POST", f"/api/lots/{lot_id}/questions",
                           {"kind": "question", "text": "?"}, token=tokens[0]))["seq"]
    status, _ = await server.call("POST", f"/api/lots/{lot_id}/questions/{seq}/answer",
                                  {"text": "x"}, token=SUPERVISOR_TOKEN)
    assert status == 403
    status, body = await server.call("POST", f"/api/lots/{lot_id}/questions/abc/answer",
                                     {"text": "x"})
    assert status == 404 and body["error"]["code"] == "unknown_question"
