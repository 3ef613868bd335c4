package slotport

func schemes() map[string]scheme {
	return map[string]scheme{"linux": native, "darwin": darwinScheme}
}
