"""An HTTPS server for MTA-STS policies (RFC 8461 3.3) in tests: Python's
http.server with ssl, on a loopback address, in a thread of its own.
It answers GET /.well-known/mta-sts.txt by the Host header:

    server.policies["mta-sts.example.test"] = "version: STSv1\\n..."  # 200 text/plain
    server.replies["mta-sts.other.test"] = (302, "https://elsewhere/", "text/plain")

A host without an entry gets 404. `requests` lists the hosts asked, in order.
"""
import http.server
import ssl
import threading


class PolicyServer:
    def __init__(self, host, port, cert, key):
        self.policies = {}
        self.replies = {}  # host -> (status, body or Location, content type)
        self.requests = []
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                with owner.lock:
                    owner.requests.append((host, self.path))
                    policy = owner.policies.get(host)
                    reply = owner.replies.get(host)
                if reply:
                    status, text, ctype = reply
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", text)
                        text = ""
                    body = text.encode()
                elif policy is not None and self.path == "/.well-known/mta-sts.txt":
                    status, ctype, body = 200, "text/plain", policy.encode()
                    self.send_response(200)
                else:
                    status, ctype, body = 404, "text/plain", b"not found\n"
                    self.send_response(404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def asked(self, host):
        with self.lock:
            return sum(1 for h, _ in self.requests if h == host)
