"""Read mosquitto 2.0's persistence file (mosquitto.db, format 6; 5 too).

Standard library only. The layout is mosquitto's own (src/persist.h,
src/persist_write.c, src/persist_write_v5.c and src/persist_read_v5.c in
eclipse/mosquitto v2.0.x):

    header   15-byte magic, CRC (u32, always 0), format version (u32 BE)
    chunks   each: type (u32 BE), length (u32 BE), then `length` bytes

Chunk bodies are the PF_* structs of persist.h written as they are in
memory (so with their padding, and the 64-bit store ids in host byte
order), the 16- and 32-bit fields converted to network order first,
followed by the variable parts (client id, topic, payload, properties).

The soak reads the client message records (DB_CHUNK_CLIENT_MSG): one per
message a client session holds, in flight or queued, in each direction.
"""

import collections
import itertools
import os
import struct
import time

import rawmqtt

MAGIC = b"\x00\xb5\x00mosquitto db"
CHUNK_CFG, CHUNK_MSG_STORE, CHUNK_CLIENT_MSG, CHUNK_RETAIN, CHUNK_SUB, CHUNK_CLIENT = 1, 2, 3, 4, 5, 6

# enum mosquitto_msg_state (lib/mosquitto_internal.h).
STATES = {
    0: "invalid", 1: "publish_qos0", 2: "publish_qos1", 3: "wait_for_puback",
    4: "publish_qos2", 5: "wait_for_pubrec", 6: "resend_pubrel", 7: "wait_for_pubrel",
    8: "resend_pubcomp", 9: "wait_for_pubcomp", 10: "send_pubrec", 11: "queued",
}
# enum mosquitto_msg_direction: 0 in (from the client), 1 out (to it).
DIRECTIONS = {0: "in", 1: "out"}

# struct PF_client_msg: dbid_t store_id (host order); then in network
# order uint16_t mid, id_len; uint8_t qos, state, retain_dup, direction
# (16 bytes, no padding).
PF_CLIENT_MSG_SIZE = 16
# struct PF_msg_store: dbid_t store_id; int64_t expiry_time (host order);
# then in network order uint32_t payloadlen; uint16_t source_mid,
# source_id_len, source_username_len, topic_len, source_port; uint8_t qos,
# retain (32 bytes, no padding).
PF_MSG_STORE_SIZE = 32
# struct PF_client: int64_t session_expiry_time; uint32_t
# session_expiry_interval; uint16_t last_mid, id_len (all in network
# order); format 6 adds uint16_t listener_port, username_len and 4 bytes
# of padding (24 bytes); format 5 stops there (16 bytes).
PF_CLIENT_SIZE = {5: 16, 6: 24}

ClientMsg = collections.namedtuple(
    "ClientMsg", "client_id mid qos state direction dup retain store_id topic payload")


class FormatError(ValueError):
    pass


def parse(data):
    """The contents of a mosquitto.db: {"version", "clients": [ids],
    "messages": [ClientMsg], "stored": {(topic, payload)}} (messages with
    their topic and payload when the store has them; stored: every
    message in the store). Raises FormatError on anything else."""
    if len(data) < 23 or data[:15] != MAGIC:
        raise FormatError("not a mosquitto persistence file")
    version = struct.unpack("!I", data[19:23])[0]
    if version not in (5, 6):
        raise FormatError("persistence format %d (this reader knows 5 and 6)" % version)
    store = {}
    clients = []
    raw = []
    pos = 23
    while pos < len(data):
        if pos + 8 > len(data):
            raise FormatError("truncated chunk header at %d" % pos)
        chunk, length = struct.unpack("!II", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise FormatError("truncated chunk %d at %d" % (chunk, pos))
        pos += 8 + length
        if chunk == CHUNK_CLIENT_MSG:
            if length < PF_CLIENT_MSG_SIZE:
                raise FormatError("short client message chunk")
            store_id = struct.unpack_from("=Q", body)[0]
            mid, id_len, qos, state, retain_dup, direction = struct.unpack_from("!HHBBBB", body, 8)
            cid = body[PF_CLIENT_MSG_SIZE:PF_CLIENT_MSG_SIZE + id_len]
            if len(cid) != id_len or state not in STATES or direction not in DIRECTIONS or qos > 2:
                raise FormatError("bad client message chunk")
            raw.append((cid.decode(), mid, qos, STATES[state], DIRECTIONS[direction],
                        bool(retain_dup & 0x0F), bool(retain_dup >> 4), store_id))
        elif chunk == CHUNK_MSG_STORE:
            if length < PF_MSG_STORE_SIZE:
                raise FormatError("short message store chunk")
            store_id = struct.unpack_from("=Q", body)[0]
            payloadlen, _, id_len, user_len, topic_len = struct.unpack_from("!IHHHH", body, 16)
            at = PF_MSG_STORE_SIZE + id_len + user_len
            topic = body[at:at + topic_len]
            payload = body[at + topic_len:at + topic_len + payloadlen]
            if len(topic) != topic_len or len(payload) != payloadlen:
                raise FormatError("bad message store chunk")
            store[store_id] = (topic.decode("utf-8", "replace"), bytes(payload))
        elif chunk == CHUNK_CLIENT:
            fixed = PF_CLIENT_SIZE[version]
            if length < fixed:
                raise FormatError("short client chunk")
            id_len = struct.unpack_from("!H", body, 14)[0]
            cid = body[fixed:fixed + id_len]
            if len(cid) != id_len:
                raise FormatError("bad client chunk")
            clients.append(cid.decode())
    messages = [ClientMsg(*r, *store.get(r[7], (None, None))) for r in raw]
    return {"version": version, "clients": clients, "messages": messages,
            "stored": set(store.values())}


def read(path):
    with open(path, "rb") as f:
        return parse(f.read())


MARK_TOPIC = "mqttas-soak/saved"
_marks = itertools.count(1)


def save_and_read(broker, limit=10.0):
    """Have mosquitto (a harness.Broker) save its state as it is now and
    read it.

    A SIGUSR1 that comes while mosquitto ends the previous save (after its
    rename, before it clears the flag: src/loop.c) is lost, and a signal
    sent again can make a file later from an earlier moment. So a retained
    message with a new number goes in first (direct to the broker, its
    PUBACK awaited), and only a file that holds it is taken: one saved
    after this call began. SIGUSR1 is sent again while none comes."""
    mark = str(next(_marks)).encode()
    rawmqtt.publish_retained(broker.port, MARK_TOPIC, mark)
    path = os.path.join(broker.dir, "mosquitto.db")
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if broker.save(limit=0.5):
            db = read(path)
            if (MARK_TOPIC, mark) in db["stored"]:
                return db
    raise RuntimeError("mosquitto did not save its state on SIGUSR1 within %.0f s" % limit)
