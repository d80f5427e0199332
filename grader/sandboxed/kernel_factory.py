"""Warm kernel start: a process that imports torch and ipykernel once, then forks every student kernel from itself.

It runs as its own program (`python -E -s -c <this source> <launcher source> <paths under /tmp, JSON>`),
started by the grader with a scrubbed environment and given nothing secret. It never runs student code: every
kernel is a fresh fork of a process no student has touched, so nothing one student does can reach the next.

A kernel joins a sandbox that already exists: the grader starts bubblewrap with a holder process (the
launcher's `hold` mode), and the fork enters the holder's namespaces (setns: IPC, UTS, network, cgroup, PID,
mount), then, as the launcher does, drops to the sandbox uid under the same resource limits and becomes the
kernel. It lives in the sandbox's PID namespace, so it dies when the sandbox does; this process, its
subreaper, reaps it.

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout.
  request  {"holder": pid, "uid": int|null, "gid": int|null, "limits": {...}, "env": {...}, "cwd": str,
            "argv": [kernel arguments]}
  reply    {"pid": kernel pid on the host} or {"error": "..."}
The first line written is {"ready": [modules imported], "failed": {module: error}}. Standard library only
until the preload.
"""

import ctypes
import json
import os
import signal
import sys

NAMESPACES = ("ipc", "uts", "net", "cgroup", "pid", "mnt")  # mnt last: after it, /proc is the sandbox's own
# Ready to fork once these are imported; the rest follow between requests (a fork never lands mid-import:
# this process has one thread), so the first kernel (the probe's) does not wait for what only later ones use.
# torch._dynamo is what torch imports at a kernel's first optimizer.step() (about 1.1 s): it comes in pieces
# (sympy, fsdp, the rest), so that a request waits for one piece at most. Not pyplot, nor the inline
# backend: imported before the kernel's shell exists, figures would never reach the notebook.
PRELOAD = ("torch", "numpy", "ipykernel.kernelapp")
PRELOAD_LATER = ("ipykernel.debugger", "matplotlib", "matplotlib.figure", "matplotlib.font_manager", "sympy",
                 "torch.fx.experimental.symbolic_shapes", "torch.distributed.fsdp", "torch._dynamo")
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38


def preload(names: tuple = PRELOAD) -> tuple:
    """Import what every kernel would import; a module that fails to import is left to the kernel, and named
    with its error so that the grader can say why warm start is off."""
    loaded, failed = [], {}
    for name in names:
        try:
            __import__(name)
            loaded.append(name)
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"[:300]
    return loaded, failed


def requests(later: list):
    """The spawn requests on stdin, one per line, importing `later`'s modules one by one while none waits."""
    import select

    while True:
        while later and not select.select([sys.stdin], [], [], 0)[0]:
            preload((later.pop(0),))
        line = sys.stdin.readline()
        if not line:
            return
        yield line


def serve(launcher: dict) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    # No PR_SET_PDEATHSIG: it follows the thread that started this process, not the process. When the grader
    # process ends, stdin reaches its end and so does this loop.
    # A kernel outlives the fork that made it; as its subreaper this process, not the machine's init (which
    # may reap slowly), inherits it, and with SIGCHLD ignored the kernel's zombie is gone the moment it dies.
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing imported may write into the protocol
    loaded, failed = preload()
    replies.write(json.dumps({"ready": loaded, "failed": failed}) + "\n")
    for line in requests(list(PRELOAD_LATER)):
        try:
            reply = {"pid": spawn(libc, json.loads(line), launcher)}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")


def spawn(libc: ctypes.CDLL, request: dict, launcher: dict) -> int:
    """Fork a kernel into the holder's sandbox; return its pid as this process sees it."""
    holder = int(request["holder"])
    namespace_fds = [os.open(f"/proc/{holder}/ns/{name}", os.O_RDONLY) for name in NAMESPACES]
    read_end, write_end = os.pipe()
    try:
        child = os.fork()
        if child == 0:
            _enter_and_fork(libc, namespace_fds, read_end, write_end, request, launcher)
        os.close(write_end)
        answer = b""
        while chunk := os.read(read_end, 64):
            answer += chunk
    finally:
        for fd in namespace_fds:
            os.close(fd)
        os.close(read_end)
    text = answer.decode()
    if not text.isdigit():
        raise OSError(text or "the kernel process did not start")
    return int(text)


def _enter_and_fork(libc: ctypes.CDLL, namespace_fds: list, read_end: int, write_end: int, request: dict,
                    launcher: dict) -> None:
    """In the first fork: join the namespaces, fork the kernel (a new PID namespace applies to children only)."""
    try:
        os.close(read_end)
        for name, fd in zip(NAMESPACES, namespace_fds):
            if libc.setns(fd, 0) != 0:
                raise OSError(ctypes.get_errno(), f"setns({name}) failed: {os.strerror(ctypes.get_errno())}")
        kernel = os.fork()
        if kernel == 0:
            os.close(write_end)
            _become_kernel(request, launcher)
        os.write(write_end, str(kernel).encode())
    except BaseException as exc:
        try:
            os.write(write_end, f"{type(exc).__name__}: {exc}".encode()[:500])
        finally:
            os._exit(1)
    os._exit(0)


def _become_kernel(request: dict, launcher: dict) -> None:
    """In the kernel: a session of its own, nothing inherited, the launcher's limits and uid, then ipykernel."""
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 65536)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.dont_write_bytecode = True
        # As under bubblewrap: no exec can ever gain privileges (setuid binaries, file capabilities).
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
        if request.get("uid") is not None:
            launcher["drop_privileges"](request["uid"], request["gid"])
        launcher["apply_limits"](request.get("limits", {}))
        _reseed()
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=request["argv"])
    except BaseException:
        os._exit(1)
    os._exit(0)


def _reseed() -> None:
    """Forks share their parent's random state; every kernel gets its own, as a fresh process would."""
    import random

    random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()


def private_tmp(libc: ctypes.CDLL, keep: list) -> None:
    """A /tmp of this process's own, where a kernel's /tmp is: the imports cache paths under it (tempfile's
    folder, matplotlib's), which must be right in the kernels, and must not write into the machine's /tmp.
    `keep`: paths under the machine's /tmp that Python needs (a virtualenv there), bound back read-only."""
    clone_newns, ms_rec, ms_private, ms_bind, ms_remount, ms_rdonly = 0x00020000, 0x4000, 1 << 18, 4096, 32, 1
    if libc.unshare(clone_newns) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    if libc.mount(b"none", b"/", None, ms_rec | ms_private, None) != 0:
        raise OSError(ctypes.get_errno(), "making the mounts private failed")
    host_tmp = os.open("/tmp", os.O_PATH | os.O_DIRECTORY)  # still reaches the machine's /tmp once covered
    if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, b"mode=1777") != 0:
        raise OSError(ctypes.get_errno(), "mounting a private /tmp failed")
    for path in keep:
        source = f"/proc/self/fd/{host_tmp}/{os.path.relpath(path, '/tmp')}".encode()
        os.makedirs(path, exist_ok=True)
        if libc.mount(source, path.encode(), None, ms_bind | ms_rec, None) != 0 or \
                libc.mount(None, path.encode(), None, ms_remount | ms_bind | ms_rdonly, None) != 0:
            raise OSError(ctypes.get_errno(), f"binding {path} into the private /tmp failed")
    os.close(host_tmp)


def main(argv: list) -> None:
    if sys.path and sys.path[0] == "":
        del sys.path[0]  # IPython puts the kernel's working directory back, as in any kernel
    private_tmp(ctypes.CDLL(None, use_errno=True), json.loads(argv[2]) if len(argv) > 2 else [])
    launcher: dict = {"__name__": "grader_launcher"}
    exec(argv[1], launcher)  # the launcher's functions, from trusted source text: one copy of the limits code
    serve(launcher)


if __name__ == "__main__":
    main(sys.argv)
