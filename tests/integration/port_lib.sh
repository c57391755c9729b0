# free_port LO HI HOST...: a port in LO..HI free on every host given
# (sourced by ha_lib.sh and tcp_lib.sh).  Loopback hosts only.
free_port() {
	python3 - "$@" <<'PYEOF'
import random, socket, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
for _ in range(200):
    p = random.randint(lo, hi)
    try:
        for h in sys.argv[3:]:
            s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
            s.bind((h, p))
            s.close()
        print(p)
        break
    except OSError:
        pass
PYEOF
}
