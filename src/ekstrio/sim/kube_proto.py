"""Just enough Kubernetes protobuf to read a SelfSubjectAccessReview (what kubectl sends).

kubectl (client-go) posts built-in types as ``application/vnd.kubernetes.protobuf``: the magic
``k8s\\x00``, then a ``runtime.Unknown`` (1: TypeMeta, 2: raw object bytes, 3: content
encoding, 4: content type) whose raw bytes are the object's own message. Only length-delimited
string fields are needed here, so this is a plain protobuf wire-format walk, no schema library.
The sim answers in JSON, which client-go accepts (it asks for protobuf *or* JSON).
"""

from __future__ import annotations

from typing import Any

MAGIC = b"k8s\x00"
#: ResourceAttributes and NonResourceAttributes field numbers (k8s.io/api/authorization/v1).
_RESOURCE = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource",
             6: "subresource", 7: "name"}
_NON_RESOURCE = {1: "path", 2: "verb"}


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def fields(data: bytes) -> dict[int, bytes]:
    """The last value of each length-delimited field of a message (others skipped)."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            if i + size > len(data):
                raise ValueError("truncated field")
            out[number] = data[i:i + size]
            i += size
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    return {names[n]: v.decode("utf-8", "replace") for n, v in fields(data).items()
            if n in names}


def access_review(body: bytes) -> dict[str, Any]:
    """A protobuf SelfSubjectAccessReview as the JSON object it stands for (spec only)."""
    if not body.startswith(MAGIC):
        raise ValueError("not a Kubernetes protobuf body")
    raw = fields(body[len(MAGIC):]).get(2, b"")
    spec_fields = fields(fields(raw).get(2, b""))
    spec: dict[str, Any] = {}
    if 1 in spec_fields:
        spec["resourceAttributes"] = _strings(spec_fields[1], _RESOURCE)
    if 2 in spec_fields:
        spec["nonResourceAttributes"] = _strings(spec_fields[2], _NON_RESOURCE)
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "spec": spec}
