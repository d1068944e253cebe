"""Runs the console's browser test (console.test.mjs, playwright-core + Debian's chromium) against
a real node started by the harness. Screenshots go to HERALD_SCREENSHOT_DIR (ctest sets it to
Testing/console-screenshots in the build folder).

Run: HERALD_BINARY=build/herald python3 tests/browser/run_console_test.py
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from harness import Node  # noqa: E402


def main():
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        print("playwright-core is not installed: run scripts/install-deps.sh", file=sys.stderr)
        return 1
    node = Node(domains=("example.com",), transports=("udp",))
    try:
        node.start()
        env = dict(os.environ, HERALD_URL=node.admin_url, HERALD_ADMIN_USER="admin",
                   HERALD_ADMIN_PASSWORD=node.admin_password)
        env.setdefault("HERALD_SCREENSHOT_DIR", os.path.join(node.dir, "screenshots"))
        r = subprocess.run(["node", "--test", "--test-reporter=spec", "console.test.mjs"],
                           cwd=HERE, env=env, timeout=300)
        if node.proc.poll() is not None:
            print("the node died during the browser test:\n" + node.log_text(), file=sys.stderr)
            return 1
        node.stop()
        return r.returncode
    finally:
        node.cleanup()


if __name__ == "__main__":
    sys.exit(main())
