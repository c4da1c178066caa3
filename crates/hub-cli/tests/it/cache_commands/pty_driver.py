"""Drive a command through a pseudo-terminal with a scripted conversation (test helper).

argv[1]: JSON {"argv": [...], "env": {...}, "cols": int, "rows": int, "steps": [...]}; steps:
  {"expect": REGEX}              read until REGEX matches the output since the last match
                                 (10 s at most); its groups become $1, $2... for later steps
  {"send": TEXT}                 write TEXT ("$1" etc. substituted)
  {"copy": PATH}                 copy the file named by $1 to PATH
  {"uncomment": [SUBSTRING...]}  in the file named by $1, drop the leading '#' of lines containing
                                 a substring (placeholders substituted)
Prints JSON {"output": ..., "code": ..., "captures": [every group matched, in order], "error": ...}.
"""
import fcntl, json, os, pty, re, select, shutil, struct, sys, termios, time

spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    # Sized before exec, so the command never sees a 0x0 terminal.
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", spec["rows"], spec["cols"], 0, 0))
    os.environ.update(spec.get("env", {}))
    for key in spec.get("unset", []):
        os.environ.pop(key, None)
    os.execv(spec["argv"][0], spec["argv"])

output = b""
cursor = 0
captures = []
history = []
error = None


def read_some(deadline):
    global output
    remaining = max(0.0, deadline - time.time())
    ready, _, _ = select.select([fd], [], [], min(remaining, 0.1))
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        output += chunk
    return True


def subst(text):
    for i, value in enumerate(captures, start=1):
        text = text.replace(f"${i}", value)
    return text


for step in spec["steps"]:
    if "expect" in step:
        pattern = re.compile(step["expect"].encode())
        deadline = time.time() + 10
        while True:
            match = pattern.search(output, cursor)
            if match:
                cursor = match.end()
                captures = [g.decode() for g in match.groups()] or captures
                history.extend(g.decode() for g in match.groups())
                break
            if time.time() > deadline or not read_some(deadline):
                match = pattern.search(output, cursor)
                if match:
                    cursor = match.end()
                    captures = [g.decode() for g in match.groups()] or captures
                    history.extend(g.decode() for g in match.groups())
                    break
                error = f"timeout waiting for {step['expect']!r}"
                break
        if error:
            break
    elif "send" in step:
        time.sleep(0.05)
        os.write(fd, subst(step["send"]).encode())
    elif "copy" in step:
        shutil.copyfile(captures[0], step["copy"])
    elif "uncomment" in step:
        with open(captures[0]) as f:
            lines = f.read().split("\n")
        wanted = [subst(s) for s in step["uncomment"]]
        lines = [l[1:] if l.startswith("#") and any(w in l for w in wanted) else l for l in lines]
        with open(captures[0], "w") as f:
            f.write("\n".join(lines))

deadline = time.time() + 10
status = None
while time.time() < deadline:
    alive = read_some(deadline)
    finished, wait_status = os.waitpid(pid, os.WNOHANG)
    if finished:
        status = wait_status
        while read_some(time.time() + 0.1):
            if not select.select([fd], [], [], 0)[0]:
                break
        break
    if not alive:
        time.sleep(0.02)
if status is None:
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    error = error or "the command did not exit"
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"output": output.decode(errors="replace"), "code": code, "captures": history, "error": error}))
