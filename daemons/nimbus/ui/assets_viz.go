package ui

// The live charts (charts.js, charts.css) and the ZooKeeper explorer
// (zk.js): files of their own beside app.js, which they extend through its
// ext registry.
func init() {
	for _, f := range []string{"charts.js", "zk.js"} {
		assets["/"+f] = asset{f, "text/javascript; charset=utf-8"}
	}
	assets["/charts.css"] = asset{"charts.css", "text/css; charset=utf-8"}
}
