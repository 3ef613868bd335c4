// Package cluster is Storm's cluster state over ZooKeeper: ClusterState, the
// path/value store over one go-zookeeper connection chrooted at
// storm.zookeeper.root, and StormClusterState, Storm's domain API over it
// (assignments, storm bases, supervisor and worker heartbeats, errors).
//
// The daemons never talk to each other directly; they meet here. As in
// Storm's cluster.clj and StormClusterStateImpl:
//
//   - getters set a watch only when given a callback, and callbacks are
//     one-shot: taken out of their slot before they run, so an owner
//     re-registers by reading again (usually from inside the callback);
//   - one dispatcher routes every watch event by the first segment of its
//     path, as Storm 1.x's condp: /assignments, /supervisors, /blobstore,
//     /storms, /credentials, /logconfigs and /backpressure are known
//     (/storms, /credentials, /logconfigs and /backpressure without an id
//     issue nothing); every other path (/workerbeats, /errors, /nimbuses,
//     anything unknown), the root included (it has no first
//     segment), is fatal for the owning daemon (Storm exits with code 30,
//     cluster.ExitUnknownSubtree). Storm 2.x's StormClusterStateImpl differs
//     on two paths: it ignores the root and exits on /storms alone;
//   - a lost session is survived: a new session is opened, this state's
//     ephemeral nodes are re-created, and every stored one-shot callback and
//     every OnReconnect function runs, since watches die with a session;
//   - an operation is retried across a lost connection or session, as
//     Curator's retry policy does for Storm: while a server restarts (the
//     session alive), an operation waits for the session's next connection
//     instead of failing, up to twice the session timeout.
//
// Callbacks run on the ClusterState's single dispatcher goroutine, in event
// order: they should hand work to the owner's event manager and return.
// Records are JSON with a "v" schema version, readable by any ZooKeeper client.
package cluster
