"""What changed between two snapshots of a lot (:func:`auction.views.snapshot`), and how a
client applies it: the body of a live ``update`` (docs/protocol.md).

A delta is ``(changes, gone)``. ``changes`` maps a *path* to the value now found there;
``gone`` lists the paths of object keys that no longer exist. A path names a place in the
snapshot from the top: its object keys and list indices joined by ``/``, each key written
as in a JSON Pointer (RFC 6901: ``~`` as ``~0``, ``/`` as ``~1``) without the leading
slash, e.g. ``best``, ``you/own_bids/3``, ``register/2/last_bid``. An index equal to the
list's length appends to it; a list that got shorter is sent whole.

Every value in a delta is taken from the newer snapshot, so a delta never carries what
that snapshot does not: whatever the audience may not see is in neither. :func:`apply`
on the older snapshot gives the newer one exactly (JSON-equal: ``True`` is not ``1``).
"""

from typing import Any

#: Changes in the order they must be applied (paths of list items in increasing order).
Changes = dict[str, Any]


class DeltaError(ValueError):
    """A delta that does not fit the state it is applied to (a path that is not there):
    the client's state is not the one the delta was made from."""


def _key(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unkey(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _same(old: Any, new: Any) -> bool:
    """Whether two leaves are the same JSON value (``1`` is not ``True`` nor ``1.0``)."""
    return type(old) is type(new) and old == new


def diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[Changes, list[str]]:
    """The delta that turns snapshot ``old`` into snapshot ``new``: ``(changes, gone)``,
    both empty when nothing changed. Neither argument is changed; values in ``changes``
    are shared with ``new`` (encode them, never change them)."""
    changes: Changes = {}
    gone: list[str] = []
    _diff_object(old, new, "", changes, gone)
    return changes, gone


def _diff_object(old: dict[str, Any], new: dict[str, Any], prefix: str, changes: Changes,
                 gone: list[str]) -> None:
    for key, value in new.items():
        path = prefix + _key(key)
        if key not in old:
            changes[path] = value
        else:
            _diff_value(old[key], value, path, changes, gone)
    gone.extend(prefix + _key(key) for key in old if key not in new)


def _diff_value(old: Any, new: Any, path: str, changes: Changes, gone: list[str]) -> None:
    if old is new:
        return  # shared parts of snapshots (the public parameters, an own bid's view)
    if isinstance(old, dict) and isinstance(new, dict):
        _diff_object(old, new, path + "/", changes, gone)
    elif isinstance(old, list) and isinstance(new, list) and len(new) >= len(old):
        for index, item in enumerate(new):
            if index < len(old):
                _diff_value(old[index], item, f"{path}/{index}", changes, gone)
            else:
                changes[f"{path}/{index}"] = item
    elif isinstance(old, dict | list) or not _same(old, new):
        changes[path] = new


def apply(state: dict[str, Any], changes: Changes, gone: list[str] | tuple[()] = ()
          ) -> dict[str, Any]:
    """``state`` with the delta ``(changes, gone)`` applied, as a new object: ``state``
    itself is not changed (the parts the delta does not touch are shared with it).

    Raises :class:`DeltaError` if a path does not fit ``state``."""
    out = dict(state)
    copied = {id(out)}

    def parent(parts: list[str]) -> Any:
        container: Any = out
        for part in parts:
            slot: Any = _index(container, part, len(container) - 1) \
                if isinstance(container, list) else _unkey(part)
            if isinstance(container, dict) and slot not in container:
                raise DeltaError(f"no {'/'.join(parts)!r} in the state")
            child = container[slot]
            if not isinstance(child, dict | list):
                raise DeltaError(f"{'/'.join(parts)!r} holds no object or list")
            if id(child) not in copied:
                child = dict(child) if isinstance(child, dict) else list(child)
                copied.add(id(child))
                container[slot] = child
            container = child
        return container

    for path, value in changes.items():
        *head, last = path.split("/")
        container = parent(head)
        if isinstance(container, list):
            index = _index(container, last, len(container))
            if index == len(container):
                container.append(value)
            else:
                container[index] = value
        else:
            container[_unkey(last)] = value
    for path in gone:
        *head, last = path.split("/")
        container = parent(head)
        if not isinstance(container, dict) or _unkey(last) not in container:
            raise DeltaError(f"no {path!r} to remove in the state")
        del container[_unkey(last)]
    return out


def _index(container: list[Any], part: str, most: int) -> int:
    """``part`` as an index of ``container`` from 0 to ``most``."""
    if not (part.isascii() and part.isdigit()) or int(part) > most:
        raise DeltaError(f"{part!r} is not an index of a list of {len(container)}")
    return int(part)
