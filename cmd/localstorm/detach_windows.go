package main

import "syscall"

// sessionAttr: `up` does not run on native Windows (see supervising).
func sessionAttr() *syscall.SysProcAttr { return nil }
