"""Starts and stops Herald nodes for integration tests: a temporary data folder, listeners on
127.0.0.1 with ports chosen by the kernel (read back from the node's log), users created with
the herald CLI, and clean shutdown (SIGTERM) or a crash (SIGKILL)."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

HERALD = os.environ.get("HERALD_BINARY", "build/herald")


ADMIN_PASSWORD = "integration-admin-pass"


def quiet_port():
    """A port free for UDP and TCP on 127.0.0.1, below the ephemeral range (32768-60999)."""
    import random
    import socket
    for _ in range(200):
        port = random.randint(20000, 32000)
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket()]
        try:
            for sock in socks:
                sock.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free port below the ephemeral range")


class Node:
    def __init__(self, domains=("example.com",), extra="", trusted=(), transports=("udp", "tcp", "tls"),
                 workers=2, log_level="info", ipv6=False, fixed_ports=False):
        """fixed_ports: SIP ports below the kernel's ephemeral range, for tests that close and
        reopen them (a port of the ephemeral range may be handed to any socket meanwhile)."""
        self.dir = tempfile.mkdtemp(prefix="herald-it-")
        self.config = os.path.join(self.dir, "node.toml")
        self.log_path = os.path.join(self.dir, "node.log")
        self.proc = None
        self.ports = {}
        self.ports6 = {}  # listeners on ::1 when ipv6
        self.admin_url = None  # http://127.0.0.1:PORT, read from the log
        self.admin_password = ADMIN_PASSWORD
        self.token = None
        listen = "".join('[[sip.listen]]\ntransport = "%s"\naddress = "127.0.0.1"\nport = %d\n'
                         % (t, quiet_port() if fixed_ports else 0) for t in transports)
        if ipv6:
            listen += "".join('[[sip.listen]]\ntransport = "%s"\naddress = "::1"\nport = 0\n' % t
                              for t in transports)
        with open(self.config, "w") as f:
            f.write('[node]\nname = "it"\ndata_dir = "data"\n[log]\nlevel = "%s"\n' % log_level)
            f.write("[sip]\ndomains = [%s]\nworkers = %d\nhostname = \"127.0.0.1\"\n" % (
                ", ".join('"%s"' % d for d in domains), workers))
            if trusted:
                f.write("trusted_sources = [%s]\n" % ", ".join('"%s"' % t for t in trusted))
            f.write(listen)
            # The admin API on a port of the kernel's choice, so that nodes run side by side.
            f.write('[admin]\naddress = "127.0.0.1"\nport = 0\ninitial_password = "%s"\n'
                    % ADMIN_PASSWORD)
            f.write(extra)

    def cli(self, *args, stdin=None):
        return subprocess.run([HERALD, *args, "-c", self.config], input=stdin, capture_output=True,
                              text=True, timeout=30)

    def add_user(self, address, password):
        r = self.cli("user", "add", address, "--password", password)
        if r.returncode != 0:
            raise RuntimeError("user add failed: " + r.stderr)

    def start(self, timeout=15):
        offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([HERALD, "serve", "--config", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path) as f:
                f.seek(offset)
                text = f.read()
            if "running; stop with" in text:
                first = not self.ports
                self.ports = {t: int(p) for t, p in
                              re.findall(r"SIP listening on (udp|tcp|tls) 127\.0\.0\.1:(\d+)", text)}
                self.ports6 = {t: int(p) for t, p in
                               re.findall(r"SIP listening on (udp|tcp|tls) \[::1\]:(\d+)", text)}
                m = re.search(r"admin console and API on (http\S+)", text)
                self.admin_url = m.group(1).rstrip("/") if m else None
                self.token = None
                if first:
                    # A restart binds the same ports, as a real node does.
                    with open(self.config) as f:
                        cfg = f.read()
                    for t, p in self.ports.items():
                        cfg = cfg.replace('transport = "%s"\naddress = "127.0.0.1"\nport = 0' % t,
                                          'transport = "%s"\naddress = "127.0.0.1"\nport = %d' % (t, p))
                    with open(self.config, "w") as f:
                        f.write(cfg)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("herald exited:\n" + text)
            time.sleep(0.05)
        raise RuntimeError("herald did not start:\n" + open(self.log_path).read())

    def api(self, method, path, body=None, headers=None, token=True, raw=None):
        """One admin API call: (status, parsed JSON or None, response headers). Logs in first."""
        if token and self.token is None:
            st, js, _ = self.api("POST", "/api/v1/login",
                                 {"username": "admin", "password": self.admin_password}, token=False)
            if st != 200:
                raise RuntimeError("admin login failed: %s %s" % (st, js))
            self.token = js["token"]
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.admin_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + self.token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None), dict(r.headers)
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                js = json.loads(text) if text else None
            except ValueError:
                js = None
            return e.code, js, dict(e.headers)

    def addr(self, transport="udp"):
        return ("127.0.0.1", self.ports[transport])

    def addr6(self, transport="udp"):
        return ("::1", self.ports6[transport])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        code = self.proc.returncode if self.proc else 0
        self.proc = None
        return code

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        return open(self.log_path).read()

    def cleanup(self):
        if self.proc:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
