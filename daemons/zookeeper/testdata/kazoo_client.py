#!/usr/bin/env python3
"""Exercise a ZooKeeper server with kazoo, a client no one in this project wrote.

Usage: kazoo_client.py HOST:PORT ROOT

Runs CRUD, watches, transactions, and kazoo's Lock and Election recipes with
contending clients under ROOT. Prints one "ok <step>" line per step and exits 0;
on the first failure prints "FAIL <step>: <why>" and exits 1.
"""

import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NoNodeError, NodeExistsError, NotEmptyError
from kazoo.recipe.election import Election
from kazoo.recipe.lock import Lock

ADDR, ROOT = sys.argv[1], sys.argv[2]
TIMEOUT = 10


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


def expect(exc, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc:
        return
    raise Failure("%s(%s) did not raise %s" % (fn.__name__, args, exc.__name__))


def client():
    c = KazooClient(hosts=ADDR, timeout=TIMEOUT)
    c.start(timeout=TIMEOUT)
    return c


def crud(zk):
    zk.create(ROOT, b"")
    path = zk.create(ROOT + "/a", b"one")
    check(path == ROOT + "/a", "create returned %r" % path)
    data, st = zk.get(ROOT + "/a")
    check(data == b"one" and st.version == 0 and st.data_length == 3, "get = %r %r" % (data, st))
    st = zk.set(ROOT + "/a", b"two", version=0)
    check(st.version == 1, "set stat %r" % (st,))
    expect(BadVersionError, zk.set, ROOT + "/a", b"x", version=0)
    expect(NodeExistsError, zk.create, ROOT + "/a", b"")
    expect(NoNodeError, zk.get, ROOT + "/missing")
    check(zk.exists(ROOT + "/missing") is None, "exists on a missing node")
    zk.ensure_path(ROOT + "/deep/x/y")
    expect(NotEmptyError, zk.delete, ROOT + "/deep")
    seq = zk.create(ROOT + "/s-", sequence=True)
    suffix = seq[len(ROOT + "/s-"):]
    check(len(suffix) == 10 and suffix.isdigit(), "sequential name %r" % seq)
    zk.create(ROOT + "/e", ephemeral=True)
    _, st = zk.get(ROOT + "/e")
    check(st.ephemeralOwner == zk.client_id[0], "ephemeralOwner %x, session %x" % (st.ephemeralOwner, zk.client_id[0]))
    kids = sorted(zk.get_children(ROOT))
    check(kids == sorted(["a", "deep", "e", seq.rsplit("/", 1)[1]]), "children %r" % kids)
    zk.delete(ROOT + "/deep", recursive=True)
    check(zk.exists(ROOT + "/deep") is None, "recursive delete left the node")
    _, st = zk.get(ROOT)
    check(st.numChildren == 3, "numChildren %d" % st.numChildren)


def watches(zk, other):
    fired = []
    got = threading.Event()

    def on_event(event):
        fired.append(event)
        got.set()

    zk.get(ROOT + "/a", watch=on_event)
    other.set(ROOT + "/a", b"three")
    check(got.wait(TIMEOUT), "no data watch event")
    check(fired[0].type == "CHANGED" and fired[0].path == ROOT + "/a", "data event %r" % (fired[0],))

    got.clear()
    zk.get_children(ROOT, watch=on_event)
    other.create(ROOT + "/w")
    check(got.wait(TIMEOUT), "no child watch event")
    check(fired[1].type == "CHILD", "child event %r" % (fired[1],))

    got.clear()
    zk.exists(ROOT + "/later", watch=on_event)
    other.create(ROOT + "/later")
    check(got.wait(TIMEOUT), "no exists watch event")
    check(fired[2].type == "CREATED", "exists event %r" % (fired[2],))

    # kazoo's DataWatch recipe re-registers after every event.
    seen = []
    changed = threading.Condition()

    @zk.DataWatch(ROOT + "/a")
    def watch_a(data, stat):
        with changed:
            seen.append(data)
            changed.notify_all()

    for value in (b"four", b"five"):
        other.set(ROOT + "/a", value)
    with changed:
        ok = changed.wait_for(lambda: seen and seen[-1] == b"five", TIMEOUT)
    check(ok, "DataWatch saw %r" % seen)


def transactions(zk):
    version = zk.get(ROOT + "/a")[1].version
    t = zk.transaction()
    t.create(ROOT + "/t1", b"1")
    t.check(ROOT + "/a", version)
    t.set_data(ROOT + "/t1", b"2")
    t.delete(ROOT + "/w")
    results = t.commit()
    check(results[0] == ROOT + "/t1" and results[1] is True and results[3] is True,
          "transaction results %r" % (results,))
    data, _ = zk.get(ROOT + "/t1")
    check(data == b"2", "transaction set_data gave %r" % data)

    t = zk.transaction()
    t.create(ROOT + "/t2", b"")
    t.check(ROOT + "/a", 99)
    t.delete(ROOT + "/t1")
    results = t.commit()
    check(isinstance(results[1], BadVersionError), "failing check result %r" % (results,))
    check(zk.exists(ROOT + "/t2") is None and zk.exists(ROOT + "/t1") is not None,
          "a failed transaction was applied")


def contend(clients, body):
    """Run body(client, index) on each client in its own thread; collect errors."""
    errors = []

    def run(c, i):
        try:
            body(c, i)
        except Exception as e:  # reported by the main thread
            errors.append("%s: %r" % (i, e))

    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
        check(not th.is_alive(), "a contender did not finish within 60s")
    check(not errors, "; ".join(errors))


def lock(clients):
    inside = []
    overlaps = []
    rounds = 5

    def body(c, i):
        lk = Lock(c, ROOT + "/lock", identifier="worker-%d" % i)
        for _ in range(rounds):
            with lk:
                inside.append(i)
                if len(inside) > 1:
                    overlaps.append(list(inside))
                time.sleep(0.01)
                inside.remove(i)

    contend(clients, body)
    check(not overlaps, "two holders of the lock at once: %r" % overlaps)
    check(not clients[0].get_children(ROOT + "/lock"), "lock nodes left behind")


def election(clients):
    leaders = []
    mutex = threading.Lock()

    def lead(i):
        with mutex:
            leaders.append(i)
            check(len(leaders) <= len(clients), "too many leaders")
        time.sleep(0.05)

    def body(c, i):
        Election(c, ROOT + "/election", identifier="candidate-%d" % i).run(lead, i)

    contend(clients, body)
    check(sorted(leaders) == list(range(len(clients))), "leaders %r" % leaders)


def session_end(zk, other):
    # An ephemeral of a closed session is gone and its watch fired.
    gone = threading.Event()
    other.exists(ROOT + "/e", watch=lambda ev: gone.set())
    zk.stop()
    zk.close()
    check(gone.wait(TIMEOUT), "no event for the ephemeral of a closed session")
    check(other.exists(ROOT + "/e") is None, "ephemeral survived its session")


def main():
    zk, other = client(), client()
    contenders = [client() for _ in range(3)]
    steps = [
        ("crud", lambda: crud(zk)),
        ("watches", lambda: watches(zk, other)),
        ("transactions", lambda: transactions(zk)),
        ("lock", lambda: lock(contenders)),
        ("election", lambda: election(contenders)),
        ("session end", lambda: session_end(zk, other)),
    ]
    try:
        for name, step in steps:
            try:
                step()
            except Failure as e:
                print("FAIL %s: %s" % (name, e))
                return 1
            except Exception as e:
                print("FAIL %s: %r" % (name, e))
                return 1
            print("ok " + name)
            sys.stdout.flush()
        return 0
    finally:
        for c in [other] + contenders:
            c.stop()
            c.close()


if __name__ == "__main__":
    sys.exit(main())
