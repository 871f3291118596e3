"""Creating sessions with a closing mode over HTTP (docs/protocol.md, Sessions)."""

from web_support import Server


async def test_a_session_is_created_with_its_closing_mode_and_listed_with_it(
        server: Server) -> None:
    made = await server.ok("POST", "/api/sessions", {"name": "矿业权", "mode": "staggered",
                                                     "stagger_s": 60})
    assert (made["mode"], made["stagger_s"]) == ("staggered", 60)
    plain = await server.ok("POST", "/api/sessions", {"name": "plain"})
    assert (plain["mode"], plain["stagger_s"]) == ("parallel", 0)
    listed = (await server.ok("GET", "/api/sessions"))["sessions"]
    assert [(s["mode"], s["stagger_s"]) for s in listed] == [("staggered", 60), ("parallel", 0)]


async def test_a_bad_closing_mode_is_refused_and_nothing_is_created(server: Server) -> None:
    for body in ({"name": "x", "mode": "random"}, {"name": "x", "mode": 3},
                 {"name": "x", "mode": "staggered", "stagger_s": -5},
                 {"name": "x", "mode": "staggered", "stagger_s": 1.5}):
        status, data = await server.call("POST", "/api/sessions", body)
        assert status == 400 and data["error"]["code"] == "invalid_params", (body, data)
    assert (await server.ok("GET", "/api/sessions"))["sessions"] == []
