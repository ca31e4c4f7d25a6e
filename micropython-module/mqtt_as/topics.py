# topics.py: topic names and filters checked before anything is queued, so
# a mistake raises ValueError naming the topic (the core checks them again).


def _bytes(topic, what, empty_ok=False):
    if isinstance(topic, str):
        topic = topic.encode()
    elif isinstance(topic, (bytes, bytearray, memoryview)):
        topic = bytes(topic)
        try:
            topic.decode()
        except UnicodeError:
            raise ValueError("%s %r is not UTF-8" % (what, topic))
    else:
        raise TypeError("%s must be str or bytes, not %s" % (what, type(topic).__name__))
    if not topic and not empty_ok:
        raise ValueError("%s is empty" % what)
    if len(topic) > 65535:
        raise ValueError("%s is longer than 65535 bytes" % what)
    if b"\x00" in topic:
        raise ValueError("%s %r holds NUL" % (what, topic))
    return topic


def check_name(topic, what="topic", aliased=False):
    """A topic to publish to, as bytes: not empty (unless `aliased`: a 5.0
    topic alias stands for it), no wildcards."""
    topic = _bytes(topic, what, aliased)
    if b"+" in topic or b"#" in topic:
        raise ValueError("%s %r has a wildcard: publish to a topic name, not a filter" % (what, topic))
    return topic


def check_filter(topic, what="topic filter"):
    """A topic filter to subscribe to, as bytes: '+' and '#' only as whole
    levels, '#' only last."""
    topic = _bytes(topic, what)
    levels = topic.split(b"/")
    last = len(levels) - 1
    for i, level in enumerate(levels):
        if b"#" in level and (level != b"#" or i != last):
            raise ValueError("%s %r: '#' must be a whole level and the last one" % (what, topic))
        if b"+" in level and level != b"+":
            raise ValueError("%s %r: '+' must be a whole level" % (what, topic))
    return topic
