# Answers the handshake, then never reads nor writes again.
import json
import os
import sys
import time

setup = ""
for line in sys.stdin:
    if line.strip() == "end":
        break
    setup += line
pid_dir = json.loads(setup)["pidDir"]
open(os.path.join(pid_dir, str(os.getpid())), "w").close()
sys.stdout.write(json.dumps({"pid": os.getpid()}) + "\nend\n")
sys.stdout.flush()
time.sleep(3600)
