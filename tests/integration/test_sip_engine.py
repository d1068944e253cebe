"""Herald's SIP engine end to end, with real sockets on 127.0.0.1: registration with digest,
instant messages between local users over UDP, TCP and TLS, offline store-and-forward across a
restart and a kill -9, UDP retransmissions, RFC 4475 messages sent to a running node.

Run: HERALD_BINARY=build/herald HERALD_SHARED=../shared python3 tests/integration/test_sip_engine.py
"""

import csv
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from harness import Node  # noqa: E402
from sipua import UA, Message  # noqa: E402

SHARED = os.environ.get("HERALD_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                                      "shared"))


class SharedNodeTest(unittest.TestCase):
    """One node for the whole class, with users alice and bob of example.com."""
    NODE_ARGS = {}

    @classmethod
    def setUpClass(cls):
        cls.node = Node(**cls.NODE_ARGS)
        cls.node.add_user("alice@example.com", "alice-secret")
        cls.node.add_user("bob@example.com", "bob-secret")
        cls.node.start()
        cls.ca = os.path.join(cls.node.dir, "data", "tls", "dev-cert.pem")

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.node.cleanup()


class LocalMessagingTest(SharedNodeTest):

    def ua(self, user, password, transport):
        ua = UA(user, password, "example.com", self.node.addr(transport), transport=transport,
                cafile=self.ca if transport == "tls" else None)
        self.addCleanup(ua.close)
        return ua

    def test_register_and_message_over_each_transport(self):
        for transport in ("udp", "tcp", "tls"):
            with self.subTest(transport=transport):
                bob = self.ua("bob", "bob-secret", transport)
                alice = self.ua("alice", "alice-secret", transport)
                self.assertEqual(bob.register(algorithm="SHA-256"), 200)
                self.assertEqual(alice.register(algorithm="MD5"), 200)
                text = "hello over " + transport
                self.assertEqual(alice.message("sip:bob@example.com", text), 200)
                self.assertTrue(bob.wait_received(1))
                got = bob.received[-1]
                self.assertEqual(got.method, "MESSAGE")
                self.assertEqual(got.body.decode(), text)
                self.assertIn("alice@example.com", got.get("from"))
                # The proxy removed the credentials meant for it.
                self.assertIsNone(got.get("proxy-authorization"))
                self.assertEqual(bob.register(expires=0), 200)

    def test_registrar_answers(self):
        alice = self.ua("alice", "alice-secret", "udp")
        self.assertEqual(alice.register(), 200)
        resp = alice.request("REGISTER", "sip:example.com", "<sip:alice@example.com>", [])
        self.assertEqual(resp.code, 200)
        # RFC 3581: our Via asked for rport; the answer says where it came from.
        self.assertIn(";received=127.0.0.1;rport=%d" % alice.local[1], resp.get("via"))
        self.assertTrue(any("expires=" in c for c in resp.all("contact")), resp.all("contact"))
        # Too short: 423 with Min-Expires.
        resp = alice.request("REGISTER", "sip:example.com", "<sip:alice@example.com>",
                             ["Expires: 5"])
        self.assertEqual(resp.code, 423)
        self.assertEqual(resp.get("min-expires"), "60")
        # Wrong password: challenged again.
        wrong = self.ua("alice", "not-the-password", "udp")
        self.assertEqual(wrong.register(), 401)
        # Unknown user: 404.
        ghost = self.ua("ghost", "x", "udp")
        self.assertEqual(ghost.register(), 404)
        self.assertEqual(alice.register(expires=0), 200)

    def test_message_answers(self):
        alice = self.ua("alice", "alice-secret", "tcp")
        self.assertEqual(alice.message("sip:nobody@example.com", "x"), 404)
        self.assertEqual(alice.message("sip:someone@elsewhere.test", "x"), 403)
        # Without credentials a local sender is challenged (407).
        raw = alice.build("MESSAGE", "sip:bob@example.com", "<sip:bob@example.com>", body="x")
        alice.send_raw(raw)
        challenge = alice.wait_response()
        self.assertEqual(challenge.code, 407)
        # Credentials signed for another target than the Request-URI: 400, not relayed.
        auth = alice._authorization(challenge.get("proxy-authenticate"), "MESSAGE",
                                    "sip:carol@example.com", "Proxy-Authorization")
        alice.send_raw(alice.build("MESSAGE", "sip:bob@example.com", "<sip:bob@example.com>",
                                   [auth], body="x"))
        resp = alice.wait_response()
        self.assertEqual(resp.code, 400)
        self.assertIn("digest uri", resp.start)
        # From a non-local domain and an untrusted source: refused.
        stranger = UA("eve", "x", "other.test", self.node.addr("udp"))
        self.addCleanup(stranger.close)
        self.assertEqual(stranger.message("sip:bob@example.com", "x"), 403)

    def test_options_to_the_server(self):
        ua = self.ua("alice", "alice-secret", "udp")
        resp = ua.request("OPTIONS", "sip:127.0.0.1:%d" % self.node.ports["udp"],
                          "<sip:127.0.0.1>", [])
        self.assertEqual(resp.code, 200)
        self.assertIn("MESSAGE", resp.get("allow"))
        self.assertIsNotNone(resp.get("accept"))
        self.assertIsNotNone(resp.get("supported"))

    def test_forks_to_every_contact_first_answer_wins(self):
        bob1 = self.ua("bob", "bob-secret", "udp")
        bob2 = self.ua("bob", "bob-secret", "tcp")
        self.assertEqual(bob1.register(), 200)
        self.assertEqual(bob2.register(), 200)
        alice = self.ua("alice", "alice-secret", "udp")
        self.assertEqual(alice.message("sip:bob@example.com", "to both"), 200)
        self.assertTrue(bob1.wait_received(1) and bob2.wait_received(1))
        self.assertEqual(bob1.register(expires=0), 200)
        self.assertEqual(bob2.register(expires=0), 200)


class Ipv6Test(SharedNodeTest):
    """Listeners on ::1 beside 127.0.0.1: clients on either family reach each other."""
    NODE_ARGS = {"ipv6": True}

    def ua(self, user, password, transport, v6):
        server = self.node.addr6(transport) if v6 else self.node.addr(transport)
        ua = UA(user, password, "example.com", server, transport=transport,
                cafile=self.ca if transport == "tls" else None)
        self.addCleanup(ua.close)
        return ua

    def test_listens_on_both_families(self):
        self.assertEqual(sorted(self.node.ports6), ["tcp", "tls", "udp"])

    def test_message_between_ipv6_clients_on_each_transport(self):
        for transport in ("udp", "tcp", "tls"):
            with self.subTest(transport=transport):
                bob = self.ua("bob", "bob-secret", transport, v6=True)
                alice = self.ua("alice", "alice-secret", transport, v6=True)
                self.assertEqual(bob.register(), 200)
                self.assertEqual(alice.register(), 200)
                self.assertEqual(alice.message("sip:bob@example.com", "v6 " + transport), 200)
                self.assertTrue(bob.wait_received(1))
                self.assertEqual(bob.received[-1].body.decode(), "v6 " + transport)
                # Our Via on the forwarded request names the IPv6 listener, in brackets.
                self.assertIn("[::1]", bob.received[-1].get("via"))
                self.assertEqual(bob.register(expires=0), 200)

    def test_message_across_families(self):
        bob = self.ua("bob", "bob-secret", "udp", v6=True)      # bob on IPv6 UDP
        alice = self.ua("alice", "alice-secret", "tcp", v6=False)  # alice on IPv4 TCP
        self.assertEqual(bob.register(), 200)
        self.assertEqual(alice.register(), 200)
        self.assertEqual(alice.message("sip:bob@example.com", "4 to 6"), 200)
        self.assertTrue(bob.wait_received(1))
        self.assertEqual(bob.received[-1].body.decode(), "4 to 6")
        self.assertEqual(bob.register(expires=0), 200)


class StoreAndForwardTest(unittest.TestCase):
    def setUp(self):
        self.node = Node()
        self.node.add_user("alice@example.com", "alice-secret")
        self.node.add_user("bob@example.com", "bob-secret")
        self.node.start()
        self.addCleanup(self.node.cleanup)

    def ua(self, user, password, transport="udp"):
        ua = UA(user, password, "example.com", self.node.addr(transport), transport=transport)
        self.addCleanup(ua.close)
        return ua

    def offline_then_deliver(self, crash):
        alice = self.ua("alice", "alice-secret")
        self.assertEqual(alice.message("sip:bob@example.com", "while you were away"), 202)
        self.assertEqual(alice.message("sip:bob@example.com", "second note"), 202)
        alice.close()
        if crash:
            self.node.kill()
        else:
            self.assertEqual(self.node.stop(), 0)
        self.node.start()
        bob = self.ua("bob", "bob-secret", "tcp")
        self.assertEqual(bob.register(), 200)
        self.assertTrue(bob.wait_received(2, timeout=10))
        bodies = [m.body.decode() for m in bob.received]
        self.assertEqual(bodies, ["while you were away", "second note"])
        self.assertIsNotNone(bob.received[0].get("date"))
        self.assertIn("alice@example.com", bob.received[0].get("from"))
        # Delivered once: registering again brings nothing new.
        time.sleep(0.3)
        self.assertEqual(bob.register(), 200)
        time.sleep(0.5)
        self.assertEqual(len(bob.received), 2)

    def test_offline_messages_survive_a_restart(self):
        self.offline_then_deliver(crash=False)

    def test_offline_messages_survive_kill_9(self):
        self.offline_then_deliver(crash=True)

    def test_bindings_survive_a_restart(self):
        bob = self.ua("bob", "bob-secret")
        self.assertEqual(bob.register(), 200)
        self.node.stop()
        self.node.start()
        # Same UDP contact: delivered without registering again.
        alice = self.ua("alice", "alice-secret")
        self.assertEqual(alice.message("sip:bob@example.com", "after restart"), 200)
        self.assertTrue(bob.wait_received(1))


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    return s


class RetransmissionTest(unittest.TestCase):
    """RFC 3261 §17 over UDP: a peer that drops the first response gets it again; a callee that
    misses the first request gets it again."""

    @classmethod
    def setUpClass(cls):
        cls.node = Node(domains=("example.com",), trusted=("127.0.0.1/32",))
        cls.node.add_user("bob@example.com", "bob-secret")
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.node.cleanup()

    def raw_message(self, sock, branch, call_id):
        port = sock.getsockname()[1]
        return ("MESSAGE sip:bob@example.com SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:carol@partner.test>;tag=c1\r\n"
                "To: <sip:bob@example.com>\r\nCall-ID: %s\r\nCSeq: 1 MESSAGE\r\n"
                "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi" % (port, branch, call_id)
                ).encode()

    def test_caller_that_drops_the_first_response(self):
        bob = UA("bob", "bob-secret", "example.com", self.node.addr("udp"))
        self.addCleanup(bob.close)
        self.assertEqual(bob.register(), 200)
        caller = udp_socket()
        self.addCleanup(caller.close)
        request = self.raw_message(caller, "z9hG4bKdrop1", "drop-1")
        caller.sendto(request, self.node.addr("udp"))
        first = Message(caller.recv(65535))  # "dropped": we act as if it never arrived
        self.assertEqual(first.code, 200)
        caller.sendto(request, self.node.addr("udp"))  # Timer E retransmission
        again = Message(caller.recv(65535))
        self.assertEqual(again.code, 200)
        self.assertEqual(again.raw, first.raw, "the cached final response is resent as is")
        time.sleep(0.3)
        self.assertEqual(len(bob.received), 1, "the retransmission was not forwarded again")

    def test_callee_that_drops_the_first_request(self):
        callee = udp_socket()
        self.addCleanup(callee.close)
        port = callee.getsockname()[1]
        bob = UA("bob", "bob-secret", "example.com", self.node.addr("udp"))
        self.addCleanup(bob.close)
        self.assertEqual(bob.register(contact="<sip:bob@127.0.0.1:%d>" % port), 200)
        bob.close()
        caller = udp_socket()
        self.addCleanup(caller.close)
        caller.sendto(self.raw_message(caller, "z9hG4bKdrop2", "drop-2"), self.node.addr("udp"))
        t0 = time.time()
        first = callee.recv(65535)  # ignored
        second = callee.recv(65535)
        gap = time.time() - t0
        self.assertEqual(first, second)
        self.assertGreater(gap, 0.4, "Timer E starts at T1 = 500 ms")
        callee.sendto(UA.response_to(None, Message(second), 200), self.node.addr("udp"))
        resp = Message(caller.recv(65535))
        self.assertEqual(resp.code, 200)


class Rfc4475OverUdpTest(unittest.TestCase):
    """Each RFC 4475 message sent to a running node gets the answer its manifest expects of a
    proxy/registrar, or none where a response must be dropped; the node keeps serving."""

    # name -> expected status (None: no answer). Where the manifest names the endpoint's answer
    # (415, 406, 501...) a proxy answers as a proxy: it routes the request (here: 403 for a
    # domain it does not serve, 404/480 for local users).
    EXPECT = {
        "wsinv": 404,  # its Route names services.example.com, which cannot be resolved
         "intmeth": 404, "esc01": 403, "escnull": 200, "esc02": 403,
        "lwsdisp": 480, "longreq": 480, "dblreq": 200, "semiuri": 404, "transports": 480,
        "mpart01": None,  # forwarded to its Route <sip:127.0.0.1:5080>; no one answers soon
         "unreason": None, "noreason": None, "badinv01": 400, "clerr": 400,
        "ncl": 400, "scalar02": 400, "scalarlg": None, "quotbal": 400, "ltgtruri": 400,
        "lwsruri": 400, "lwsstart": 400, "trws": 400, "escruri": 400, "baddate": 480,
        "regbadct": 400, "badaspec": 400, "baddn": 400, "badvers": 505, "mismatch01": 400,
        "mismatch02": 501, "bigcode": None, "badbranch": 480, "insuf": 400, "unkscm": 416,
        "novelsc": 416, "unksm2": 400, "bext01": 420, "invut": 480, "regaut01": 200,
        "multi01": 400, "mcl01": 400, "bcast": None, "zeromf": 483, "cparam01": 200,
        "cparam02": 200, "regescrt": 200, "sdp01": 480, "inv2543": 404, "test": None,
    }

    @classmethod
    def setUpClass(cls):
        # The torture messages come from 127.0.0.1: trusted, so REGISTERs need no challenge.
        cls.node = Node(domains=("example.com",), trusted=("127.0.0.0/8",), transports=("udp",))
        # escnull registers sip:null-%00-null@example.com: a user name with a NUL in it.
        for user in ("user", "j.user", "watson", "j_user", "null-%00-null"):
            cls.node.add_user(user + "@example.com", "x")
        cls.node.start()
        cls.manifest = list(csv.DictReader(open(os.path.join(SHARED, "testdata", "rfc4475",
                                                             "manifest.tsv")), delimiter="\t"))

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.node.cleanup()

    # Without rport a response goes to the source address and the port of the top Via
    # (RFC 3261 §18.2.2): send from that port, from a loopback address used for nothing else, so
    # that late answers (INVITE error responses are retransmitted until ACKed) stay apart.
    next_host = [100]

    def via_port(self, data):
        m = re.search(rb"(?im)^(?:via|v)\s*:\s*SIP\s*/\s*2\.0\s*/\s*\w+\s+[^;:\r\n,]+:(\d+)", data)
        return int(m.group(1)) if m else 5060

    def send(self, data, wait=1.0):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.next_host[0] += 1
        s.bind(("127.0.0.%d" % self.next_host[0], self.via_port(data)))
        s.settimeout(wait)
        try:
            s.sendto(data, self.node.addr("udp"))
            answers = []
            while True:
                try:
                    answers.append(Message(s.recv(65535)))
                except socket.timeout:
                    return answers
                if answers[-1].code >= 200:
                    return answers
        finally:
            s.close()

    @staticmethod
    def transaction_key(data):
        # Several torture messages reuse one branch and sent-by: to a server that is one
        # transaction (RFC 3261 §17.2.3), answered from its cache. Start afresh between them.
        head = data.split(b"\r\n\r\n")[0]
        via = re.search(rb"(?im)^(?:via|v)\s*:(.*?)(?:,|\r\n(?![ \t])|$)", head, re.S)
        method = head.split(b" ")[0]
        return (via.group(1).strip() if via else b"", b"INVITE" if method == b"ACK" else method)

    def unregister_all(self, register):
        # Later messages go to the same users: remove what this REGISTER bound, so that each
        # message meets the state the RFC describes (no registered contact).
        to = re.search(rb"(?im)^(?:to|t)\s*:\s*<?(sip:[^>;\r\n]+)", register).group(1).decode()
        s = udp_socket()
        port = s.getsockname()[1]
        s.sendto(("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKclean%d;rport\r\n"
                  "Max-Forwards: 70\r\nFrom: <%s>;tag=c\r\nTo: <%s>\r\nCall-ID: clean-%d\r\n"
                  "CSeq: 1 REGISTER\r\nContact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n" % (
                      port, port, to, to, port)).encode(), self.node.addr("udp"))
        self.assertEqual(Message(s.recv(65535)).code, 200)
        s.close()

    def test_every_message(self):
        self.assertEqual(len(self.manifest), 50)
        results = {}
        seen = set()
        for row in self.manifest:
            name = row["name"]
            with open(os.path.join(SHARED, "testdata", "rfc4475", row["file"]), "rb") as f:
                data = f.read()
            key = self.transaction_key(data)
            if key in seen:
                self.node.stop()
                self.node.start()
                seen.clear()
            seen.add(key)
            expect = self.EXPECT[name]
            answers = self.send(data, wait=0.6 if expect is None else 3.0)
            finals = [a.code for a in answers if a.code >= 200]
            results[name] = finals[0] if finals else None
            if data.startswith(b"REGISTER") and results[name] == 200:
                self.unregister_all(data)
        mismatches = {n: (results[n], self.EXPECT[n]) for n in self.EXPECT if results[n] != self.EXPECT[n]}
        self.maxDiff = None
        self.assertEqual(mismatches, {}, "got (answer, expected)")
        self.assertTrue(self.node.alive())
        # Still serving.
        ua = UA("probe", "x", "example.com", self.node.addr("udp"))
        self.addCleanup(ua.close)
        resp = ua.request("OPTIONS", "sip:127.0.0.1:%d" % self.node.ports["udp"], "<sip:127.0.0.1>", [])
        self.assertEqual(resp.code, 200)

    def test_registrar_keeps_contact_parameters_straight(self):
        base = os.path.join(SHARED, "testdata", "rfc4475", "messages")

        def read(name):
            with open(os.path.join(base, name), "rb") as f:
                return f.read()
        # cparam01 and cparam02 share a transaction key: a fresh node for each.
        self.node.stop()
        self.node.start()
        # cparam01: ;unknownparam outside <> is a contact parameter, not a URI parameter.
        answers = self.send(read("cparam01.dat"), wait=3)
        contacts = answers[-1].all("contact")
        self.assertTrue(any("<sip:+19725552222@gw1.example.net>;unknownparam" in c for c in contacts),
                        contacts)
        # cparam02: inside <> it stays a URI parameter.
        self.node.stop()
        self.node.start()
        answers = self.send(read("cparam02.dat"), wait=3)
        contacts = answers[-1].all("contact")
        self.assertTrue(any("<sip:+19725552222@gw1.example.net;unknownparam>" in c for c in contacts),
                        contacts)
        # regescrt: the escaped Route header stays in the binding's URI.
        answers = self.send(read("regescrt.dat"), wait=3)
        contacts = answers[-1].all("contact")
        self.assertTrue(any("?Route=%3Csip:sip.example.com%3E>" in c for c in contacts), contacts)


class FileModesTest(unittest.TestCase):
    """Issue 18: the data folder holds HA1 digests, admin password hashes and offline messages,
    so it is 0700 and the database files 0600 under the usual umask 022, whether the CLI (-c)
    or the node created them."""

    def setUp(self):
        self.saved_umask = os.umask(0o022)
        self.addCleanup(os.umask, self.saved_umask)
        self.node = Node()
        self.addCleanup(self.node.cleanup)
        self.data = os.path.join(self.node.dir, "data")

    def mode(self, name):
        return oct(os.stat(os.path.join(self.data, name)).st_mode & 0o7777)

    def assert_private(self, names):
        self.assertEqual(self.mode(""), "0o700")
        for name in names:
            self.assertEqual(self.mode(name), "0o600", name)

    def test_cli_on_a_fresh_data_dir(self):
        self.assertFalse(os.path.exists(self.data))
        self.node.add_user("alice@example.com", "alice-secret")
        self.assert_private(["herald.db"])

    def test_node_start(self):
        self.node.start()
        r = self.node.cli("user", "add", "bob@example.com", "--password", "bob-secret")
        self.assertEqual(r.returncode, 0, r.stderr)  # a write: the node's -wal is in use
        self.assert_private(["herald.db", "herald.db-wal", "herald.db-shm",
                             os.path.join("tls", "dev-key.pem"), "admin-device-key"])
        self.assertEqual(self.mode("tls"), "0o700")

    def test_node_tightens_an_open_data_dir(self):
        self.node.add_user("alice@example.com", "alice-secret")
        os.chmod(self.data, 0o755)
        os.chmod(os.path.join(self.data, "herald.db"), 0o644)
        self.node.start()
        self.assert_private(["herald.db", "herald.db-wal", "herald.db-shm"])
        self.assertIn("changed to 700", self.node.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
