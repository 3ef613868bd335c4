# Writes to stderr and exits without answering the handshake.
import sys

sys.stderr.write("cannot start: missing configuration\n")
sys.exit(2)
