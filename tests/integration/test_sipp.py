"""SIPp (Debian's sip-tester) against a running Herald: bob registers with digest and waits;
alice registers with digest, sends bob a MESSAGE, answers the proxy's 407 and gets bob's 200.
Over UDP and TCP (Debian's SIPp has no TLS; TLS is covered by test_sip_engine.py).
SIPp computes only MD5 digests, so this node offers MD5 alone. SIPp signs every request of a
run for one uri (-auth_uri), and Herald checks it against the Request-URI, so alice registers
and sends in two runs.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from harness import Node  # noqa: E402

SCENARIOS = os.path.join(os.path.dirname(__file__), "..", "data", "sipp")


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@unittest.skipIf(shutil.which("sipp") is None, "sipp (sip-tester) is not installed")
class SippTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(extra='[registrar]\ndigest_algorithms = ["MD5"]\n')
        cls.node.add_user("alice@example.com", "alice-pw")
        cls.node.add_user("bob@example.com", "bob-pw")
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.node.cleanup()

    def sipp(self, scenario, user, password, transport, auth_uri="example.com", background=False,
             port=None):
        flag = {"udp": "u1", "tcp": "t1"}[transport]
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        logs = self.node.dir
        cmd = ["sipp", "-sf", os.path.join(SCENARIOS, scenario), "-s", user, "-au", user, "-ap",
               password, "-auth_uri", auth_uri, "-m", "1", "-t", flag, "-i", "127.0.0.1", "-p",
               str(port or free_port(kind)), "-timeout", "30", "-nostdin", "-trace_err",
               "-error_file", os.path.join(logs, "%s-%s-%s-errors.log" % (
                   user, transport, scenario)), "127.0.0.1:%d" % self.node.ports[transport]]
        if background:
            return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def errors(self, user, transport, scenario):
        path = os.path.join(self.node.dir, "%s-%s-%s-errors.log" % (user, transport, scenario))
        return open(path).read() if os.path.exists(path) else ""

    def exchange(self, transport):
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        bob_port = free_port(kind)
        # bob registers from bob_port, then a SIPp server on that port takes his MESSAGE.
        reg = self.sipp("register.xml", "bob", "bob-pw", transport, port=bob_port)
        self.assertEqual(reg.returncode, 0, self.errors("bob", transport, "register.xml"))
        bob = self.sipp("receive_message.xml", "bob", "bob-pw", transport, background=True,
                        port=bob_port)
        time.sleep(0.5)  # let it bind
        reg = self.sipp("register.xml", "alice", "alice-pw", transport)
        self.assertEqual(reg.returncode, 0, self.errors("alice", transport, "register.xml"))
        alice = self.sipp("alice_send.xml", "alice", "alice-pw", transport,
                          auth_uri="bob@example.com")
        bob.wait(timeout=60)
        self.assertEqual(alice.returncode, 0, self.errors("alice", transport, "alice_send.xml"))
        self.assertEqual(bob.returncode, 0, self.errors("bob", transport, "receive_message.xml"))

    def test_register_and_message_over_udp(self):
        self.exchange("udp")

    def test_register_and_message_over_tcp(self):
        self.exchange("tcp")


if __name__ == "__main__":
    unittest.main(verbosity=2)
