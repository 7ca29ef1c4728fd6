"""A child process that runs ``bulk_import`` on the files it is sent, one JSON line each.

It may crash (a native reader's abort), hang or blow up its memory: the parent
(:class:`Worker`) sees it, reports the input, and starts a new one. Each request is
``{"args": [...], "settings": {...}}``; each answer says the exit status, stderr, whether
stdout was one JSON object, whether the table is as it was, the time and the peak memory.
"""

import json
import os
import resource
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Large enough for Django and the readers, small enough that a runaway allocation fails
# (and a native reader aborts) in this process instead of exhausting the machine.
ADDRESS_SPACE = 6 * 1024**3


def _peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets VmHWM to the current RSS (Linux 4.0 and later)
    except OSError:
        pass


def serve():
    import io

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.core.management import CommandError, call_command
    from django.test.utils import override_settings

    from tests.testapp.models import Author, Book, Event

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    def reset():
        Book.objects.all().delete()
        Event.objects.all().delete()
        Author.objects.all().delete()
        author = Author.objects.create(name="Ann")
        Book.objects.create(isbn="111", title="Kept", author=author)

    def snapshot():
        return [
            list(Book.objects.order_by("pk").values_list()),
            list(Event.objects.order_by("pk").values_list()),
        ]

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        reset()
        before = snapshot()
        out, err = io.StringIO(), io.StringIO()
        _reset_peak()
        started = time.monotonic()
        code = 0
        try:
            with override_settings(**request.get("settings", {})):
                call_command("bulk_import", *request["args"], stdout=out, stderr=err)
        except CommandError as error:
            err.write("CommandError: %s\n" % error)
            code = error.returncode
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        except BaseException:  # what the command let through: a finding
            import traceback

            err.write(traceback.format_exc())
            code = -1
        seconds = time.monotonic() - started
        try:
            json_ok = isinstance(json.loads(out.getvalue()), dict)
        except ValueError:
            json_ok = False
        answer = {
            "code": code,
            "stderr": err.getvalue()[-4000:],
            "json": json_ok,
            "unchanged": snapshot() == before,
            "seconds": seconds,
            "peak_mb": _peak_mb(),
        }
        sys.stdout.write(json.dumps(answer, default=str) + "\n")
        sys.stdout.flush()


class Worker:
    """The parent's handle on a worker process; restarted after a crash or a hang."""

    def __init__(self, env=None, timeout=60.0):
        self.env = {**os.environ, **(env or {})}
        self.timeout = timeout
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.worker"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = self._read_line(120.0)
        if ready != "ready":
            raise RuntimeError("the fuzz worker did not start: %s" % self._stderr())

    def _read_line(self, timeout):
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        return self.process.stdout.readline().strip()

    def _stderr(self):
        self.process.kill()
        return self.process.stderr.read()[-4000:]

    def run(self, args, settings=None):
        """Run one import; return the answer, or a dict with ``crash``/``hang`` set."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        self.process.stdin.write(json.dumps({"args": args, "settings": settings or {}}) + "\n")
        self.process.stdin.flush()
        line = self._read_line(self.timeout)
        if line is None:
            self.process.kill()
            self.process.wait()
            self.process = None
            return {"hang": True, "code": None}
        if not line:
            code = self.process.wait()
            stderr = self.process.stderr.read()[-4000:]
            self.process = None
            return {"crash": code, "code": None, "stderr": stderr}
        return json.loads(line)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.process.stdout.close()
            self.process.stderr.close()
        self.process = None


if __name__ == "__main__":
    serve()
