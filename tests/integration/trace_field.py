"""The outbound trace (docs/tls.md, "The outbound trace"): the Received
field tern puts on top of each message it relays, read back from the
message as the next hop received it."""
import re

# RFC 5322 3.6.7 as tern writes it: by, one comment, with, id, ";" date.
SHAPE = re.compile(r"Received: by (\S+) \((tern outbound to [^()]*)\) with (\S+) id (\S+); "
                   r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000")


def outbound_trace(data):
    """(by, comment, with, id) of the message's first header field, which
    must be tern's outbound trace, folded in lines of at most 78."""
    text = data.decode("ascii") if isinstance(data, bytes) else data
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    field = [lines[0]]
    for line in lines[1:]:
        if not line.startswith(("\t", " ")):
            break
        field.append(line)
    assert all(len(l) <= 78 for l in field), field
    one = " ".join(l.strip() for l in field)
    m = SHAPE.fullmatch(one)
    assert m, f"not an outbound trace: {one!r}"
    return m.groups()


def without_trace(data):
    """`data` (bytes) without its first header field, tern's outbound trace:
    what follows it, e.g. our DKIM-Signature or ARC set."""
    outbound_trace(data)
    end = data.index(b"\r\n")
    while data[end + 2:end + 3] in (b"\t", b" "):
        end = data.index(b"\r\n", end + 2)
    return data[end + 2:]
