//go:build unix && !linux

package pgtest

import "syscall"

// procAttr starts postgres as the leader of its own process group, so
// that Kill reaches its backends too. Without Linux's parent-death
// signal, a server whose test binary was killed lives on until the next
// test binary's sweep removes its folder, which it notices within a
// minute.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
