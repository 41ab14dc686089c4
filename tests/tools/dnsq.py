# dnsq.py SERVER NAME ID - one raw DNS query for the netns tests: prints the
# first A address of the answer (exit 0), or why there is none (exit 1).
import socket, struct, sys
server, name, qid = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for l in name.split("."):
    q += bytes([len(l)]) + l.encode()
q += b"\0" + struct.pack(">HH", 1, 1)
fam = socket.AF_INET6 if ":" in server else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(1)
for attempt in range(3):
    s.sendto(q, (server, 53))
    try:
        a, src = s.recvfrom(65535)
    except socket.timeout:
        continue
    break
else:
    print("no answer from %s in 3 s" % server); sys.exit(1)
aid, flags, qd, an = struct.unpack(">HHHH", a[:8])
if aid != qid:
    print("answer id %d, the query's %d" % (aid, qid)); sys.exit(1)
if flags & 15 or an == 0:
    print("rcode %d, %d answers" % (flags & 15, an)); sys.exit(1)
off = len(q)                        # the question is echoed
def skip_name(off):
    while a[off] != 0:
        if a[off] >= 0xc0:
            return off + 2
        off += 1 + a[off]
    return off + 1
for i in range(an):
    off = skip_name(off)
    rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", a[off:off + 10])
    off += 10
    if rtype == 1 and rdlen == 4:
        print(socket.inet_ntoa(a[off:off + 4])); sys.exit(0)
    off += rdlen
print("no A record"); sys.exit(1)
