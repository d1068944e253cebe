"""A small SIP user agent for Herald's integration tests (standard library only).

It registers with digest authentication (SHA-256 or MD5), sends MESSAGE and other requests
(answering 401/407 challenges), and answers incoming requests with 200 while recording them,
over UDP, TCP or TLS. It is a test client, not a general SIP stack: one outstanding request at a
time, no INVITE dialogs.

    ua = UA("alice", "secret", "example.com", ("127.0.0.1", 5060), transport="tcp")
    ua.register()
    code = ua.message("sip:bob@example.com", "hello")
    ua.close()
"""

import hashlib
import queue
import random
import re
import socket
import ssl
import threading
import time


def _rand(n=10):
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


class Message:
    """A parsed SIP message: start line, headers (name, value) in order, body."""

    def __init__(self, raw: bytes):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
            elif ":" in line:
                name, value = line.split(":", 1)
                self.headers.append((name.strip(), value.strip()))
        self.is_response = self.start.startswith("SIP/2.0 ")
        self.code = int(self.start.split(" ")[1]) if self.is_response else 0
        self.method = None if self.is_response else self.start.split(" ")[0]

    COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "l": "content-length", "c": "content-type"}

    def all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if self.COMPACT.get(n.lower(), n.lower()) == name]

    def get(self, name, default=None):
        values = self.all(name)
        return values[0] if values else default


class UA:
    def __init__(self, user, password, domain, server, transport="udp", cafile=None,
                 local_host="127.0.0.1", auto_answer=200):
        self.user, self.password, self.domain = user, password, domain
        self.server = server
        self.transport = transport
        self.auto_answer = auto_answer
        self.received = []          # incoming requests (Message)
        self.responses = queue.Queue()
        self.cseq = 0
        self.call_id = _rand(16) + "@" + local_host
        self.tag = _rand(8)
        self.closed = False
        self._lock = threading.Lock()
        self._buffer = b""
        if ":" in server[0] and local_host == "127.0.0.1":
            local_host = "::1"
        if transport == "udp":
            family = socket.AF_INET6 if ":" in local_host else socket.AF_INET
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind((local_host, 0))
        else:
            raw = socket.create_connection(server, timeout=5)
            if transport == "tls":
                ctx = ssl.create_default_context(cafile=cafile)
                ctx.check_hostname = False
                if cafile is None:
                    ctx.verify_mode = ssl.CERT_NONE
                raw = ctx.wrap_socket(raw, server_hostname=server[0])
            self.sock = raw
            self.sock.settimeout(None)
        self.local = self.sock.getsockname()[:2]
        # The host as it appears in a SIP URI or Via: IPv6 references in brackets.
        self.local_host = "[%s]" % self.local[0] if ":" in self.local[0] else self.local[0]
        self.contact = "<sip:%s@%s:%d;transport=%s>" % (user, self.local_host, self.local[1],
                                                        transport)
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()

    # -- wire -----------------------------------------------------------------------------

    def send_raw(self, data: bytes):
        with self._lock:
            if self.transport == "udp":
                self.sock.sendto(data, self.server)
            else:
                self.sock.sendall(data)

    def _reader(self):
        while not self.closed:
            try:
                if self.transport == "udp":
                    data, _ = self.sock.recvfrom(65535)
                    self._dispatch(data)
                    continue
                chunk = self.sock.recv(65535)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            self._buffer += chunk
            while True:
                self._buffer = self._buffer.lstrip(b"\r\n")
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = self._buffer[:end].decode("utf-8", "replace")
                m = re.search(r"(?im)^(content-length|l)\s*:\s*(\d+)", head)
                length = int(m.group(2)) if m else 0
                total = end + 4 + length
                if len(self._buffer) < total:
                    break
                data, self._buffer = self._buffer[:total], self._buffer[total:]
                self._dispatch(data)

    def _dispatch(self, data):
        if not data.strip():
            return
        msg = Message(data)
        if msg.is_response:
            self.responses.put(msg)
            return
        self.received.append(msg)
        if msg.method != "ACK" and self.auto_answer:
            self.send_raw(self.response_to(msg, self.auto_answer))

    def response_to(self, req, code, reason="OK"):
        lines = ["SIP/2.0 %d %s" % (code, reason)]
        for v in req.all("via"):
            lines.append("Via: " + v)
        lines.append("From: " + req.get("from"))
        to = req.get("to")
        if ";tag=" not in to:
            to += ";tag=" + _rand(6)
        lines.append("To: " + to)
        lines.append("Call-ID: " + req.get("call-id"))
        lines.append("CSeq: " + req.get("cseq"))
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    # -- requests -------------------------------------------------------------------------

    def _via(self):
        return "SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport" % (
            self.transport.upper(), self.local_host, self.local[1], _rand(12))

    def build(self, method, uri, to, extra=None, body=b"", content_type=None, call_id=None,
              from_tag=None):
        self.cseq += 1
        lines = ["%s %s SIP/2.0" % (method, uri), "Via: " + self._via(), "Max-Forwards: 70",
                 "From: <sip:%s@%s>;tag=%s" % (self.user, self.domain, from_tag or self.tag),
                 "To: " + to, "Call-ID: " + (call_id or self.call_id),
                 "CSeq: %d %s" % (self.cseq, method), "Contact: " + self.contact]
        lines += extra or []
        if isinstance(body, str):
            body = body.encode()
        if body:
            lines.append("Content-Type: " + (content_type or "text/plain"))
        lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def wait_response(self, timeout=5.0, final=True):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            try:
                msg = self.responses.get(timeout=left)
            except queue.Empty:
                return None
            if final and msg.code < 200:
                continue
            return msg

    def _authorization(self, challenge, method, uri, header):
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
        algorithm = params.get("algorithm", "MD5")
        h = (lambda s: hashlib.sha256(s.encode()).hexdigest()) if algorithm == "SHA-256" else \
            (lambda s: hashlib.md5(s.encode()).hexdigest())
        nc, cnonce = "00000001", _rand(8)
        ha1 = h("%s:%s:%s" % (self.user, params["realm"], self.password))
        ha2 = h("%s:%s" % (method, uri))
        response = h("%s:%s:%s:%s:auth:%s" % (ha1, params["nonce"], nc, cnonce, ha2))
        return ('%s: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                'algorithm=%s, qop=auth, nc=%s, cnonce="%s"' % (
                    header, self.user, params["realm"], params["nonce"], uri, response,
                    algorithm, nc, cnonce))

    def request(self, method, uri, to, extra=None, body=b"", content_type=None, algorithm=None,
                timeout=5.0, call_id=None):
        """Sends a request, answers one digest challenge, returns the final response."""
        self.send_raw(self.build(method, uri, to, extra, body, content_type, call_id))
        resp = self.wait_response(timeout)
        if resp is not None and resp.code in (401, 407):
            header = "WWW-Authenticate" if resp.code == 401 else "Proxy-Authenticate"
            reply = "Authorization" if resp.code == 401 else "Proxy-Authorization"
            challenges = resp.all(header)
            chosen = challenges[0]
            if algorithm:
                chosen = next(c for c in challenges if "algorithm=" + algorithm in c)
            auth = self._authorization(chosen, method, uri, reply)
            self.send_raw(self.build(method, uri, to, (extra or []) + [auth], body, content_type,
                                     call_id))
            resp = self.wait_response(timeout)
        return resp

    def register(self, expires=3600, algorithm=None, contact=None):
        extra = ["Expires: %d" % expires]
        if contact:
            self.contact = contact
        uri = "sip:" + self.domain
        resp = self.request("REGISTER", uri, "<sip:%s@%s>" % (self.user, self.domain), extra,
                            algorithm=algorithm)
        return resp.code if resp else None

    def message(self, target, text, algorithm=None, timeout=5.0):
        resp = self.request("MESSAGE", target, "<%s>" % target, body=text,
                            algorithm=algorithm, timeout=timeout, call_id=_rand(16))
        return resp.code if resp else None

    def wait_received(self, count=1, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.received) >= count:
                return True
            time.sleep(0.02)
        return len(self.received) >= count

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
