/*
 * dns.h - the DNS relay of `zerowg up`: clients whose config says
 * "DNS = <the server's tunnel address>" (the default, dns "auto") ask the
 * server, and the relay passes each question to the resolvers of the
 * server's /etc/resolv.conf and the answer back.  What linuxserver/wireguard
 * does with CoreDNS and PEERDNS=auto, in a few hundred lines.
 *
 * What it does, and what it does not:
 *   - only clients inside the tunnel subnets may ask (never an open
 *     resolver); anything else, and anything that is not one plausible
 *     query, is dropped without an answer and counted;
 *   - each query goes upstream with a NEW random id (getrandom), never the
 *     client's, so a client cannot make the upstream's answers guessable;
 *     an answer counts only if it comes from the upstream the query went to
 *     (a connected socket), with a pending id and the same question bytes;
 *   - a query not answered within DNS_UPSTREAM_TIMEOUT_MS goes once to the
 *     next upstream; after DNS_PENDING_LIFETIME_MS it is forgotten (the
 *     client's own resolver has retried by then);
 *   - at most DNS_PENDING_MAX queries wait at once; when full, the oldest
 *     is forgotten;
 *   - no cache, no parsing beyond the header and the question, UDP only:
 *     an answer too large for the client's buffer comes back truncated, as
 *     from any UDP resolver, and the client's retry over TCP finds nobody
 *     listening (it then uses the truncated answer or fails that name).
 * The upstreams are read once, at start: the "nameserver" lines of
 * resolv.conf, IPv4 and IPv6, loopback ones such as systemd-resolved's
 * 127.0.0.53 included (the relay runs in the host's namespace), at most
 * DNS_UPSTREAMS_MAX; with none, 127.0.0.1 (as the C library does).  After
 * the host's resolvers change, restart the server.
 *
 * Relies on netlink.h (struct netlink_prefix), log.h, getrandom(2) and a
 * thread of its own; the listening socket comes from the caller, because
 * binding port 53 needs privilege the relay does not keep.
 */
#ifndef ZWG_DNS_H
#define ZWG_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "netlink.h"

#define DNS_PORT 53
#define DNS_HEADER_LEN 12
#define DNS_MAX_QUERY 4096		/* larger "queries" are dropped */
#define DNS_MAX_NAME 255		/* RFC 1035 2.3.4, in wire form */
#define DNS_PENDING_MAX 4096
#define DNS_UPSTREAM_TIMEOUT_MS 2000
#define DNS_PENDING_LIFETIME_MS 5000
#define DNS_UPSTREAMS_MAX 3		/* MAXNS, as the C library */

struct dns_relay;

/*
 * listen_fd: a UDP socket already bound to the tunnel address, port 53; the
 * relay owns it from now on (it closes it in dns_relay_stop, and on
 * failure here).  allow: the tunnel subnets (only clients inside them may
 * ask).  resolv_conf_path: NULL = /etc/resolv.conf.  Starts its own thread.
 * NULL with errno set and a message in err on failure.
 */
struct dns_relay *dns_relay_start(int listen_fd, const struct netlink_prefix *allow, size_t n_allow,
				  const char *resolv_conf_path, char *err, size_t errlen);
/* Wakes the thread, joins it, closes every socket.  NULL is fine. */
void dns_relay_stop(struct dns_relay *r);

struct dns_relay_stats {
	uint64_t queries;		/* plausible queries from allowed clients */
	uint64_t answers;		/* answers relayed back to a client */
	uint64_t dropped_bad;		/* not a plausible query / not a matching answer */
	uint64_t dropped_not_allowed;	/* from outside the allowed prefixes */
	uint64_t timeouts;		/* forgotten without an answer (or pushed out) */
	uint64_t upstream_errors;	/* sending or receiving upstream failed */
};
/* A snapshot; safe from any thread while the relay runs. */
void dns_relay_get_stats(struct dns_relay *r, struct dns_relay_stats *out);

/*
 * The start-up line: "DNS: clients ask 10.13.13.1, relayed to 127.0.0.53
 * (set --dns to use other servers)".
 */
void dns_relay_describe(const struct dns_relay *r, char *buf, size_t len);

/*
 * Whether a server's client DNS list (the record's "dns", e.g.
 * "10.13.13.1, example.com") names addr ("10.13.13.1"): then the server
 * should run the relay there.  NULL list: false.
 */
bool dns_list_names(const char *dns_list, const char *addr);

/* ---- pure functions, exposed for the tests and the fuzzer ---- */

/*
 * The length of the question section of the DNS message p (the bytes after
 * the header up to and including QCLASS), when the header announces
 * exactly one question and that question is well formed: labels of 1..63
 * bytes, a name of at most DNS_MAX_NAME bytes, no compression pointer.
 * 0 when not.
 */
size_t dns_question_len(const uint8_t *p, size_t n);
/*
 * A query worth forwarding: DNS_HEADER_LEN..DNS_MAX_QUERY bytes, QR clear,
 * opcode QUERY, QDCOUNT 1, a well-formed question (dns_question_len),
 * no answer or authority records.
 */
bool dns_query_plausible(const uint8_t *p, size_t n) __attribute__((warn_unused_result));
/*
 * answer answers query (as sent upstream): QR set, the same id and
 * opcode, and the same question section byte for byte.
 */
bool dns_answer_matches(const uint8_t *query, size_t qlen, const uint8_t *answer, size_t alen)
	__attribute__((warn_unused_result));

/* An upstream resolver. */
union dns_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};
/*
 * The nameservers of a resolv.conf text, in order, at most max: IPv4, IPv6
 * (with %scope for link-local), port 53.  Other lines and malformed
 * addresses are skipped.  Returns how many were found.
 */
size_t dns_resolv_conf_parse(const char *text, union dns_addr *out, size_t max);

#endif
