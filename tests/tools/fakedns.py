# fakedns.py LOG - a tiny DNS server for the netns tests (tests/netns):
# answers A queries for example.test with 198.18.0.77 and everything else
# with NXDOMAIN, on 198.18.0.2:53 (the tests' "internet" namespace), and
# writes one line "SOURCE ID NAME" per query to LOG.  Bounded: it exits
# after 300 s (the test kills it with its namespace before that).
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.2", 53))
s.settimeout(1)
log = open(sys.argv[1], "a")
end = time.time() + 300
while time.time() < end:
    try:
        q, src = s.recvfrom(4096)
    except socket.timeout:
        continue
    if len(q) < 12:
        continue
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    off, labels = 12, []
    while off < len(q) and q[off] != 0:
        labels.append(q[off + 1:off + 1 + q[off]].decode("ascii", "replace"))
        off += 1 + q[off]
    name = ".".join(labels)
    qtype = struct.unpack(">H", q[off + 1:off + 3])[0] if off + 3 <= len(q) else 0
    log.write("%s %d %s\n" % (src[0], qid, name))
    log.flush()
    question = q[12:off + 5]
    if name.lower() == "example.test" and qtype == 1:
        head = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0)
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([198, 18, 0, 77])
    else:
        head = struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0)
        rr = b""
    s.sendto(head + question + rr, src)
