"""The admin plane against a real node: changes through the REST API are live for the very next
SIP request (domains, users, passwords, parameters, service switches), bad input changes
nothing, acknowledged changes survive a SIGKILL in the middle of a burst, and 1,000 changes
while SIPp relays MESSAGEs through the node fail no transaction.

Run: HERALD_BINARY=build/herald HERALD_SHARED=../shared python3 tests/integration/test_admin.py
"""

import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from harness import Node  # noqa: E402
from sipua import UA  # noqa: E402

SHARED = os.environ.get("HERALD_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                                      "shared"))


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tcp_port_free(port):
    """Nobody listens on the port: a plain socket can bind it (SO_REUSEADDR: connections in
    TIME_WAIT do not count, a listener does). A connect() is no proof: with the port free,
    the client's own ephemeral port may be the same number and TCP connects to itself."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def tcp_open(port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class LiveApplyTest(unittest.TestCase):
    """One node; the probe UA sends from a trusted address, so no digest is needed."""

    @classmethod
    def setUpClass(cls):
        # The probe sends from 127.0.0.2, trusted; users register from 127.0.0.1 with digest.
        cls.node = Node(trusted=("127.0.0.2/32",), transports=("udp", "tcp"), fixed_ports=True)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.node.cleanup()

    def probe(self):
        ua = UA("probe", "x", "example.com", self.node.addr("udp"), local_host="127.0.0.2")
        self.addCleanup(ua.close)
        return ua

    def message_code(self, ua, target):
        return ua.request("MESSAGE", target, "<%s>" % target, body=b"hi",
                          content_type="text/plain").code

    def test_domain_user_and_password_are_live_at_once(self):
        api = self.node.api
        ua = self.probe()
        self.assertEqual(self.message_code(ua, "sip:carol@live.test"), 403)
        st, js, headers = api("POST", "/api/v1/domains", {"name": "Live.Test.", "description": "x"})
        self.assertEqual(st, 201, js)
        self.assertEqual(js["item"]["name"], "live.test")
        self.assertEqual(headers.get("ETag"), '"1"')
        self.assertEqual(self.message_code(ua, "sip:carol@live.test"), 404)  # local, no such user

        st, js, _ = api("POST", "/api/v1/users", {"username": "carol", "domain": "live.test",
                                                  "password": "carol-first-pw"})
        self.assertEqual(st, 201, js)
        self.assertNotIn("password", json.dumps(js))
        carol = UA("carol", "carol-first-pw", "live.test", self.node.addr("udp"))
        self.addCleanup(carol.close)
        self.assertEqual(carol.register(), 200)
        self.assertEqual(self.message_code(ua, "sip:carol@live.test"), 200)
        st, js, _ = api("GET", "/api/v1/users/carol@live.test")
        self.assertEqual(js["item"]["registered_contacts"], 1)

        st, js, _ = api("PUT", "/api/v1/users/carol@live.test/password",
                        {"password": "carol-second-pw"})
        self.assertEqual(st, 200, js)
        self.assertEqual(carol.register(), 401)  # the old password no longer works
        carol2 = UA("carol", "carol-second-pw", "live.test", self.node.addr("udp"))
        self.addCleanup(carol2.close)
        self.assertEqual(carol2.register(), 200)

        st, js, _ = api("DELETE", "/api/v1/domains/live.test")
        self.assertEqual(st, 409, js)  # still has a user
        self.assertEqual(js["error"]["code"], "conflict")
        st, js, _ = api("DELETE", "/api/v1/users/carol@live.test")
        self.assertEqual(st, 200, js)
        self.assertEqual(self.message_code(ua, "sip:carol@live.test"), 404)
        st, js, _ = api("DELETE", "/api/v1/domains/live.test")
        self.assertEqual(st, 200, js)
        self.assertEqual(self.message_code(ua, "sip:carol@live.test"), 403)

    def test_deactivated_sip_proxy_closes_its_ports(self):
        api = self.node.api
        tcp = self.node.ports["tcp"]
        self.assertTrue(tcp_open(tcp))
        st, js, _ = api("POST", "/api/v1/services/sip-proxy/deactivate")
        self.assertEqual(st, 200, js)
        self.assertEqual(js["item"]["state"], "stopped")
        self.assertEqual(js["item"]["listeners"], [])
        self.assertTrue(tcp_port_free(tcp))
        # Nothing holds the UDP port either: a plain socket can bind it.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", self.node.ports["udp"]))
        s.close()
        st, js, _ = api("POST", "/api/v1/services/sip-proxy/activate")
        self.assertEqual(st, 200, js)
        self.assertEqual(js["item"]["state"], "running")
        self.assertTrue(tcp_open(tcp))
        ua = self.probe()
        self.assertEqual(ua.request("OPTIONS", "sip:127.0.0.1", "<sip:127.0.0.1>").code, 200)
        st, js, _ = api("POST", "/api/v1/services/sip-proxy/restart")
        self.assertEqual(st, 200, js)
        self.assertEqual(ua.request("OPTIONS", "sip:127.0.0.1", "<sip:127.0.0.1>").code, 200)

    def test_deactivated_presence_answers_503(self):
        api = self.node.api
        ua = self.probe()
        st, js, _ = api("POST", "/api/v1/services/presence/deactivate")
        self.assertEqual(st, 200, js)
        r = ua.request("PUBLISH", "sip:probe@example.com", "<sip:probe@example.com>",
                       ["Event: presence"])
        self.assertEqual(r.code, 503)
        self.assertEqual(r.get("Retry-After"), "60")
        st, js, _ = api("POST", "/api/v1/services/presence/activate")
        self.assertEqual(st, 200, js)
        r = ua.request("PUBLISH", "sip:probe@example.com", "<sip:probe@example.com>",
                       ["Event: presence"])
        self.assertNotEqual(r.code, 503)

    def test_parameters_apply_to_the_next_request(self):
        api = self.node.api
        st, js, _ = api("POST", "/api/v1/users", {"username": "dave", "domain": "example.com",
                                                  "password": "dave-password"})
        self.assertEqual(st, 201, js)
        dave = UA("dave", "dave-password", "example.com", self.node.addr("udp"))
        self.addCleanup(dave.close)
        self.assertEqual(dave.register(expires=100), 200)  # default min-expires 60
        st, js, _ = api("PUT", "/api/v1/params/registrar-min-expires", {"value": 120})
        self.assertEqual(st, 200, js)
        self.assertEqual(js["item"]["value"], 120)
        r = dave.request("REGISTER", "sip:example.com", "<sip:dave@example.com>",
                         ["Expires: 100"])
        self.assertEqual(r.code, 423)
        self.assertEqual(r.get("Min-Expires"), "120")
        st, js, _ = api("PUT", "/api/v1/params/registrar-max-expires", {"value": 100})
        self.assertEqual(st, 422, js)
        self.assertEqual((js["error"]["rule"], js["error"]["related"]),
                         ("ordering", "registrar-min-expires"))
        st, js, _ = api("DELETE", "/api/v1/params/registrar-min-expires")
        self.assertEqual(st, 200, js)
        self.assertTrue(js["item"]["is_default"])
        self.assertEqual(dave.register(expires=100), 200)

    def test_status_and_audit(self):
        api = self.node.api
        st, before, _ = api("GET", "/api/v1/status")
        self.assertEqual(st, 200, before)
        st, js, _ = api("POST", "/api/v1/domains", {"name": "audited.test"})
        self.assertEqual(st, 201, js)
        st, status, _ = api("GET", "/api/v1/status")
        self.assertEqual(status["policy_version"], js["policy_version"])
        self.assertGreater(status["policy_version"], before["policy_version"])
        services = {l["service"] for l in status["listeners"]}
        self.assertEqual(services, {"sip-proxy", "admin"})
        self.assertGreater(status["counters"]["sip.received"], 0)
        # The real store's schema version (it was 0: the node never filled it in).
        db = sqlite3.connect(os.path.join(self.node.dir, "data", "herald.db"))
        (schema,) = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        db.close()
        self.assertGreaterEqual(schema, 2)
        self.assertEqual(status["store"]["schema_version"], schema)
        st, audit, _ = api("GET", "/api/v1/audit?object_type=domain&limit=5")
        self.assertEqual(st, 200, audit)
        entry = audit["items"][0]
        self.assertEqual((entry["action"], entry["object_id"], entry["actor"]),
                         ("create", "audited.test", "admin"))
        self.assertEqual(entry["after"]["name"], "audited.test")
        self.assertEqual(entry["policy_version"], js["policy_version"])

    def test_bad_input_changes_nothing_and_the_node_serves_on(self):
        api = self.node.api
        st, before, _ = api("GET", "/api/v1/domains?limit=1000")
        cases = [
            (dict(raw=b"x" * 100000), 413, "payload_too_large"),
            (dict(raw=b'{"name": "a.test",'), 400, "bad_json"),
            (dict(raw=b'{"name": "a.test", "name": "b.test"}'), 400, "bad_json"),
            (dict(raw=b'["a.test"]'), 400, "bad_json"),
            (dict(body={"name": "a.test", "colour": "red"}), 400, "unknown_field"),
            (dict(body={"name": 42}), 400, "invalid_field"),
            (dict(body={"name": "x'); DROP TABLE domains;--"}), 422, "invalid_field"),
            (dict(body={"name": "\u00e9xample.test"}), 422, "invalid_field"),
            (dict(body={"name": "a" * 300 + ".test"}), 422, "invalid_field"),
            (dict(body={"description": "no name"}), 422, "missing_field"),
            (dict(raw=b'name=a.test', headers={"Content-Type": "text/plain"}), 415,
             "unsupported_media_type"),
        ]
        for kwargs, status, code in cases:
            st, js, _ = api("POST", "/api/v1/domains", **kwargs)
            self.assertEqual((st, js["error"]["code"]), (status, code), kwargs)
            self.assertEqual(js["error"]["status"], status)
        st, js, headers = api("GET", "/api/v1/domains", token=False)
        self.assertEqual(st, 401)
        self.assertIn("Bearer", headers.get("WWW-Authenticate", ""))
        st, after, _ = api("GET", "/api/v1/domains?limit=1000")
        self.assertEqual(after["items"], before["items"])
        self.assertEqual(after["policy_version"], before["policy_version"])
        ua = self.probe()
        self.assertEqual(ua.request("OPTIONS", "sip:127.0.0.1", "<sip:127.0.0.1>").code, 200)

    def test_concurrent_updates_of_one_object(self):
        api = self.node.api
        st, js, _ = api("POST", "/api/v1/domains", {"name": "race.test"})
        self.assertEqual(st, 201, js)
        results = []

        def edit(i):
            results.append(api("PATCH", "/api/v1/domains/race.test", {"description": "w%d" % i},
                               headers={"If-Match": '"1"'})[0])
        threads = [threading.Thread(target=edit, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [200] + [412] * 7)
        st, js, _ = api("GET", "/api/v1/domains/race.test")
        self.assertEqual(js["item"]["version"], 2)


class LoginLimitsTest(unittest.TestCase):
    """Issue 18 point 3 against a real node: guesses from 60 loopback addresses share one
    budget, concurrent guesses are counted before their check, and a known device (its
    device token) still signs in while the guesser has spent the budgets."""

    @classmethod
    def setUpClass(cls):
        cls.node = Node(transports=("udp",))
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.node.cleanup()

    def login(self, source, password, device_token=None):
        host, port = self.node.admin_url.split("//")[1].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
        body = {"username": "admin", "password": password}
        if device_token is not None:
            body["device_token"] = device_token
        try:
            conn.request("POST", "/api/v1/login", json.dumps(body),
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            text = r.read()
            return r.status, json.loads(text) if text else None
        finally:
            conn.close()

    def test_loopback_guesses_share_one_budget_and_a_known_device_gets_in(self):
        st, first = self.login("127.0.0.1", self.node.admin_password)
        self.assertEqual(st, 200, first)
        device = first["device_token"]
        # 60 addresses, 5 guesses each, 20 at a time: one budget for all of loopback.
        codes = []
        lock = threading.Lock()

        def guess(i):
            st, _ = self.login("127.0.%d.%d" % (1 + i // 200, 2 + i % 200 // 5), "wrong-%d" % i)
            with lock:
                codes.append(st)

        for start in range(0, 300, 20):
            threads = [threading.Thread(target=guess, args=(i,)) for i in range(start, start + 20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.assertEqual(codes.count(401), 5, sorted(codes))
        self.assertEqual(codes.count(429), 295)
        # The administrator on another loopback address without the token is refused too ...
        st, js = self.login("127.0.0.9", self.node.admin_password)
        self.assertEqual(st, 429, js)
        # ... but with it signs in.
        st, js = self.login("127.0.0.9", self.node.admin_password, device)
        self.assertEqual(st, 200, js)
        self.assertTrue(js["device_token"].startswith("d1."))
        self.node.token = js["token"]
        st, status, _ = self.node.api("GET", "/api/v1/status")
        self.assertEqual(st, 200)
        self.assertEqual(status["counters"]["admin.logins_failed"], 5)
        self.assertGreaterEqual(status["counters"]["admin.logins_rate_limited"], 296)
        self.assertGreaterEqual(status["counters"]["admin.connections_open"], 1)  # this one
        self.assertEqual(status["counters"]["admin.connections_refused"], 0)

    def test_changing_the_first_password_removes_its_file(self):
        node = Node(transports=("udp",), extra="")
        self.addCleanup(node.cleanup)
        # No configured password: the node writes a random one to the file.
        with open(node.config) as f:
            cfg = f.read()
        with open(node.config, "w") as f:
            f.write(cfg.replace('initial_password = "%s"\n' % node.admin_password, ""))
        node.start()
        self.addCleanup(node.stop)
        path = os.path.join(node.dir, "data", "initial-admin-password")
        with open(path) as f:
            node.admin_password = f.read().strip()
        st, js, _ = node.api("PUT", "/api/v1/admins/admin/password",
                             {"current_password": node.admin_password,
                              "password": "a-brand-new-password"})
        self.assertEqual(st, 204, js)
        self.assertFalse(os.path.exists(path))
        self.assertIn("initial-admin-password removed", node.log_text())


class DurabilityTest(unittest.TestCase):

    def test_sigkill_during_a_burst_of_writes_loses_no_acknowledged_change(self):
        node = Node(transports=("udp",))
        self.addCleanup(node.cleanup)
        node.start()
        node.api("GET", "/api/v1/status")  # log in before the burst
        acknowledged = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(k):
            i = 0
            while not stop.is_set():
                name = "burst-%d-%d.test" % (k, i)
                try:
                    st, _, _ = node.api("POST", "/api/v1/domains", {"name": name})
                except OSError:
                    return  # the node is gone
                if st == 201:
                    with lock:
                        acknowledged.append(name)
                i += 1
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        node.kill()
        stop.set()
        for t in threads:
            t.join(timeout=40)
        self.assertGreater(len(acknowledged), 20)
        db = os.path.join(node.dir, "data", "herald.db")
        conn = sqlite3.connect(db)
        self.assertEqual(conn.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        self.assertEqual(conn.execute("PRAGMA foreign_key_check").fetchall(), [])
        conn.close()
        node.start()
        stored = set()
        while True:
            st, js, _ = node.api("GET", "/api/v1/domains?limit=1000&q=burst-&offset=%d"
                                 % len(stored))
            self.assertEqual(st, 200, js)
            stored |= {d["name"] for d in js["items"]}
            if not js["items"]:
                break
        self.assertEqual(len(stored), js["total"])
        missing = [n for n in acknowledged if n not in stored]
        self.assertEqual(missing, [])
        # Every stored domain has its audit entry, and the policy version counts them all.
        audited, before = set(), ""
        while True:
            st, audit, _ = node.api("GET", "/api/v1/audit?object_type=domain&limit=1000" + before)
            self.assertEqual(st, 200, audit)
            if not audit["items"]:
                break
            audited |= {e["object_id"] for e in audit["items"] if e["action"] == "create"}
            before = "&before_id=%d" % audit["items"][-1]["id"]
        # One audit entry per stored change, and none for a change that is not there.
        self.assertEqual({a for a in audited if a.startswith("burst-")}, stored)
        self.assertGreaterEqual(js["policy_version"], len(stored))
        node.stop()


@unittest.skipIf(shutil.which("sipp") is None, "sipp (sip-tester) is not installed")
class LiveApplyUnderLoadTest(unittest.TestCase):

    def test_a_thousand_changes_while_sipp_relays_messages(self):
        node = Node(domains=("domainb.test",), trusted=("127.0.0.1/32",), transports=("udp",))
        self.addCleanup(node.cleanup)
        node.add_user("bob@domainb.test", "bob-password")
        node.start()
        uas_port = free_port()
        bob = UA("bob", "bob-password", "domainb.test", node.addr("udp"))
        self.assertEqual(bob.register(contact="<sip:bob@127.0.0.1:%d>" % uas_port), 200)
        bob.close()
        env = dict(os.environ, UAS_PORT=str(uas_port), FAIL_PCT="0", P99_LIMIT_MS="1000",
                   MIN_ACHIEVED_PCT="90", OUTDIR=os.path.join(node.dir, "load"))
        load = subprocess.Popen(
            ["bash", os.path.join(SHARED, "bench", "run-message-load.sh"), "127.0.0.1",
             str(node.ports["udp"]), "udp", "200", "60"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(3)  # SIPp running
        probe = UA("probe", "x", "domainb.test", node.addr("udp"))
        try:
            for i in range(500):
                target = "sip:nobody@live%d.test" % i
                st, js, _ = node.api("POST", "/api/v1/domains", {"name": "live%d.test" % i})
                self.assertEqual(st, 201, js)
                self.assertEqual(probe.request("MESSAGE", target, "<%s>" % target, body=b"x",
                                               content_type="text/plain").code, 404, i)
                st, js, _ = node.api("DELETE", "/api/v1/domains/live%d.test" % i)
                self.assertEqual(st, 200, js)
                self.assertEqual(probe.request("MESSAGE", target, "<%s>" % target, body=b"x",
                                               content_type="text/plain").code, 403, i)
            self.assertLess(load.poll() or 0, 1, "SIPp ended before the changes did")
        finally:
            probe.close()
            out, _ = load.communicate(timeout=120)
        summary = [l for l in out.splitlines() if l.startswith("rate=")]
        self.assertTrue(summary, out)
        self.assertIn(" failed=0 ", summary[-1], out)
        self.assertIn(" timeouts=0 ", summary[-1], out)
        self.assertEqual(load.returncode, 0, out)
        node.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
