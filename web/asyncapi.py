"""The AsyncAPI 3.0 description of the WebSocket protocol, served at
``GET /api/asyncapi.json``: every message a client sends and every message the server
sends, each the JSON Schema of its struct in :mod:`web.schemas`."""

from typing import Any

from web.openapi import components
from web.protocol import MAX_FRAME, PROTOCOL
from web.schemas import CLIENT_MESSAGES, SERVER_MESSAGES, tag_of


def _messages(structs: tuple[type[Any], ...], schemas: list[dict[str, Any]]
              ) -> dict[str, Any]:
    return {tag_of(struct): {"name": tag_of(struct), "title": f"`{tag_of(struct)}`",
                             "summary": (struct.__doc__ or "").strip(),
                             "contentType": "application/json", "payload": schema}
            for struct, schema in zip(structs, schemas, strict=True)}


def _document() -> dict[str, Any]:
    schemas, defs = components([*CLIENT_MESSAGES, *SERVER_MESSAGES])
    client = _messages(CLIENT_MESSAGES, schemas[:len(CLIENT_MESSAGES)])
    server = _messages(SERVER_MESSAGES, schemas[len(CLIENT_MESSAGES):])
    # A name may be sent both ways (``error`` is the server's only): keep them apart.
    messages = {**{f"client.{k}": v for k, v in client.items()},
                **{f"server.{k}": v for k, v in server.items()}}
    refs = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Auction engine WebSocket protocol",
            "version": str(PROTOCOL),
            "description": (
                "One WebSocket per client at `/ws` (docs/protocol.md). Text frames of one "
                f"JSON object each, at most {MAX_FRAME} bytes; unknown fields are refused "
                "(`error` `bad_message`). Amounts are decimal strings, times Unix "
                "milliseconds."),
        },
        "channels": {"ws": {"address": "/ws", "messages": refs}},
        "operations": {
            "clientSends": {"action": "receive", "channel": {"$ref": "#/channels/ws"},
                            "summary": "What a client sends",
                            "messages": [{"$ref": f"#/channels/ws/messages/{name}"}
                                         for name in messages if name.startswith("client.")]},
            "serverSends": {"action": "send", "channel": {"$ref": "#/channels/ws"},
                            "summary": "What the server sends",
                            "messages": [{"$ref": f"#/channels/ws/messages/{name}"}
                                         for name in messages if name.startswith("server.")]},
        },
        "components": {"messages": messages, "schemas": defs},
    }


ASYNCAPI: dict[str, Any] = _document()
