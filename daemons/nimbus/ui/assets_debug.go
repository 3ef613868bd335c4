package ui

// Storm UI's Debug / Stop Debug buttons (debug.js): a file of its own beside
// app.js, which it extends through its ext registry.
func init() {
	assets["/debug.js"] = asset{"debug.js", "text/javascript; charset=utf-8"}
}
